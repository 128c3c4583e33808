package main

import (
	"fmt"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sigoco/sigoco/pyon"
)

// Results are shown the way Python's repr shows them, so what rpctool
// prints can be pasted back as an argument. A value that does not fit in
// the width is laid out one item per line, still as a valid literal.

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

// repr returns v on one line without colour.
func repr(v any) string {
	var sb strings.Builder
	printer{}.flat(&sb, printer{}.build(v, 0))
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
	case nil:
		return pr.atom("None", ansiConst)
	case bool:
		if v {
			return pr.atom("True", ansiConst)
		}
		return pr.atom("False", ansiConst)
	case int64:
		return pr.atom(strconv.FormatInt(v, 10), ansiNumber)
	case *big.Int:
		if v == nil {
			return pr.atom("None", ansiConst)
		}
		return pr.atom(v.String(), ansiNumber)
	case float64:
		return pr.atom(pyFloat(v), ansiNumber)
	case float32:
		return pr.atom(pyFloat(float64(v)), ansiNumber)
	case complex128:
		return pr.atom(pyComplex(v), ansiNumber)
	case complex64:
		return pr.atom(pyComplex(complex128(v)), ansiNumber)
	case string:
		return pr.atom(pyStr(v), ansiString)
	case []byte:
		return pr.atom(pyBytes(v), ansiString)
	case []any:
		return seqNode("[", "]", pr.buildAll(v, d))
	case pyon.Tuple:
		n := seqNode("(", ")", pr.buildAll(v, d))
		n.oneTuple = len(v) == 1
		return n
	case pyon.Set:
		items := pr.buildAll(v.Items, d)
		switch {
		case v.Frozen && len(items) == 0:
			return pr.atom("frozenset()", "")
		case v.Frozen:
			return seqNode("frozenset({", "})", items)
		case len(items) == 0:
			return pr.atom("set()", "")
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
			return pr.atom("OrderedDict()", "")
		}
		return seqNode("OrderedDict({", "})", pr.entries(v, d))
	case pyon.Fraction:
		return pr.atom(fmt.Sprintf("Fraction(%s, %s)", v.Num(), v.Denom()), ansiNumber)
	case *pyon.Fraction:
		if v == nil {
			return pr.atom("None", ansiConst)
		}
		return pr.build(*v, depth)
	case pyon.Slice:
		return seqNode("slice(", ")", pr.buildAll([]any{v.Start, v.Stop, v.Step}, d))
	case pyon.NDArray:
		return pr.ndarray(v, d)
	case pyon.NPScalar:
		val, name, err := decodeNPScalar(v)
		if err != nil {
			return pr.atom(fmt.Sprintf("np.generic(dtype=%s, data=%s)", pyStr(v.DType), pyBytes(v.Data)), "")
		}
		return seqNode("np."+name+"(", ")", []node{pr.build(val, d)})
	case error:
		return pr.atom(pyStr(v.Error()), ansiString)
	}
	return pr.reflectBuild(reflect.ValueOf(v), d)
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

func (pr printer) ndarray(a pyon.NDArray, depth int) node {
	val, name, err := decodeNDArray(a)
	if err != nil {
		return pr.atom(fmt.Sprintf("array(shape=%v, dtype=%s, %d bytes)", a.Shape, pyStr(a.DType), len(a.Data)), "")
	}
	items := []node{pr.build(val, depth)}
	if name != "float64" && name != "int64" && name != "bool" {
		items = append(items, pr.atom("dtype="+name, ""))
	}
	return seqNode("array(", ")", items)
}

