package main

import (
	"math"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/sigoco/sigoco/pyon"
)

// --output sipyco (--sipyco-format): results exactly as sipyco_rpctool
// prints them, which is Python's pprint.pprint (80 columns, dicts sorted
// by key, sets sorted when they do not fit on a line, long strings and
// bytes cut into adjacent literals in parentheses). This is pprint's
// layout only: every value it does not take apart is written by
// pyon.Repr, Python's repr, so numpy arrays, numbers and strings look
// the same in both formats. The functions follow CPython 3.11's
// pprint.PrettyPrinter (_format, _safe_repr, _pprint_dict, _pprint_list,
// _pprint_tuple, _pprint_set, _pprint_str, _pprint_bytes, _format_items,
// _format_dict_items).

const pprintWidth = 80

// pformat returns pprint.pformat(v).
func pformat(v any) string {
	var sb strings.Builder
	pp := pprinter{sb: &sb, width: pprintWidth}
	pp.format(v, 0, 0, 0)
	return sb.String()
}

type pprinter struct {
	sb    *strings.Builder
	width int
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// format is _format: the one-line repr when it fits in the width left,
// else the value taken apart.
func (pp pprinter) format(v any, indent, allowance, level int) {
	rep := safeRepr(v, 0)
	if runeLen(rep) > pp.width-indent-allowance {
		if pp.dispatch(v, indent, allowance, level+1) {
			return
		}
	}
	pp.sb.WriteString(rep)
}

// dispatch takes v apart as pprint's _dispatch table does; false for the
// types pprint writes with repr whatever their length.
func (pp pprinter) dispatch(v any, indent, allowance, level int) bool {
	switch x := v.(type) {
	case map[string]any, pyon.Dict:
		items := sortedItems(v)
		pp.sb.WriteString("{")
		if len(items) > 0 {
			pp.dictItems(items, indent, allowance+1, level)
		}
		pp.sb.WriteString("}")
	case []any:
		pp.sb.WriteString("[")
		pp.items(x, indent, allowance+1, level)
		pp.sb.WriteString("]")
	case pyon.Tuple:
		end := ")"
		if len(x) == 1 {
			end = ",)"
		}
		pp.sb.WriteString("(")
		pp.items(x, indent, allowance+len(end), level)
		pp.sb.WriteString(end)
	case pyon.Set:
		if len(x.Items) == 0 {
			pp.sb.WriteString(pyon.Repr(x))
			return true
		}
		end := "}"
		if x.Frozen {
			pp.sb.WriteString("frozenset({")
			end = "})"
			indent += len("frozenset")
		} else {
			pp.sb.WriteString("{")
		}
		items := slices.Clone(x.Items)
		slices.SortStableFunc(items, pyCompare)
		pp.items(items, indent, allowance+len(end), level)
		pp.sb.WriteString(end)
	case pyon.OrderedDict:
		if len(x) == 0 {
			pp.sb.WriteString(pyon.Repr(x))
			return true
		}
		pairs := make([]any, len(x))
		for i, it := range x {
			pairs[i] = pyon.Tuple{it.Key, it.Value}
		}
		pp.sb.WriteString("OrderedDict(")
		pp.format(pairs, indent+len("OrderedDict("), allowance+1, level)
		pp.sb.WriteString(")")
	case string:
		pp.str(x, indent, allowance, level)
	case []byte:
		pp.bytes(x, indent, allowance, level)
	default:
		return false
	}
	return true
}

// items is _format_items.
func (pp pprinter) items(items []any, indent, allowance, level int) {
	indent++
	for i, it := range items {
		if i > 0 {
			pp.sb.WriteString(",\n" + strings.Repeat(" ", indent))
		}
		a := 1
		if i == len(items)-1 {
			a = allowance
		}
		pp.format(it, indent, a, level)
	}
}

// dictItems is _format_dict_items.
func (pp pprinter) dictItems(items []pyon.Item, indent, allowance, level int) {
	indent++
	for i, it := range items {
		if i > 0 {
			pp.sb.WriteString(",\n" + strings.Repeat(" ", indent))
		}
		rep := safeRepr(it.Key, 0)
		pp.sb.WriteString(rep + ": ")
		a := 1
		if i == len(items)-1 {
			a = allowance
		}
		pp.format(it.Value, indent+runeLen(rep)+2, a, level)
	}
}

var wordRE = regexp.MustCompile(`\S*\s*`)

// str is _pprint_str: a long string as adjacent literals, cut after
// whitespace, in parentheses at the top level.
func (pp pprinter) str(s string, indent, allowance, level int) {
	if s == "" {
		pp.sb.WriteString(pyon.Repr(s))
		return
	}
	var chunks []string
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if level == 1 {
		indent++
		allowance++
	}
	maxWidth1, maxWidth := pp.width-indent, pp.width-indent
	var rep string
	for i, line := range lines {
		rep = pyon.Repr(line)
		if i == len(lines)-1 {
			maxWidth1 -= allowance
		}
		if runeLen(rep) <= maxWidth1 {
			chunks = append(chunks, rep)
			continue
		}
		parts := wordRE.FindAllString(line, -1)
		if len(parts) > 0 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		maxWidth2 := maxWidth
		current := ""
		for j, part := range parts {
			candidate := current + part
			if j == len(parts)-1 && i == len(lines)-1 {
				maxWidth2 -= allowance
			}
			if runeLen(pyon.Repr(candidate)) > maxWidth2 {
				if current != "" {
					chunks = append(chunks, pyon.Repr(current))
				}
				current = part
			} else {
				current = candidate
			}
		}
		if current != "" {
			chunks = append(chunks, pyon.Repr(current))
		}
	}
	if len(chunks) == 1 {
		pp.sb.WriteString(rep)
		return
	}
	if level == 1 {
		pp.sb.WriteString("(")
	}
	for i, c := range chunks {
		if i > 0 {
			pp.sb.WriteString("\n" + strings.Repeat(" ", indent))
		}
		pp.sb.WriteString(c)
	}
	if level == 1 {
		pp.sb.WriteString(")")
	}
}

// bytes is _pprint_bytes: long bytes as adjacent literals of whole
// 4-byte groups.
func (pp pprinter) bytes(b []byte, indent, allowance, level int) {
	if len(b) <= 4 {
		pp.sb.WriteString(pyon.Repr(b))
		return
	}
	parens := level == 1
	if parens {
		indent++
		allowance++
		pp.sb.WriteString("(")
	}
	width := pp.width - indent
	var current []byte
	var reps []string
	last := len(b) / 4 * 4
	for i := 0; i < len(b); i += 4 {
		part := b[i:min(i+4, len(b))]
		candidate := append(slices.Clip(current), part...)
		if i == last {
			width -= allowance
		}
		if runeLen(pyon.Repr(candidate)) > width {
			if len(current) > 0 {
				reps = append(reps, pyon.Repr(current))
			}
			current = part
		} else {
			current = candidate
		}
	}
	if len(current) > 0 {
		reps = append(reps, pyon.Repr(current))
	}
	pp.sb.WriteString(strings.Join(reps, "\n"+strings.Repeat(" ", indent)))
	if parens {
		pp.sb.WriteString(")")
	}
}

// safeRepr is _safe_repr: repr, except that dicts have their items sorted
// (and lists, tuples and dicts are walked to sort the dicts inside).
func safeRepr(v any, depth int) string {
	if depth > 100 {
		return "..."
	}
	join := func(items []any) string {
		s := make([]string, len(items))
		for i, it := range items {
			s[i] = safeRepr(it, depth+1)
		}
		return strings.Join(s, ", ")
	}
	switch x := v.(type) {
	case map[string]any, pyon.Dict:
		items := sortedItems(v)
		s := make([]string, len(items))
		for i, it := range items {
			s[i] = safeRepr(it.Key, depth+1) + ": " + safeRepr(it.Value, depth+1)
		}
		return "{" + strings.Join(s, ", ") + "}"
	case []any:
		return "[" + join(x) + "]"
	case pyon.Tuple:
		if len(x) == 1 {
			return "(" + safeRepr(x[0], depth+1) + ",)"
		}
		return "(" + join(x) + ")"
	}
	return pyon.Repr(v)
}

// sortedItems is a dict's items sorted as pprint sorts them (by key, the
// value breaking ties: _safe_tuple).
func sortedItems(v any) []pyon.Item {
	var items []pyon.Item
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			items = append(items, pyon.Item{Key: k, Value: e})
		}
	case pyon.Dict:
		items = slices.Clone(x)
	}
	slices.SortStableFunc(items, func(a, b pyon.Item) int {
		if c := pyCompare(a.Key, b.Key); c != 0 {
			return c
		}
		return pyCompare(a.Value, b.Value)
	})
	return items
}

