package memo

// This file is memo's whole use of the value model (package pyon): the
// canonical parameter text, conversion of stored values back to Go types,
// numpy arrays, and the msgpack and JSON forms of values. Keep it that way,
// so that a change in pyon's API is adapted here only.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/sigoco/sigoco/pyon"
	"github.com/vmihailenco/msgpack/v5"
)

// appendParam appends the canonical text of one parameter: its PYON v2
// encoding, after sorting the items of sets and dicts (whose order Python
// ignores; Go maps are sorted by pyon already). Ints, bools and plain ASCII
// strings take a fast path that writes exactly what pyon would.
func appendParam(dst []byte, v any) ([]byte, error) {
	if out, ok := appendFast(dst, v); ok {
		return out, nil
	}
	out, err := pyon.Append(dst, canonical(v))
	if err != nil {
		return dst, fmt.Errorf("%w: %v", ErrParams, err)
	}
	return out, nil
}

// appendFast is appendParam's fast path; ok is false for values it does
// not handle. It does not let dst or v escape, so callers can build keys
// in a stack buffer.
func appendFast(dst []byte, v any) ([]byte, bool) {
	switch x := v.(type) {
	case int:
		return appendInt(dst, int64(x)), true
	case int64:
		return appendInt(dst, x), true
	case int32:
		return appendInt(dst, int64(x)), true
	case float64:
		return appendFloat(dst, x), true
	case bool:
		if x {
			return append(dst, "true"...), true
		}
		return append(dst, "false"...), true
	case string:
		if plainASCII(x) {
			dst = append(dst, '"')
			dst = append(dst, x...)
			return append(dst, '"'), true
		}
	}
	return dst, false
}

// appendFloat writes f as pyon (and Python's repr) does: shortest digits,
// exponent form below 1e-4 and from 1e16, else a decimal with at least
// ".0". It mirrors pyon's appendPyFloat without allocating; the fuzz test
// FuzzAppendParam holds the two together.
func appendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	}
	var tmp [32]byte
	s := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64)
	i := bytes.IndexByte(s, 'e')
	exp := 0
	for _, c := range s[i+2:] {
		exp = exp*10 + int(c-'0')
	}
	if s[i+1] == '-' {
		exp = -exp
	}
	if exp < -4 || exp >= 16 {
		return append(dst, s...)
	}
	// The same shortest digits in decimal form, as 'f' would write them.
	if s[0] == '-' {
		dst = append(dst, '-')
		s = s[1:]
		i--
	}
	var d [24]byte
	digits := append(d[:0], s[0])
	if i > 1 {
		digits = append(digits, s[2:i]...)
	}
	if exp < 0 {
		dst = append(dst, "0."...)
		for range -exp - 1 {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	}
	for k := 0; k <= exp; k++ {
		if k < len(digits) {
			dst = append(dst, digits[k])
		} else {
			dst = append(dst, '0')
		}
	}
	dst = append(dst, '.')
	if len(digits) > exp+1 {
		return append(dst, digits[exp+1:]...)
	}
	return append(dst, '0')
}

func appendInt(dst []byte, i int64) []byte {
	if i >= 0 && i < 10 {
		return append(dst, byte('0'+i))
	}
	var b [20]byte
	n := len(b)
	u := uint64(i)
	if i < 0 {
		u = uint64(-i)
	}
	for u > 0 {
		n--
		b[n] = byte('0' + u%10)
		u /= 10
	}
	if i < 0 {
		dst = append(dst, '-')
	}
	return append(dst, b[n:]...)
}

// plainASCII: printable ASCII without the characters JSON escapes, so the
// text between quotes is the string itself (pyon also escapes < > & like
// encoding/json, so those take the slow path).
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// canonical returns v with the items of sets and of dicts with non-string
// keys sorted by their encoding, recursively through lists, tuples and
// string-keyed maps, so equal Python values give equal text.
func canonical(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = canonical(e)
		}
		return out
	case pyon.Tuple:
		out := make(pyon.Tuple, len(x))
		for i, e := range x {
			out[i] = canonical(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = canonical(e)
		}
		return out
	case pyon.Set:
		items := make([]any, len(x.Items))
		for i, e := range x.Items {
			items[i] = canonical(e)
		}
		sortByText(items, func(e any) any { return e })
		return pyon.Set{Items: items, Frozen: x.Frozen}
	case pyon.Dict:
		out := make(pyon.Dict, len(x))
		for i, it := range x {
			out[i] = pyon.Item{Key: canonical(it.Key), Value: canonical(it.Value)}
		}
		sortByText(out, func(it pyon.Item) any { return it.Key })
		return out
	}
	return v
}

