package pyon

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// numpy's repr of arrays (numpy.array_repr with its default print
// options: 75 columns, precision 8, "maxprec" float mode, arrays over 1000
// elements summarised with 3 edge items), which Repr follows so that what
// sigoco shows is what a Python user sees: elements aligned in columns,
// rows of an N-d array on their own lines, the dtype after the data when
// it is not int64, float64, complex128 or bool (and for an empty array).

const (
	npLineWidth = 75
	npPrecision = 8
	npThreshold = 1000
	npEdgeItems = 3
)

// reprNDArrayNumpy writes numpy's repr of a, or false when a is not
// valid (or its elements are long doubles, which Go cannot read).
func reprNDArrayNumpy(a NDArray) (string, bool) {
	if a.wellFormed() != nil {
		return "", false
	}
	d, _ := parseDType(a.DType)
	if d.kind == 'f' && d.size > 8 || d.kind == 'c' && d.size > 16 || d.kind == 'M' || d.kind == 'm' {
		return "", false
	}
	n := a.Len()
	// numpy leaves out the dtype of its default types, whatever the byte
	// order (array([0.5, 2. ]) for >f8 too).
	typeless := n > 0 && (a.DType[1:] == "i8" || a.DType[1:] == "f8" || a.DType[1:] == "c16" || a.DType[1:] == "b1")
	const prefix = "array("
	suffix := ")"
	if !typeless {
		suffix = ","
	}
	var body string
	switch {
	case n > 0:
		body = npArray2String(a, d, n, prefix, suffix)
	case len(a.Shape) == 1:
		body = "[]"
	default:
		body = "[], shape=" + Repr(shapeTuple(a.Shape))
	}
	s := prefix + body + suffix
	if typeless {
		return s, true
	}
	dt := "dtype=" + npDTypeName(a.DType, d) + ")"
	last := len(s) - (strings.LastIndexByte(s, '\n') + 1)
	spacer := " "
	if last+len(dt)+1 > npLineWidth {
		spacer = "\n" + strings.Repeat(" ", len(prefix))
	}
	return s + spacer + dt, true
}

func shapeTuple(shape []int) Tuple {
	t := make(Tuple, len(shape))
	for i, s := range shape {
		t[i] = int64(s)
	}
	return t
}

// npDTypeName is numpy's dtype_short_repr: the type name for numbers,
// the quoted dtype string for strings, bytes and void.
func npDTypeName(s string, d dtype) string {
	switch d.kind {
	case 'U', 'S', 'V':
		return "'" + s + "'"
	}
	return NumpyName(s)
}

// npArray2String is numpy's array2string body: "[...]" with rows and
// wrapping, continuation lines indented under the first element.
func npArray2String(a NDArray, d dtype, n int, prefix, suffix string) string {
	summary := n > npThreshold
	// The elements shown (all, or the edges of each axis), in C order.
	shown := npShownIndices(a.Shape, summary)
	elems := make([]any, len(shown))
	for i, idx := range shown {
		elems[i] = npElem(a, d, idx)
	}
	format := npFormatter(d, elems, len(a.Shape) == 0)
	width := npLineWidth - len(suffix)
	hanging := strings.Repeat(" ", len(prefix)+1)
	var recurse func(index []int, hanging string, width int) string
	recurse = func(index []int, hanging string, width int) string {
		axis := len(index)
		left := len(a.Shape) - axis
		if left == 0 {
			return format(npElem(a, d, index))
		}
		nextHanging, nextWidth := hanging+" ", width-1
		size := a.Shape[axis]
		showSummary := summary && 2*npEdgeItems < size
		lead, trail := 0, size
		if showSummary {
			lead, trail = npEdgeItems, npEdgeItems
		}
		sub := func(i int) []int { return append(append([]int(nil), index...), i) }
		var s string
		if left == 1 {
			elemWidth := width - max(len(","), len("]"))
			line := hanging
			for i := 0; i < lead; i++ {
				s, line = npExtendLine(s, line, recurse(sub(i), nextHanging, nextWidth), elemWidth, hanging)
				line += ", "
			}
			if showSummary {
				s, line = npExtendLine(s, line, "...", elemWidth, hanging)
				line += ", "
			}
			for i := trail; i > 1; i-- {
				s, line = npExtendLine(s, line, recurse(sub(size-i), nextHanging, nextWidth), elemWidth, hanging)
				line += ", "
			}
			s, line = npExtendLine(s, line, recurse(sub(size-1), nextHanging, nextWidth), elemWidth, hanging)
			s += line
		} else {
			sep := "," + strings.Repeat("\n", left-1)
			for i := 0; i < lead; i++ {
				s += hanging + recurse(sub(i), nextHanging, nextWidth) + sep
			}
			if showSummary {
				s += hanging + "..." + sep
			}
			for i := trail; i > 1; i-- {
				s += hanging + recurse(sub(size-i), nextHanging, nextWidth) + sep
			}
			s += hanging + recurse(sub(size-1), nextHanging, nextWidth)
		}
		return "[" + s[len(hanging):] + "]"
	}
	if len(a.Shape) == 0 {
		return format(elems[0])
	}
	return recurse(nil, hanging, width)
}

