package main

import (
	"math/big"
	"reflect"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/sigoco/sigoco/pyon"
)

// Results are shown the way Python's repr shows them, so what rpctool
// prints can be pasted back as an argument: on one line, exactly
// pyon.Repr; a value that does not fit in the width is laid out one item
// per line, still as a valid literal. This is a layout only: lists,
// tuples, sets and dicts are taken apart, and everything else (numbers,
// strings, numpy arrays and scalars, fractions, slices) is written by
// pyon.Repr. --output sipyco lays values out as sipyco_rpctool does
// instead (pprint.go), over the same pyon.Repr.

// printer formats values; the zero value prints without colour in 80
// columns.
type printer struct {
	colour bool
	width  int // 0: 80
}

// node is a value ready for layout: an atom, or a sequence of items
// between open and close.
type node struct {
	text     string // atom text (coloured when colour is on)
	plainLen int    // visible length of text
	open     string
	close    string
	items    []node
	seq      bool
	oneTuple bool  // a 1-tuple needs its trailing comma even when flat
	key      *node // set for a dict entry: key ": " value (value is the rest)
}

// format returns the text of v, possibly on several lines, without a
// trailing newline.
func (pr printer) format(v any) string {
	w := pr.width
	if w <= 0 {
		w = 80
	}
	var sb strings.Builder
	pr.layout(&sb, pr.build(v, 0), 0, w)
	return sb.String()
}

func (n node) flatLen() int {
	if n.key != nil {
		return n.key.flatLen() + 2 + n.valueOnly().flatLen()
	}
	if !n.seq {
		return n.plainLen
	}
	l := len(n.open) + len(n.close)
	for i, it := range n.items {
		if i > 0 {
			l += 2
		}
		l += it.flatLen()
	}
	if n.oneTuple {
		l++
	}
	return l
}

func (n node) valueOnly() node {
	v := n
	v.key = nil
	return v
}

func (pr printer) flat(sb *strings.Builder, n node) {
	if n.key != nil {
		pr.flat(sb, *n.key)
		sb.WriteString(": ")
		n = n.valueOnly()
	}
	if !n.seq {
		sb.WriteString(n.text)
		return
	}
	sb.WriteString(n.open)
	for i, it := range n.items {
		if i > 0 {
			sb.WriteString(", ")
		}
		pr.flat(sb, it)
	}
	if n.oneTuple {
		sb.WriteString(",")
	}
	sb.WriteString(n.close)
}

// layout writes n starting at column indent (already written).
func (pr printer) layout(sb *strings.Builder, n node, indent, width int) {
	if indent+n.flatLen() <= width || (!n.seq && n.key == nil) || (n.seq && len(n.items) == 0) {
		pr.flat(sb, n)
		return
	}
	if n.key != nil {
		pr.flat(sb, *n.key)
		sb.WriteString(": ")
		pr.layout(sb, n.valueOnly(), indent, width)
		return
	}
	pad := strings.Repeat(" ", indent+2)
	sb.WriteString(n.open)
	sb.WriteString("\n")
	for _, it := range n.items {
		sb.WriteString(pad)
		pr.layout(sb, it, indent+2, width)
		sb.WriteString(",\n")
	}
	sb.WriteString(strings.Repeat(" ", indent))
	sb.WriteString(n.close)
}

const (
	ansiString = "32" // green
	ansiNumber = "36" // cyan
	ansiConst  = "35" // magenta
)

func (pr printer) atom(s, ansi string) node {
	n := node{text: s, plainLen: utf8.RuneCountInString(s)}
	if pr.colour && ansi != "" {
		n.text = "\x1b[" + ansi + "m" + s + "\x1b[0m"
	}
	return n
}

func seqNode(open, close string, items []node) node {
	return node{seq: true, open: open, close: close, items: items}
}

// maxFormatDepth stops runaway recursion on cyclic Go values.
const maxFormatDepth = 100

func (pr printer) build(v any, depth int) node {
	if depth > maxFormatDepth {
		return pr.atom("...", "")
	}
	d := depth + 1
	switch v := v.(type) {
	case nil, bool:
		return pr.atom(pyon.Repr(v), ansiConst)
	case int64, uint64, *big.Int, float64, float32, complex128, complex64, pyon.Fraction, *pyon.Fraction, *big.Rat:
		return pr.atom(pyon.Repr(v), ansiNumber)
	case string, []byte, error:
		return pr.atom(pyon.Repr(v), ansiString)
	case pyon.Slice, pyon.NDArray, pyon.NPScalar:
		return pr.atom(pyon.Repr(v), "")
	case []any:
		return seqNode("[", "]", pr.buildAll(v, d))
	case pyon.Tuple:
		n := seqNode("(", ")", pr.buildAll(v, d))
		n.oneTuple = len(v) == 1
		return n
	case pyon.Set:
		if len(v.Items) == 0 {
			return pr.atom(pyon.Repr(v), "")
		}
		items := pr.buildAll(v.Items, d)
		if v.Frozen {
			return seqNode("frozenset({", "})", items)
		}
		return seqNode("{", "}", items)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		items := make([]node, len(keys))
		for i, k := range keys {
			items[i] = pr.entry(k, v[k], d)
		}
		return seqNode("{", "}", items)
	case pyon.Dict:
		return seqNode("{", "}", pr.entries(v, d))
	case pyon.OrderedDict:
		if len(v) == 0 {
			return pr.atom(pyon.Repr(v), "")
		}
		return seqNode("OrderedDict({", "})", pr.entries(v, d))
	}
	return pr.otherBuild(v, depth)
}

func (pr printer) buildAll(vs []any, depth int) []node {
	items := make([]node, len(vs))
	for i, it := range vs {
		items[i] = pr.build(it, depth)
	}
	return items
}

func (pr printer) entry(k, v any, depth int) node {
	key := pr.build(k, depth)
	n := pr.build(v, depth)
	n.key = &key
	return n
}

func (pr printer) entries(items []pyon.Item, depth int) []node {
	out := make([]node, len(items))
	for i, it := range items {
		out[i] = pr.entry(it.Key, it.Value, depth)
	}
	return out
}

// otherBuild shows Go values the rpc layer may hand over that are not
// PYON types (other numeric types, typed slices and maps, structs) as
// pyon.Repr does: in pyon.Normalize's form, the value Python receives.
func (pr printer) otherBuild(v any, depth int) node {
	n, err := pyon.Normalize(v)
	if err != nil || reflect.TypeOf(n) == reflect.TypeOf(v) {
		return pr.atom(pyon.Repr(v), "") // not a Go value Normalize converts
	}
	return pr.build(n, depth)
}
