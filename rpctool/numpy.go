package main

import (
	"strconv"

	"github.com/sigoco/sigoco/pyon"
)

// numpy arrays and scalars are shown through pyon's conversions
// (NDArray.ToList, NPScalar.Value) with numpy's name for their dtype.

// npName returns numpy's type name for a dtype string such as "<f8"
// ("float64"), or the dtype string itself when it is not a plain number.
func npName(dt string) string {
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

// decodeNPScalar returns the value and numpy type name of s.
func decodeNPScalar(s pyon.NPScalar) (any, string, error) {
	v, err := s.Value()
	return v, npName(s.DType), err
}

// decodeNDArray returns a's elements as nested []any following its shape
// and its numpy type name.
func decodeNDArray(a pyon.NDArray) (any, string, error) {
	v, err := a.ToList()
	return v, npName(a.DType), err
}