// reflectBuild shows Go values the rpc layer may hand over that are not
// PYON types: other numeric types, typed slices and maps, structs.
func (pr printer) reflectBuild(rv reflect.Value, depth int) node {
	switch rv.Kind() {
	case reflect.Invalid:
		return pr.atom("None", ansiConst)
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return pr.atom("None", ansiConst)
		}
		return pr.build(rv.Elem().Interface(), depth)
	case reflect.Bool:
		return pr.build(rv.Bool(), depth)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return pr.atom(strconv.FormatInt(rv.Int(), 10), ansiNumber)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return pr.atom(strconv.FormatUint(rv.Uint(), 10), ansiNumber)
	case reflect.Float32, reflect.Float64:
		return pr.atom(pyFloat(rv.Float()), ansiNumber)
	case reflect.Complex64, reflect.Complex128:
		return pr.atom(pyComplex(rv.Complex()), ansiNumber)
	case reflect.String:
		return pr.atom(pyStr(rv.String()), ansiString)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return pr.atom("None", ansiConst)
		}
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, rv.Len())
			reflect.Copy(reflect.ValueOf(b), rv)
			return pr.atom(pyBytes(b), ansiString)
		}
		items := make([]node, rv.Len())
		for i := range items {
			items[i] = pr.build(rv.Index(i).Interface(), depth)
		}
		return seqNode("[", "]", items)
	case reflect.Map:
		if rv.IsNil() {
			return pr.atom("None", ansiConst)
		}
		type kv struct {
			k, v any
			s    string
		}
		var all []kv
		for it := rv.MapRange(); it.Next(); {
			all = append(all, kv{it.Key().Interface(), it.Value().Interface(), repr(it.Key().Interface())})
		}
		sort.Slice(all, func(i, j int) bool { return all[i].s < all[j].s })
		items := make([]node, len(all))
		for i, e := range all {
			items[i] = pr.entry(e.k, e.v, depth)
		}
		return seqNode("{", "}", items)
	case reflect.Struct:
		t := rv.Type()
		var items []node
		for i := 0; i < t.NumField(); i++ {
			if !t.Field(i).IsExported() {
				continue
			}
			n := pr.build(rv.Field(i).Interface(), depth)
			n.text = t.Field(i).Name + "=" + n.text
			n.plainLen += len(t.Field(i).Name) + 1
			if n.seq {
				n.open = t.Field(i).Name + "=" + n.open
			}
			items = append(items, n)
		}
		return seqNode(t.Name()+"(", ")", items)
	}
	return pr.atom(fmt.Sprintf("<%v>", rv.Interface()), "")
}

// pyFloat formats f as Python's repr does: shortest round-trip digits,
// fixed notation for exponents -4..15, always a '.' or an exponent.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, expStr, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expStr)
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	digits := strings.Replace(mant, ".", "", 1)
	sign := ""
	if neg {
		sign = "-"
	}
	if exp < -4 || exp >= 16 {
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		es := "+"
		if exp < 0 {
			es = "-"
			exp = -exp
		}
		return fmt.Sprintf("%s%se%s%02d", sign, m, es, exp)
	}
	if exp < 0 {
		return sign + "0." + strings.Repeat("0", -exp-1) + digits
	}
	if len(digits) <= exp+1 {
		return sign + digits + strings.Repeat("0", exp+1-len(digits)) + ".0"
	}
	return sign + digits[:exp+1] + "." + digits[exp+1:]
}

// pyComplex formats c as Python's repr: "2j", "(1+2j)", "(-0-1j)".
func pyComplex(c complex128) string {
	part := func(f float64) string { return strings.TrimSuffix(pyFloat(f), ".0") }
	re, im := real(c), imag(c)
	if re == 0 && !math.Signbit(re) {
		return part(im) + "j"
	}
	sign := "+"
	if math.Signbit(im) && !math.IsNaN(im) {
		sign = "-"
		im = -im
	}
	return "(" + part(re) + sign + part(im) + "j)"
}

func pickQuote(s string) byte {
	if strings.Contains(s, "'") && !strings.Contains(s, "\"") {
		return '"'
	}
	return '\''
}

// pyStr formats s as Python's repr of a str.
func pyStr(s string) string {
	q := pickQuote(s)
	var sb strings.Builder
	sb.WriteByte(q)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&sb, "\\x%02x", s[i-1]) // invalid UTF-8 from a Go server
		case r == rune(q) || r == '\\':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		case r == '\n':
			sb.WriteString("\\n")
		case r == '\r':
			sb.WriteString("\\r")
		case r == '\t':
			sb.WriteString("\\t")
		case r == ' ' || (r < utf8.RuneSelf && r > ' ' && r != 0x7f):
			sb.WriteRune(r)
		case unicode.IsPrint(r):
			sb.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&sb, "\\x%02x", r)
		case r <= 0xffff:
			fmt.Fprintf(&sb, "\\u%04x", r)
		default:
			fmt.Fprintf(&sb, "\\U%08x", r)
		}
	}
	sb.WriteByte(q)
	return sb.String()
}

// pyBytes formats b as Python's repr of bytes.
func pyBytes(b []byte) string {
	q := pickQuote(string(b))
	var sb strings.Builder
	sb.WriteString("b")
	sb.WriteByte(q)
	for _, c := range b {
		switch {
		case c == q || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c == '\n':
			sb.WriteString("\\n")
		case c == '\r':
			sb.WriteString("\\r")
		case c == '\t':
			sb.WriteString("\\t")
		case c >= ' ' && c < 0x7f:
			sb.WriteByte(c)
		default:
			fmt.Fprintf(&sb, "\\x%02x", c)
		}
	}
	sb.WriteByte(q)
	return sb.String()
}
