package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/sigoco/sigoco/pyon"
)

// numpy arrays and scalars arrive as a dtype string and raw bytes. For
// display they are decoded into plain values (nested lists); dtypes other
// than bool, ints, uints, floats and complex are shown raw.

var errDType = errors.New("unsupported dtype")

// dtype parses a numpy dtype string such as "<f8", ">i4", "|b1".
func dtype(s string) (order binary.ByteOrder, kind byte, size int, name string, err error) {
	if len(s) < 3 {
		return nil, 0, 0, "", errDType
	}
	switch s[0] {
	case '<', '|', '=':
		order = binary.LittleEndian
	case '>':
		order = binary.BigEndian
	default:
		return nil, 0, 0, "", errDType
	}
	kind = s[1]
	if _, err := fmt.Sscanf(s[2:], "%d", &size); err != nil || fmt.Sprint(size) != s[2:] {
		return nil, 0, 0, "", errDType
	}
	ok := false
	switch kind {
	case 'b':
		ok, name = size == 1, "bool"
	case 'i':
		ok, name = size == 1 || size == 2 || size == 4 || size == 8, fmt.Sprintf("int%d", size*8)
	case 'u':
		ok, name = size == 1 || size == 2 || size == 4 || size == 8, fmt.Sprintf("uint%d", size*8)
	case 'f':
		ok, name = size == 4 || size == 8, fmt.Sprintf("float%d", size*8)
	case 'c':
		ok, name = size == 8 || size == 16, fmt.Sprintf("complex%d", size*8)
	}
	if !ok {
		return nil, 0, 0, "", errDType
	}
	return order, kind, size, name, nil
}

func decodeElem(b []byte, order binary.ByteOrder, kind byte, size int) any {
	uint := func(b []byte) uint64 {
		switch len(b) {
		case 1:
			return uint64(b[0])
		case 2:
			return uint64(order.Uint16(b))
		case 4:
			return uint64(order.Uint32(b))
		}
		return order.Uint64(b)
	}
	float := func(b []byte) float64 {
		if len(b) == 4 {
			return float64(math.Float32frombits(order.Uint32(b)))
		}
		return math.Float64frombits(order.Uint64(b))
	}
	switch kind {
	case 'b':
		return b[0] != 0
	case 'i':
		u := uint(b)
		shift := 64 - 8*size
		return int64(u<<shift) >> shift // sign-extend
	case 'u':
		u := uint(b)
		if u > math.MaxInt64 {
			return u
		}
		return int64(u)
	case 'f':
		return float(b)
	default: // 'c'
		h := size / 2
		return complex(float(b[:h]), float(b[h:]))
	}
}

// decodeNPScalar returns the value and numpy type name of s.
func decodeNPScalar(s pyon.NPScalar) (any, string, error) {
	order, kind, size, name, err := dtype(s.DType)
	if err != nil {
		return nil, "", err
	}
	if len(s.Data) != size {
		return nil, "", errDType
	}
	return decodeElem(s.Data, order, kind, size), name, nil
}

// decodeNDArray returns a's elements as nested []any following its shape
// (a bare value for a 0-d array) and its numpy type name.
func decodeNDArray(a pyon.NDArray) (any, string, error) {
	order, kind, size, name, err := dtype(a.DType)
	if err != nil {
		return nil, "", err
	}
	n := 1
	for _, d := range a.Shape {
		if d < 0 || (d > 0 && n > len(a.Data)/d) {
			return nil, "", errDType
		}
		n *= d
	}
	if n*size != len(a.Data) {
		return nil, "", errDType
	}
	var build func(dims []int, off int) any
	build = func(dims []int, off int) any {
		if len(dims) == 0 {
			return decodeElem(a.Data[off*size:(off+1)*size], order, kind, size)
		}
		stride := 1
		for _, d := range dims[1:] {
			stride *= d
		}
		out := make([]any, dims[0])
		for i := range out {
			out[i] = build(dims[1:], off+i*stride)
		}
		return out
	}
	return build(a.Shape, 0), name, nil
}
