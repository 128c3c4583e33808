package pyon

import (
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Repr returns v as Python's repr shows it, so it can be pasted back into
// Python (or rpctool) as a literal: None, True, 1.0, inf, nan, (1+2j),
// 'it\'s' / "it's", b'\x00\xff', (1,), set(), frozenset({1}), {1: 'a'},
// OrderedDict({'a': 1}), Fraction(1, 3), slice(1, None, 2). Numpy values
// as numpy 2 shows them: arrays as numpy's repr (columns aligned, an N-d
// array's rows on lines of their own, at most 75 columns, dtype= unless
// int64, float64, complex128 or bool, more than 1000 elements summarised
// with "..."), scalars as np.int32(7), np.True_,
// np.datetime64('1970-01-01T00:00:00'), np.timedelta64(5,'ms'). Everything
// else is on one line. Other Go values are shown as Python receives them
// (Normalize): typed slices as lists, maps as dicts with sorted keys,
// structs as dicts of their wire keys. Nesting beyond 100 levels is
// shown as "...".
func Repr(v any) string {
	var sb strings.Builder
	repr(&sb, v, 0)
	return sb.String()
}

// maxReprDepth stops runaway recursion on cyclic Go values.
const maxReprDepth = 100

func repr(sb *strings.Builder, v any, depth int) {
	if depth > maxReprDepth {
		sb.WriteString("...")
		return
	}
	d := depth + 1
	switch v := v.(type) {
	case nil:
		sb.WriteString("None")
	case bool:
		if v {
			sb.WriteString("True")
		} else {
			sb.WriteString("False")
		}
	case int64:
		sb.WriteString(strconv.FormatInt(v, 10))
	case uint64:
		sb.WriteString(strconv.FormatUint(v, 10))
	case *big.Int:
		if v == nil {
			sb.WriteString("None")
			return
		}
		sb.WriteString(v.String())
	case float64:
		sb.WriteString(PyFloat(v))
	case float32:
		sb.WriteString(PyFloat(float64(v)))
	case complex128:
		sb.WriteString(PyComplex(v))
	case complex64:
		sb.WriteString(PyComplex(complex128(v)))
	case string:
		sb.WriteString(PyStr(v))
	case []byte:
		sb.WriteString(PyBytes(v))
	case []any:
		reprSeq(sb, "[", "]", v, d)
	case Tuple:
		if len(v) == 1 {
			sb.WriteByte('(')
			repr(sb, v[0], d)
			sb.WriteString(",)")
			return
		}
		reprSeq(sb, "(", ")", v, d)
	case Set:
		switch {
		case v.Frozen && len(v.Items) == 0:
			sb.WriteString("frozenset()")
		case v.Frozen:
			reprSeq(sb, "frozenset({", "})", v.Items, d)
		case len(v.Items) == 0:
			sb.WriteString("set()")
		default:
			reprSeq(sb, "{", "}", v.Items, d)
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		items := make([]Item, len(keys))
		for i, k := range keys {
			items[i] = Item{k, v[k]}
		}
		reprItems(sb, "{", "}", items, d)
	case Dict:
		reprItems(sb, "{", "}", v, d)
	case OrderedDict:
		if len(v) == 0 {
			sb.WriteString("OrderedDict()")
			return
		}
		reprItems(sb, "OrderedDict({", "})", v, d)
	case Fraction:
		fmt.Fprintf(sb, "Fraction(%s, %s)", v.Num(), v.Denom())
	case *Fraction:
		if v == nil {
			sb.WriteString("None")
			return
		}
		repr(sb, *v, depth)
	case *big.Rat:
		if v == nil {
			sb.WriteString("None")
			return
		}
		fmt.Fprintf(sb, "Fraction(%s, %s)", v.Num(), v.Denom())
	case Slice:
		reprSeq(sb, "slice(", ")", []any{v.Start, v.Stop, v.Step}, d)
	case NDArray:
		reprNDArray(sb, v, d)
	case NPScalar:
		if t, ok := reprNPTime(v); ok {
			sb.WriteString(t)
			return
		}
		val, err := v.Value()
		if b, ok := val.(bool); ok && err == nil {
			sb.WriteString(map[bool]string{true: "np.True_", false: "np.False_"}[b])
			return
		}
		if err != nil {
			fmt.Fprintf(sb, "np.generic(dtype=%s, data=%s)", PyStr(v.DType), PyBytes(v.Data))
			return
		}
		sb.WriteString("np." + NumpyName(v.DType) + "(")
		repr(sb, val, d)
		sb.WriteByte(')')
	case error:
		sb.WriteString(PyStr(v.Error()))
	default:
		reprOther(sb, v, d)
	}
}

func reprSeq(sb *strings.Builder, open, close string, l []any, depth int) {
	sb.WriteString(open)
	for i, e := range l {
		if i > 0 {
			sb.WriteString(", ")
		}
		repr(sb, e, depth)
	}
	sb.WriteString(close)
}

func reprItems(sb *strings.Builder, open, close string, items []Item, depth int) {
	sb.WriteString(open)
	for i, it := range items {
		if i > 0 {
			sb.WriteString(", ")
		}
		repr(sb, it.Key, depth)
		sb.WriteString(": ")
		repr(sb, it.Value, depth)
	}
	sb.WriteString(close)
}

func reprNDArray(sb *strings.Builder, a NDArray, depth int) {
	if s, ok := reprNDArrayNumpy(a); ok {
		sb.WriteString(s)
		return
	}
	l, err := a.ToList()
	if err != nil {
		fmt.Fprintf(sb, "array(shape=%v, dtype=%s, %d bytes)", a.Shape, PyStr(a.DType), len(a.Data))
		return
	}
	sb.WriteString("array(")
	repr(sb, l, depth)
	if name := NumpyName(a.DType); name != "float64" && name != "int64" && name != "bool" {
		sb.WriteString(", dtype=" + name)
	}
	sb.WriteByte(')')
}

// reprOther shows a Go value that is not of the value model as Python
// shows what it receives: Normalize's form (a struct as the dict of its
// wire keys, a typed slice as a list); a value Normalize refuses as
// <%v>.
func reprOther(sb *strings.Builder, v any, depth int) {
	n, err := Normalize(v)
	if err != nil {
		fmt.Fprintf(sb, "<%v>", v)
		return
	}
	repr(sb, n, depth)
}

// NumpyName returns numpy's type name for a dtype string such as "<f8"
// ("float64"), or the dtype string itself when it is not a plain number.
func NumpyName(dt string) string {
	if len(dt) < 3 {
		return dt
	}
	size, err := strconv.Atoi(dt[2:])
	if err != nil {
		return dt
	}
	bits := strconv.Itoa(size * 8)
	switch dt[1] {
	case 'b':
		return "bool"
	case 'i':
		return "int" + bits
	case 'u':
		return "uint" + bits
	case 'f':
		return "float" + bits
	case 'c':
		return "complex" + bits
	case 'U':
		return "str_"
	case 'S':
		return "bytes_"
	}
	return dt
}

// PyFloat formats f as Python's repr does: shortest round-trip digits,
// fixed notation for exponents -4..15, always a '.' or an exponent; inf,
// -inf, nan.
func PyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return string(appendPyFloat(nil, f, 64))
}

// PyComplex formats c as Python's repr: "2j", "(1+2j)", "(-0-1j)".
func PyComplex(c complex128) string {
	part := func(f float64) string { return strings.TrimSuffix(PyFloat(f), ".0") }
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

// PyStr formats s as Python's repr of a str (invalid UTF-8 bytes as \xNN).
func PyStr(s string) string {
	q := pickQuote(s)
	var sb strings.Builder
	sb.WriteByte(q)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&sb, "\\x%02x", s[i-1])
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

// PyBytes formats b as Python's repr of bytes.
func PyBytes(b []byte) string {
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