// npExtendLine is numpy's _extendLine: wrap before word when the line
// would pass width, unless wrapping would not help.
func npExtendLine(s, line, word string, width int, hanging string) (string, string) {
	if utf8.RuneCountInString(line)+utf8.RuneCountInString(word) > width && len(line) > len(hanging) {
		s += strings.TrimRight(line, " ") + "\n"
		line = hanging
	}
	return s, line + word
}

// npShownIndices lists the indices of the elements numpy shows.
func npShownIndices(shape []int, summary bool) [][]int {
	out := [][]int{{}}
	for _, size := range shape {
		var keep []int
		if summary && 2*npEdgeItems < size {
			for i := 0; i < npEdgeItems; i++ {
				keep = append(keep, i)
			}
			for i := size - npEdgeItems; i < size; i++ {
				keep = append(keep, i)
			}
		} else {
			for i := 0; i < size; i++ {
				keep = append(keep, i)
			}
		}
		var next [][]int
		for _, prefix := range out {
			for _, k := range keep {
				next = append(next, append(append([]int(nil), prefix...), k))
			}
		}
		out = next
	}
	return out
}

// npElem reads the element at index: a number (dtype.elem), or a string,
// bytes or void item.
func npElem(a NDArray, d dtype, index []int) any {
	off := 0
	for i, k := range index {
		off = off*a.Shape[i] + k
	}
	b := a.Data[off*d.size : (off+1)*d.size]
	switch d.kind {
	case 'U':
		v, _ := NPScalar{DType: a.DType, Data: b}.Value()
		return v
	case 'S':
		return bytes.TrimRight(b, "\x00")
	case 'V':
		return npVoid(b)
	}
	return d.elem(b)
}

// npVoid is a void item, shown as numpy does: every byte as \xNN.
type npVoid []byte

// npFormatter returns the function that formats each element, fitted to
// the elements shown (numpy's _get_format_function).
func npFormatter(d dtype, elems []any, zeroD bool) func(any) string {
	switch d.kind {
	case 'b':
		return func(v any) string {
			if zeroD {
				return Repr(v)
			}
			if v.(bool) {
				return " True"
			}
			return "False"
		}
	case 'i', 'u':
		w := 0
		for _, e := range elems {
			w = max(w, len(Repr(e)))
		}
		return func(v any) string { return fmt.Sprintf("%*s", w, Repr(v)) }
	case 'f':
		fs := make([]float64, len(elems))
		for i, e := range elems {
			fs[i] = e.(float64)
		}
		f := newNPFloatFormat(fs, d.size, false)
		return func(v any) string { return f.format(v.(float64)) }
	case 'c':
		re, im := make([]float64, len(elems)), make([]float64, len(elems))
		for i, e := range elems {
			c := e.(complex128)
			re[i], im[i] = real(c), imag(c)
		}
		fr, fi := newNPFloatFormat(re, d.size/2, false), newNPFloatFormat(im, d.size/2, true)
		return func(v any) string {
			c := v.(complex128)
			r, i := fr.format(real(c)), fi.format(imag(c))
			sp := len(strings.TrimRight(i, " "))
			return r + i[:sp] + "j" + i[sp:]
		}
	}
	return func(v any) string {
		if b, ok := v.(npVoid); ok {
			var sb strings.Builder
			sb.WriteString("b'")
			for _, c := range b {
				fmt.Fprintf(&sb, "\\x%02X", c)
			}
			sb.WriteString("'")
			return sb.String()
		}
		return Repr(v)
	}
}