func sortByText[T any](s []T, key func(T) any) {
	text := func(t T) string {
		b, _ := pyon.Encode(key(t)) // an error resurfaces when the whole value is encoded
		return string(b)
	}
	slices.SortStableFunc(s, func(a, b T) int { return strings.Compare(text(a), text(b)) })
}

// convertTo turns a value (computed, or decoded from storage) into R.
func convertTo[R any](v any) (R, error) {
	if r, ok := v.(R); ok {
		return r, nil
	}
	var r R
	if nd, ok := v.(pyon.NDArray); ok && nd.DType == "<f8" && len(nd.Shape) == 1 {
		if p, ok := any(&r).(*[]float64); ok {
			*p = float64s(nd.Data)
			return r, nil
		}
	}
	if v == nil {
		return r, nil // nil converts to R's zero value
	}
	if err := pyon.Convert(v, &r); err != nil {
		return r, fmt.Errorf("%w: %v", ErrValue, err)
	}
	return r, nil
}

// bindParam converts an untyped parameter (from Cache.Get and friends, or a
// declared grid) to the metric's parameter type T.
func bindParam[T any](v any) (T, error) {
	if t, ok := v.(T); ok {
		return t, nil
	}
	var t T
	if err := pyon.Convert(v, &t); err != nil {
		return t, fmt.Errorf("%w: %v", ErrParams, err)
	}
	return t, nil
}

// decodeParams parses a Key's Params back into values.
func decodeParams(params string) ([]any, error) {
	v, err := pyon.DecodeString("[" + params + "]")
	if err != nil {
		return nil, err
	}
	l, _ := v.([]any)
	return l, nil
}

// array is a numpy array as the .npy format holds it.
type array struct {
	shape []int
	dtype string // numpy's descr: "<f8", "|b1", ...
	data  []byte // C order
}

// asArray reports whether v is stored as a .npy file: a pyon.NDArray, or a
// Go slice numpy has a dtype for.
func asArray(v any) (array, bool) {
	var a pyon.NDArray
	switch x := v.(type) {
	case pyon.NDArray:
		a = x
	case *pyon.NDArray:
		if x == nil {
			return array{}, false
		}
		a = *x
	case []float64:
		a = pyon.FromFloat64s(x)
	case []int64:
		a = pyon.FromInt64s(x)
	case []int32:
		a = pyon.FromInt32s(x)
	case []bool:
		a = pyon.FromBools(x)
	case []complex128:
		a = pyon.FromComplex128s(x)
	case [][]float64:
		var err error
		if a, err = pyon.FromFloat64s2D(x); err != nil {
			return array{}, false // ragged: not an array, stored as lists
		}
	default:
		return array{}, false
	}
	if checkArray(a) != nil {
		return array{}, false
	}
	return array{shape: a.Shape, dtype: a.DType, data: a.Data}, true
}

// arrayValue is the decoded form of a stored array.
func arrayValue(a array) (any, error) {
	nd := pyon.NDArray{Shape: a.shape, DType: a.dtype, Data: a.data}
	if err := checkArray(nd); err != nil {
		return nil, err
	}
	return nd, nil
}

// numericSizes are the item sizes of numpy's plain numeric dtypes.
var numericSizes = map[byte][]int{'b': {1}, 'i': {1, 2, 4, 8}, 'u': {1, 2, 4, 8}, 'f': {2, 4, 8}, 'c': {8, 16}}

