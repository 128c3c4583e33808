package pyon

import (
	"fmt"
	"math"
)

// ListToNDArray makes a numpy array from nested lists (or tuples) of
// numbers, as numpy.array(v) would for the common cases: the shape from
// the nesting (which must be regular), the dtype "|b1" if all elements are
// bools, "<i8" if all are integers (bools count as 0/1), "<c16" if any is
// complex, else "<f8" (also for an empty list). A scalar gives a 0-d
// array; an NDArray is returned as is.
func ListToNDArray(v any) (NDArray, error) {
	switch x := v.(type) {
	case NDArray:
		return x, nil
	case *NDArray:
		if x != nil {
			return *x, nil
		}
	}
	shape, err := listShape(v)
	if err != nil {
		return NDArray{}, err
	}
	var elems []any
	if err := listElems(v, shape, 0, &elems); err != nil {
		return NDArray{}, err
	}
	a := arrayOf(widestKind(elems), elems)
	a.Shape = shape
	if shape == nil {
		a.Shape = []int{}
	}
	if err := a.Validate(); err != nil { // the element and empty-shape limits
		return NDArray{}, err
	}
	return a, nil
}

// listScalar gives a numpy scalar as its Go value, other values as they are.
func listScalar(v any) (any, error) {
	v = normalize(v)
	if s, ok := v.(NPScalar); ok {
		return s.Value()
	}
	return v, nil
}

// listShape follows the first element down: its lengths are the shape,
// which every other element must then match (listElems checks).
func listShape(v any) ([]int, error) {
	var shape []int
	for x := v; ; {
		sx, err := listScalar(x)
		if err != nil {
			return nil, err
		}
		items, ok := seqItems(sx)
		if !ok {
			return shape, nil
		}
		if len(shape) == 32 {
			return nil, fmt.Errorf("nested deeper than numpy's 32 dimensions")
		}
		shape = append(shape, len(items))
		if len(items) == 0 {
			return shape, nil
		}
		x = items[0]
	}
}

// listElems appends the numbers of v, which must follow shape from dim on.
func listElems(v any, shape []int, dim int, elems *[]any) error {
	v, err := listScalar(v)
	if err != nil {
		return err
	}
	items, isSeq := seqItems(v)
	if dim < len(shape) {
		if !isSeq || len(items) != shape[dim] {
			return fmt.Errorf("ragged nesting: not a regular array")
		}
		for _, it := range items {
			if err := listElems(it, shape, dim+1, elems); err != nil {
				return err
			}
		}
		return nil
	}
	if isSeq {
		return fmt.Errorf("ragged nesting: not a regular array")
	}
	switch v.(type) {
	case bool, int64, uint64, float64, complex128:
		*elems = append(*elems, v)
		return nil
	}
	return fmt.Errorf("element %s is not a number", describe(v))
}

// Kinds of ListToNDArray's result, widest last.
const (
	kindBool = iota
	kindInt
	kindFloat
	kindComplex
)

// widestKind is the kind numpy would pick: the widest present (an uint64
// beyond int64 makes floats; no element at all gives numpy's float64).
func widestKind(elems []any) int {
	if len(elems) == 0 {
		return kindFloat
	}
	kind := kindBool
	for _, e := range elems {
		switch x := e.(type) {
		case int64:
			kind = max(kind, kindInt)
		case uint64:
			if x > math.MaxInt64 {
				kind = max(kind, kindFloat)
			} else {
				kind = max(kind, kindInt)
			}
		case float64:
			kind = max(kind, kindFloat)
		case complex128:
			kind = kindComplex
		}
	}
	return kind
}

// arrayOf makes a 1-D array of the kind from elems.
func arrayOf(kind int, elems []any) NDArray {
	switch kind {
	case kindBool:
		bs := make([]bool, len(elems))
		for i, e := range elems {
			bs[i] = e.(bool)
		}
		return FromBools(bs)
	case kindInt:
		is := make([]int64, len(elems))
		for i, e := range elems {
			is[i], _, _ = toInt64(boolToInt(e))
		}
		return FromInt64s(is)
	case kindFloat:
		fs := make([]float64, len(elems))
		for i, e := range elems {
			fs[i] = toFloat64(e)
		}
		return FromFloat64s(fs)
	}
	cs := make([]complex128, len(elems))
	for i, e := range elems {
		if c, ok := e.(complex128); ok {
			cs[i] = c
		} else {
			cs[i] = complex(toFloat64(e), 0)
		}
	}
	return FromComplex128s(cs)
}

func boolToInt(e any) any {
	if b, ok := e.(bool); ok {
		if b {
			return int64(1)
		}
		return int64(0)
	}
	return e
}
