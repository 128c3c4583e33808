package pyon

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Validate checks that a's dtype is one numpy could have written, that
// Data holds exactly the elements Shape calls for, that there are at most
// DefaultLimits.MaxElements of them and, for an empty array, that its shape
// describes at most 65536 sub-arrays (so no conversion allocates more than
// the data justifies). Decode only returns arrays that pass (DecodeWith
// applies its own element limit). Conversions and encoders check the rest
// but not the element limit: an array in memory is bounded by its data.
func (a NDArray) Validate() error { return a.validate(DefaultLimits.MaxElements) }

// wellFormed is Validate without the element limit, which bounds what a
// peer may make a decoder allocate: an array already in memory (to
// convert or encode) is bounded by its data.
func (a NDArray) wellFormed() error { return a.validate(math.MaxInt32) }

func (a NDArray) validate(maxElements int) error {
	d, err := parseDType(a.DType)
	if err != nil {
		return err
	}
	n, err := a.count()
	if err != nil {
		return err
	}
	if n > maxElements {
		return limitErr("nparray of shape %v has %d elements, more than %d", a.Shape, n, maxElements)
	}
	if len(a.Data) != n*d.size { // n ≤ MaxInt32 and size ≤ 1<<20: no overflow
		return malformed("nparray of shape %v and dtype %s needs %d bytes of data, got %d", a.Shape, a.DType, n*d.size, len(a.Data))
	}
	return nil
}

// count is the number of elements: the product of Shape (1 for a 0-d
// array). It refuses a shape whose sub-arrays (the products of its leading
// dimensions, which nested conversions allocate one by one) outnumber
// max(elements, maxEmptyCells): [2147483647, 0] has no element but would
// cost 2^31 slice headers as [][]float64.
func (a NDArray) count() (int, error) {
	n, cells := 1, 1
	for _, s := range a.Shape {
		if s < 0 {
			return 0, malformed("nparray with negative dimension in shape %v", a.Shape)
		}
		if s != 0 && n > math.MaxInt32/s {
			return 0, malformed("nparray shape %v too large", a.Shape)
		}
		if n != 0 {
			cells = n
		}
		n *= s
	}
	if n == 0 && cells > maxEmptyCells {
		return 0, limitErr("empty nparray of shape %v describes %d sub-arrays, more than %d", a.Shape, cells, maxEmptyCells)
	}
	return n, nil
}

// Len is the number of elements (the product of Shape), or 0 if a is not
// valid.
func (a NDArray) Len() int {
	n, err := a.count()
	if err != nil {
		return 0
	}
	return n
}