// npFloatFormat is numpy's FloatingFormat in "maxprec" mode.
type npFloatFormat struct {
	bits               int  // 16, 32 or 64: the shortest digits are those of this precision
	plus               bool // sign '+': always a sign (the imaginary parts of complex numbers)
	exp                bool
	padLeft, padRight  int
	precision, expSize int
}

func newNPFloatFormat(data []float64, size int, plus bool) *npFloatFormat {
	f := &npFloatFormat{bits: 8 * size, plus: plus}
	var finite []float64
	minV, maxV := math.Inf(1), 0.0
	for _, x := range data {
		if math.IsInf(x, 0) || math.IsNaN(x) {
			continue
		}
		finite = append(finite, x)
		if a := math.Abs(x); a != 0 {
			minV, maxV = min(minV, a), max(maxV, a)
		}
	}
	if maxV > 0 && (maxV >= 1e8 || minV < 0.0001 || maxV/minV > 1000) {
		f.exp = true
	}
	switch {
	case len(finite) == 0:
	case f.exp:
		for _, x := range finite {
			mant, e := f.sci(x, -1)
			ip, fp, _ := strings.Cut(mant, ".")
			f.padLeft = max(f.padLeft, len(ip))
			f.precision = max(f.precision, len(fp))
			f.expSize = max(f.expSize, len(e)-1)
		}
		f.padRight = f.expSize + 2 + f.precision
	default:
		for _, x := range finite {
			ip, fp, _ := strings.Cut(f.pos(x), ".")
			f.padLeft = max(f.padLeft, len(ip))
			f.padRight = max(f.padRight, len(fp))
		}
	}
	if len(finite) != len(data) {
		neg := plus
		for _, x := range data {
			neg = neg || math.IsInf(x, -1)
		}
		inf := 3
		if neg {
			inf++
		}
		f.padLeft = max(f.padLeft, 3-(f.padRight+1), inf-(f.padRight+1))
	}
	return f
}

// digits is the shortest decimal form of x at the format's precision, in
// strconv's fmt ('f' or 'e'), capped at npPrecision fractional digits.
func (f *npFloatFormat) digits(x float64, fmtc byte) string {
	bits := 64
	if f.bits == 32 || f.bits == 16 {
		bits = 32
	}
	s := strconv.FormatFloat(x, fmtc, -1, bits)
	m, e, _ := strings.Cut(s, "e")
	if _, frac, ok := strings.Cut(m, "."); ok && len(frac) > npPrecision {
		s = strconv.FormatFloat(x, fmtc, npPrecision, 64)
		m, e, _ = strings.Cut(s, "e")
		if strings.Contains(m, ".") {
			m = strings.TrimRight(strings.TrimRight(m, "0"), ".")
		}
	}
	if fmtc == 'e' {
		return m + "e" + e
	}
	return m
}

func (f *npFloatFormat) sign(x float64) string {
	if f.plus && !math.Signbit(x) {
		return "+"
	}
	return ""
}

