package pyon

import (
	"math"
	"math/big"
)

// The extension types of the msgpack mapping (ids in msgpack.go), built
// from their decoded payloads.

func malformedExt(id int8) error {
	return malformed("msgpack: malformed extension %d", id)
}

func extOf(id int8, p any, lim Limits) (any, error) {
	l, _ := p.([]any)
	switch id {
	case ExtTuple:
		if l == nil {
			return nil, malformedExt(id)
		}
		return Tuple(l), nil
	case ExtSet, ExtFrozenSet:
		if l == nil {
			return nil, malformedExt(id)
		}
		for _, e := range l {
			if !hashable(e) {
				return nil, malformed("msgpack: unhashable set item %s", describe(e))
			}
		}
		return Set{Items: l, Frozen: id == ExtFrozenSet}, nil
	case ExtComplex:
		if len(l) == 2 {
			re, ok1 := l[0].(float64)
			im, ok2 := l[1].(float64)
			if ok1 && ok2 {
				return complex(re, im), nil
			}
		}
	case ExtBigInt:
		if s, ok := p.(string); ok {
			x, err := parseInt(s, lim.MaxIntDigits)
			if err == nil {
				return normBig(x), nil
			}
			return nil, err
		}
	case ExtFraction:
		if len(l) == 2 {
			ns, ok1 := l[0].(string)
			ds, ok2 := l[1].(string)
			if ok1 && ok2 {
				num, err := parseInt(ns, lim.MaxIntDigits)
				if err != nil {
					return nil, err
				}
				den, err := parseInt(ds, lim.MaxIntDigits)
				if err != nil {
					return nil, err
				}
				if den.Sign() != 0 {
					var f Fraction
					f.SetFrac(num, den)
					return f, nil
				}
			}
		}
	case ExtNDArray:
		if len(l) == 3 {
			return ndarrayOf(l, lim)
		}
	case ExtNPScalar:
		if len(l) == 2 {
			dt, ok1 := l[0].(string)
			data, ok2 := l[1].([]byte)
			if ok1 && ok2 {
				s := NPScalar{DType: dt, Data: data}
				d, err := parseDType(dt)
				if err != nil {
					return nil, err
				}
				if d.size != len(data) {
					return nil, malformed("msgpack: numpy scalar of dtype %s with %d bytes", dt, len(data))
				}
				return s, nil
			}
		}
	case ExtOrderedDict:
		if l == nil {
			return nil, malformedExt(id)
		}
		od := make(OrderedDict, 0, len(l))
		for _, e := range l {
			kv, ok := e.([]any)
			if !ok || len(kv) != 2 || !hashable(kv[0]) {
				return nil, malformedExt(id)
			}
			od = append(od, Item{Key: kv[0], Value: kv[1]})
		}
		return od, nil
	case ExtSlice:
		if len(l) == 3 {
			return Slice{Start: l[0], Stop: l[1], Step: l[2]}, nil
		}
	}
	return nil, malformedExt(id)
}

func ndarrayOf(l []any, lim Limits) (any, error) {
	shapeL, ok1 := l[0].([]any)
	dt, ok2 := l[1].(string)
	data, ok3 := l[2].([]byte)
	if !ok1 || !ok2 || !ok3 {
		return nil, malformedExt(ExtNDArray)
	}
	if len(shapeL) > 32 {
		return nil, malformed("msgpack: numpy array of %d dimensions, more than 32", len(shapeL))
	}
	shape := make([]int, len(shapeL))
	for i, s := range shapeL {
		n, ok := s.(int64)
		if !ok || n < 0 || n > math.MaxInt32 {
			return nil, malformed("msgpack: numpy shape %v", shapeL)
		}
		shape[i] = int(n)
	}
	a := NDArray{Shape: shape, DType: dt, Data: data}
	if err := a.validate(lim.MaxElements); err != nil {
		return nil, err
	}
	return a, nil
}

// parseInt parses a decimal integer of at most maxDigits digits.
func parseInt(s string, maxDigits int) (*big.Int, error) {
	digits := len(s)
	if digits > 0 && (s[0] == '-' || s[0] == '+') {
		digits--
	}
	if digits > maxDigits {
		return nil, limitErr("integer of %d digits, more than %d", digits, maxDigits)
	}
	x, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, malformed("bad integer %q", s)
	}
	return x, nil
}

// normBig gives x as int64 or uint64 when it fits.
func normBig(x *big.Int) any {
	if x.IsInt64() {
		return x.Int64()
	}
	if x.IsUint64() {
		return x.Uint64()
	}
	return x
}