// checkArray checks that a's data holds exactly the elements its shape
// and dtype call for. Plain numeric dtypes ("<f8", "|b1", ...) are checked
// here, with no bound on the element count (a metric may be large); other
// dtypes go to pyon's Validate.
func checkArray(a pyon.NDArray) error {
	d := a.DType
	size := 0
	if len(d) >= 3 && strings.ContainsRune("<>|=", rune(d[0])) {
		if n, err := strconv.Atoi(d[2:]); err == nil && slices.Contains(numericSizes[d[1]], n) {
			size = n
		}
	}
	if size == 0 {
		return a.Validate()
	}
	n := 1
	for _, s := range a.Shape {
		if s < 0 || (s > 0 && n > len(a.Data)/s) {
			return errors.New("memo: array shape does not match its data")
		}
		n *= s
	}
	if n*size != len(a.Data) {
		return errors.New("memo: array shape does not match its data")
	}
	return nil
}

// sizeOf estimates the bytes v holds, for the memory bound: data bytes of
// arrays, strings and slices, a word per element of the rest. It walks at
// most depth levels.
func sizeOf(v any) int64 {
	if a, ok := v.(pyon.NDArray); ok {
		return int64(len(a.Data)) + 64
	}
	return 16 + sizeOfValue(reflect.ValueOf(v), 8)
}

func sizeOfValue(v reflect.Value, depth int) int64 {
	if !v.IsValid() || depth == 0 {
		return 0
	}
	switch v.Kind() {
	case reflect.String:
		return int64(v.Len())
	case reflect.Slice, reflect.Array:
		elem := v.Type().Elem()
		n := int64(v.Len()) * int64(elem.Size())
		switch elem.Kind() {
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
			return n
		}
		for i := 0; i < v.Len(); i++ {
			n += sizeOfValue(v.Index(i), depth-1)
		}
		return n
	case reflect.Map:
		n := int64(v.Len()) * 48
		it := v.MapRange()
		for it.Next() {
			n += sizeOfValue(it.Key(), depth-1) + sizeOfValue(it.Value(), depth-1)
		}
		return n
	case reflect.Pointer, reflect.Interface:
		return 16 + sizeOfValue(v.Elem(), depth-1)
	case reflect.Struct:
		n := int64(v.Type().Size())
		for i := 0; i < v.NumField(); i++ {
			n += sizeOfValue(v.Field(i), depth-1)
		}
		return n
	}
	return int64(v.Type().Size())
}

// encodeMsgpack appends the msgpack form of v (pyon's mapping, see pyon's
// msgpack.go) to buf.
func encodeMsgpack(buf *bytes.Buffer, v any) error {
	if err := pyon.EncodeMsgpackValue(msgpack.NewEncoder(buf), v); err != nil {
		return fmt.Errorf("%w: %v", ErrValue, err)
	}
	return nil
}

// decodeMsgpack decodes one msgpack value (all of b) into the value
// model's decoded form, with pyon's bounded decoder: no length in b is
// trusted beyond its size. A stored metric may be large, so the element
// and decoded-size bounds are lifted (the file size bounds them).
func decodeMsgpack(b []byte) (any, error) {
	d := pyon.MsgpackDecoder{Limits: pyon.Limits{MaxDepth: 64, MaxElements: math.MaxInt, MaxDecodedSize: -1}}
	v, n, err := d.Decode(b)
	if err != nil {
		return nil, err
	}
	if n != len(b) {
		return nil, fmt.Errorf("msgpack: %d bytes after the value", len(b)-n)
	}
	return v, nil
}

// encodePYON is the PYON v2 text of v for JSONStorage. A top-level numpy
// array is written as nested lists, as the seed's JSON storage does, so
// the file stays readable; nested arrays keep PYON's nparray form.
func encodePYON(v any) ([]byte, error) {
	if a, ok := asArray(v); ok {
		if l, err := (pyon.NDArray{Shape: a.shape, DType: a.dtype, Data: a.data}).ToList(); err == nil {
			v = l
		}
	}
	b, err := pyon.Encode(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrValue, err)
	}
	return b, nil
}

// decodePYON parses PYON v2 text.
func decodePYON(b []byte) (any, error) { return pyon.Decode(b) }

// float64s returns little-endian float64 data as a []float64: the bytes
// themselves when this machine is little-endian and they are aligned (a
// file read into memory is), else a decoded copy.
func float64s(b []byte) []float64 {
	n := len(b) / 8
	if n == 0 {
		return []float64{}
	}
	if littleEndian && uintptr(unsafe.Pointer(&b[0]))%8 == 0 {
		return unsafe.Slice((*float64)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out
}

var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1