// pos is x positional, trailing zeros trimmed, a '.' always ("1.").
func (f *npFloatFormat) pos(x float64) string {
	s := f.sign(x) + f.digits(x, 'f')
	if !strings.Contains(s, ".") {
		s += "."
	}
	return s
}

// sci is x as mantissa ("1.5", "1.") and exponent ("+10") with prec
// fractional digits (-1: its own).
func (f *npFloatFormat) sci(x float64, prec int) (string, string) {
	m, e, _ := strings.Cut(f.digits(x, 'e'), "e")
	if !strings.Contains(m, ".") {
		m += "."
	}
	if prec >= 0 {
		_, frac, _ := strings.Cut(m, ".")
		m += strings.Repeat("0", max(0, prec-len(frac)))
	}
	return f.sign(x) + m, e
}

func (f *npFloatFormat) format(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		s := "nan"
		switch {
		case math.IsInf(x, -1):
			s = "-inf"
		case math.IsInf(x, 1):
			s = f.sign(x) + "inf"
		case f.plus:
			s = "+nan"
		}
		return fmt.Sprintf("%*s", f.padLeft+f.padRight+1, s)
	}
	if f.exp {
		m, e := f.sci(x, f.precision)
		sign, digits := e[:1], e[1:]
		for len(digits) < f.expSize {
			digits = "0" + digits
		}
		ip, fp, _ := strings.Cut(m, ".")
		return fmt.Sprintf("%*s.%se%s%s", f.padLeft, ip, fp, sign, digits)
	}
	ip, fp, _ := strings.Cut(f.pos(x), ".")
	return fmt.Sprintf("%*s.%-*s", f.padLeft, ip, f.padRight, fp)
}

// reprNPTime writes a datetime64 or timedelta64 scalar as numpy 2 does:
// np.datetime64('1970-01-01T00:00:00'), np.timedelta64(5,'ms'). false for
// other dtypes and units Repr does not know.
func reprNPTime(s NPScalar) (string, bool) {
	d, err := parseDType(s.DType)
	if err != nil || (d.kind != 'M' && d.kind != 'm') || len(s.Data) != 8 {
		return "", false
	}
	unit := strings.Trim(d.unit, "[]")
	v := d.int(s.Data)
	const nat = math.MinInt64
	if d.kind == 'm' {
		if v == nat {
			return "np.timedelta64('NaT','" + unit + "')", true
		}
		if unit == "" {
			return "np.timedelta64(" + strconv.FormatInt(v, 10) + ")", true
		}
		return "np.timedelta64(" + strconv.FormatInt(v, 10) + ",'" + unit + "')", true
	}
	if v == nat {
		return "np.datetime64('NaT')", true
	}
	var t time.Time
	layout := ""
	switch unit {
	case "Y":
		return fmt.Sprintf("np.datetime64('%d')", 1970+v), true
	case "M":
		y, m := 1970+v/12, v%12
		if m < 0 {
			y, m = y-1, m+12
		}
		return fmt.Sprintf("np.datetime64('%d-%02d')", y, m+1), true
	case "W":
		t, layout = time.Unix(v*7*86400, 0).UTC(), "2006-01-02"
	case "D":
		t, layout = time.Unix(v*86400, 0).UTC(), "2006-01-02"
	case "h":
		t, layout = time.Unix(v*3600, 0).UTC(), "2006-01-02T15"
	case "m":
		t, layout = time.Unix(v*60, 0).UTC(), "2006-01-02T15:04"
	case "s":
		t, layout = time.Unix(v, 0).UTC(), "2006-01-02T15:04:05"
	case "ms":
		t, layout = time.UnixMilli(v).UTC(), "2006-01-02T15:04:05.000"
	case "us":
		t, layout = time.UnixMicro(v).UTC(), "2006-01-02T15:04:05.000000"
	case "ns":
		t, layout = time.Unix(0, v).UTC(), "2006-01-02T15:04:05.000000000"
	default:
		return "", false
	}
	return "np.datetime64('" + t.Format(layout) + "')", true
}