// check validates a and its dtype against the kinds a conversion accepts.
func (a NDArray) check(to string, kinds string) (dtype, int, error) {
	if err := a.wellFormed(); err != nil {
		return dtype{}, 0, err
	}
	d, _ := parseDType(a.DType)
	if !d.numeric() || !containsByte(kinds, d.kind) {
		return dtype{}, 0, fmt.Errorf("%w: cannot convert a numpy array of dtype %s to %s", ErrUnsupported, a.DType, to)
	}
	return d, len(a.Data) / d.size, nil
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// Float64s returns the elements in C order (whatever the shape) as float64.
// Bool, integer and float dtypes convert, as numpy's astype(float) does
// (64-bit integers may round); complex ones are an error.
func (a NDArray) Float64s() ([]float64, error) {
	d, n, err := a.check("[]float64", "biuf")
	if err != nil {
		return nil, err
	}
	out := make([]float64, n)
	if d.kind == 'f' && d.size == 8 {
		o := d.byteOrder()
		for i := range out {
			out[i] = math.Float64frombits(o.Uint64(a.Data[8*i:]))
		}
		return out, nil
	}
	for i := range out {
		out[i] = toFloat64(d.elem(a.Data[i*d.size:]))
	}
	return out, nil
}

func toFloat64(e any) float64 {
	switch x := e.(type) {
	case bool:
		if x {
			return 1
		}
		return 0
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case float64:
		return x
	}
	return math.NaN() // unreachable: callers restrict kinds
}

// Int64s returns the elements in C order as int64. Bool and integer dtypes
// convert; a uint64 element above MaxInt64 and float dtypes are errors.
func (a NDArray) Int64s() ([]int64, error) {
	return intsOf[int64](a, "[]int64", math.MinInt64, math.MaxInt64)
}

// Int32s returns the elements in C order as int32; integer elements out of
// int32's range are errors.
func (a NDArray) Int32s() ([]int32, error) {
	return intsOf[int32](a, "[]int32", math.MinInt32, math.MaxInt32)
}

func intsOf[T int32 | int64](a NDArray, to string, lo, hi int64) ([]T, error) {
	d, n, err := a.check(to, "biu")
	if err != nil {
		return nil, err
	}
	out := make([]T, n)
	for i := range out {
		var v int64
		switch x := d.elem(a.Data[i*d.size:]).(type) {
		case bool:
			if x {
				v = 1
			}
		case int64:
			v = x
		case uint64:
			if x > math.MaxInt64 {
				return nil, fmt.Errorf("%w: element %d (%d) overflows %s", ErrUnsupported, i, x, to[2:])
			}
			v = int64(x)
		}
		if v < lo || v > hi {
			return nil, fmt.Errorf("%w: element %d (%d) overflows %s", ErrUnsupported, i, v, to[2:])
		}
		out[i] = T(v)
	}
	return out, nil
}

// Bools returns the elements of a bool array in C order.
func (a NDArray) Bools() ([]bool, error) {
	_, n, err := a.check("[]bool", "b")
	if err != nil {
		return nil, err
	}
	out := make([]bool, n)
	for i := range out {
		out[i] = a.Data[i] != 0
	}
	return out, nil
}

// Complex128s returns the elements in C order as complex128; real dtypes
// convert with a zero imaginary part.
func (a NDArray) Complex128s() ([]complex128, error) {
	d, n, err := a.check("[]complex128", "biufc")
	if err != nil {
		return nil, err
	}
	out := make([]complex128, n)
	for i := range out {
		e := d.elem(a.Data[i*d.size:])
		if c, ok := e.(complex128); ok {
			out[i] = c
		} else {
			out[i] = complex(toFloat64(e), 0)
		}
	}
	return out, nil
}

// Float64s2D returns a 2-D array as rows of float64 (see Float64s).
func (a NDArray) Float64s2D() ([][]float64, error) {
	if len(a.Shape) != 2 {
		return nil, fmt.Errorf("%w: cannot convert a %d-D numpy array to [][]float64", ErrUnsupported, len(a.Shape))
	}
	flat, err := a.Float64s()
	if err != nil {
		return nil, err
	}
	rows, cols := a.Shape[0], a.Shape[1]
	out := make([][]float64, rows)
	for r := range out {
		out[r] = flat[r*cols : (r+1)*cols : (r+1)*cols]
	}
	return out, nil
}

// ToList returns the array as numpy's tolist() would: nested []any
// following Shape, with elements bool, int64, uint64, float64 or
// complex128; a 0-d array gives its one element.
func (a NDArray) ToList() (any, error) {
	d, _, err := a.check("a list", "biufc")
	if err != nil {
		return nil, err
	}
	off := 0
	var build func(dim int) any
	build = func(dim int) any {
		if dim == len(a.Shape) {
			e := d.elem(a.Data[off:])
			off += d.size
			return e
		}
		l := make([]any, a.Shape[dim])
		for i := range l {
			l[i] = build(dim + 1)
		}
		return l
	}
	return build(0), nil
}

// FromFloat64s makes a 1-D float64 array ("<f8").
func FromFloat64s(v []float64) NDArray {
	data := make([]byte, 8*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint64(data[8*i:], math.Float64bits(f))
	}
	return NDArray{Shape: []int{len(v)}, DType: "<f8", Data: data}
}

// FromInt64s makes a 1-D int64 array ("<i8").
func FromInt64s(v []int64) NDArray {
	data := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(data[8*i:], uint64(x))
	}
	return NDArray{Shape: []int{len(v)}, DType: "<i8", Data: data}
}

// FromInt32s makes a 1-D int32 array ("<i4").
func FromInt32s(v []int32) NDArray {
	data := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(data[4*i:], uint32(x))
	}
	return NDArray{Shape: []int{len(v)}, DType: "<i4", Data: data}
}

// FromBools makes a 1-D bool array ("|b1").
func FromBools(v []bool) NDArray {
	data := make([]byte, len(v))
	for i, b := range v {
		if b {
			data[i] = 1
		}
	}
	return NDArray{Shape: []int{len(v)}, DType: "|b1", Data: data}
}

// FromComplex128s makes a 1-D complex128 array ("<c16").
func FromComplex128s(v []complex128) NDArray {
	data := make([]byte, 16*len(v))
	for i, c := range v {
		binary.LittleEndian.PutUint64(data[16*i:], math.Float64bits(real(c)))
		binary.LittleEndian.PutUint64(data[16*i+8:], math.Float64bits(imag(c)))
	}
	return NDArray{Shape: []int{len(v)}, DType: "<c16", Data: data}
}

// FromFloat64s2D makes a 2-D float64 array from rows of equal length.
func FromFloat64s2D(rows [][]float64) (NDArray, error) {
	cols := 0
	if len(rows) > 0 {
		cols = len(rows[0])
	}
	flat := make([]float64, 0, len(rows)*cols)
	for i, r := range rows {
		if len(r) != cols {
			return NDArray{}, fmt.Errorf("%w: ragged rows: row %d has %d columns, row 0 has %d", ErrUnsupported, i, len(r), cols)
		}
		flat = append(flat, r...)
	}
	a := FromFloat64s(flat)
	a.Shape = []int{len(rows), cols}
	return a, nil
}

// String shows the shape and dtype, not the data.
func (a NDArray) String() string {
	return fmt.Sprintf("nparray(shape=%v, dtype=%s)", a.Shape, a.DType)
}
