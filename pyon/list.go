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
	var (
		shape []int
		elems []any
	)
	scalar := func(v any) (any, error) {
		v = normalize(v)
		if s, ok := v.(NPScalar); ok {
			return s.Value()
		}
		return v, nil
	}
	// The shape follows the first element down; every other element must
	// then match it.
	x := v
	for {
		sx, err := scalar(x)
		if err != nil {
			return NDArray{}, err
		}
		items, ok := seqItems(sx)
		if !ok {
			break
		}
		if len(shape) == 32 {
			return NDArray{}, fmt.Errorf("nested deeper than numpy's 32 dimensions")
		}
		shape = append(shape, len(items))
		if len(items) == 0 {
			break
		}
		x = items[0]
	}
	var walk func(v any, dim int) error
	walk = func(v any, dim int) error {
		v, err := scalar(v)
		if err != nil {
			return err
		}
		items, isSeq := seqItems(v)
		if dim < len(shape) {
			if !isSeq || len(items) != shape[dim] {
				return fmt.Errorf("ragged nesting: not a regular array")
			}
			for _, it := range items {
				if err := walk(it, dim+1); err != nil {
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
			elems = append(elems, v)
			return nil
		}
		return fmt.Errorf("element %s is not a number", describe(v))
	}
	if err := walk(v, 0); err != nil {
		return NDArray{}, err
	}
	// The widest kind present wins: bool < int < float < complex.
	kind := 0
	for _, e := range elems {
		switch x := e.(type) {
		case int64:
			kind = max(kind, 1)
		case uint64:
			if x > math.MaxInt64 {
				kind = max(kind, 2)
			} else {
				kind = max(kind, 1)
			}
		case float64:
			kind = max(kind, 2)
		case complex128:
			kind = 3
		}
	}
	if len(elems) == 0 {
		kind = 2 // numpy's default dtype
	}
	var a NDArray
	switch kind {
	case 0:
		bs := make([]bool, len(elems))
		for i, e := range elems {
			bs[i] = e.(bool)
		}
		a = FromBools(bs)
	case 1:
		is := make([]int64, len(elems))
		for i, e := range elems {
			is[i], _, _ = toInt64(boolToInt(e))
		}
		a = FromInt64s(is)
	case 2:
		fs := make([]float64, len(elems))
		for i, e := range elems {
			fs[i] = toFloat64(e)
		}
		a = FromFloat64s(fs)
	default:
		cs := make([]complex128, len(elems))
		for i, e := range elems {
			if c, ok := e.(complex128); ok {
				cs[i] = c
			} else {
				cs[i] = complex(toFloat64(e), 0)
			}
		}
		a = FromComplex128s(cs)
	}
	a.Shape = shape
	if shape == nil {
		a.Shape = []int{}
	}
	return a, nil
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