// pyCompare orders two values as pprint's _safe_key does: by Python's <
// where Python defines it (numbers with numbers, str with str, bytes with
// bytes, tuples and lists element by element), else by the name of their
// types, as str(type(x)) spells it.
func pyCompare(a, b any) int {
	if c, ok := pyLess(a, b); ok {
		return c
	}
	return strings.Compare(pyTypeName(a), pyTypeName(b))
}

// pyLess compares a and b where Python can; ok is false where Python
// raises TypeError.
func pyLess(a, b any) (int, bool) {
	if isNaN(a) || isNaN(b) {
		_, an := pyNumber(a)
		_, bn := pyNumber(b)
		return 0, (an || isNaN(a)) && (bn || isNaN(b)) // NaN is neither < nor > any number
	}
	if x, ok := pyNumber(a); ok {
		if y, ok := pyNumber(b); ok {
			return x.Cmp(y), true
		}
		return 0, false
	}
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y), true
		}
	case []byte:
		if y, ok := b.([]byte); ok {
			return strings.Compare(string(x), string(y)), true
		}
	case pyon.Tuple:
		if y, ok := b.(pyon.Tuple); ok {
			return pySeqCompare(x, y)
		}
	case []any:
		if y, ok := b.([]any); ok {
			return pySeqCompare(x, y)
		}
	}
	return 0, false
}

func pySeqCompare(a, b []any) (int, bool) {
	for i := 0; i < len(a) && i < len(b); i++ {
		c, ok := pyLess(a[i], b[i])
		if !ok {
			return 0, false
		}
		if c != 0 {
			return c, true
		}
	}
	switch {
	case len(a) < len(b):
		return -1, true
	case len(a) > len(b):
		return 1, true
	}
	return 0, true
}

// pyNumber gives a real number (bool, int, float, Fraction) as a big
// float; NaN and complex numbers are not ordered.
func pyNumber(v any) (*big.Float, bool) {
	f := new(big.Float).SetPrec(2048)
	switch x := v.(type) {
	case bool:
		if x {
			return f.SetInt64(1), true
		}
		return f.SetInt64(0), true
	case int64:
		return f.SetInt64(x), true
	case uint64:
		return f.SetUint64(x), true
	case *big.Int:
		return f.SetInt(x), true
	case float64:
		if math.IsNaN(x) {
			return nil, false
		}
		return f.SetFloat64(x), true
	case *pyon.Fraction:
		return f.SetRat(&x.Rat), true
	case pyon.NPScalar:
		if val, err := x.Value(); err == nil {
			if _, isComplex := val.(complex128); !isComplex {
				return pyNumber(val)
			}
		}
	}
	return nil, false
}

func isNaN(v any) bool {
	f, ok := v.(float64)
	return ok && math.IsNaN(f)
}

// pyTypeName is str(type(v)) for the values PYON decodes to.
func pyTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "<class 'NoneType'>"
	case bool:
		return "<class 'bool'>"
	case int64, uint64, *big.Int:
		return "<class 'int'>"
	case float64:
		return "<class 'float'>"
	case complex128:
		return "<class 'complex'>"
	case string:
		return "<class 'str'>"
	case []byte:
		return "<class 'bytes'>"
	case pyon.Tuple:
		return "<class 'tuple'>"
	case []any:
		return "<class 'list'>"
	case pyon.Set:
		return "<class 'set'>"
	case map[string]any, pyon.Dict:
		return "<class 'dict'>"
	case *pyon.Fraction:
		return "<class 'fractions.Fraction'>"
	case pyon.Slice:
		return "<class 'slice'>"
	case pyon.NDArray:
		return "<class 'numpy.ndarray'>"
	case pyon.NPScalar:
		return "<class 'numpy." + pyon.NumpyName(v.(pyon.NPScalar).DType) + "'>"
	}
	return "<class 'object'>"
}
