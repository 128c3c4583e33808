package pyon

import (
	"encoding"
	"math"
	"math/big"
	"reflect"
	"slices"
)

// convertSpecial handles destinations of pyon's own types and a few from
// the standard library; done is false when the normal rules apply.
func convertSpecial(v any, dst reflect.Value) (done bool, err error) {
	t := dst.Type()
	set := func(x any) (bool, error) {
		dst.Set(reflect.ValueOf(x))
		return true, nil
	}
	switch t {
	case tupleType:
		if items, ok := seqItems(v); ok {
			return set(Tuple(slices.Clone(items)))
		}
	case setType:
		if items, ok := seqItems(v); ok {
			return set(Set{Items: slices.Clone(items)})
		}
	case dictType:
		if items, ok := mapItems(v); ok {
			return set(Dict(slices.Clone(items)))
		}
	case odictType:
		if items, ok := mapItems(v); ok {
			return set(OrderedDict(slices.Clone(items)))
		}
	case ndarrayType:
		a, err := ListToNDArray(v)
		if err != nil {
			return true, cerr(v, t, "%v", err)
		}
		return set(a)
	case npscalarType:
		s, err := ScalarOf(v)
		if err != nil {
			return true, cerr(v, t, "")
		}
		return set(s)
	case fractionType, bigRatType:
		r, ok := ratOf(v)
		if !ok {
			return true, cerr(v, t, "")
		}
		if t == fractionType {
			dst.Set(reflect.ValueOf(Fraction{Rat: *r}))
		} else {
			dst.Set(reflect.ValueOf(*r))
		}
		return true, nil
	case bigIntType:
		b, ok := bigOf(v)
		if !ok {
			return true, cerr(v, t, "")
		}
		dst.Set(reflect.ValueOf(*b))
		return true, nil
	}
	if t.Kind() == reflect.Interface {
		return true, cerr(v, t, "")
	}
	if s, ok := v.(string); ok && t.Kind() != reflect.String && reflect.PointerTo(t).Implements(textUnmType) {
		if err := dst.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			return true, cerr(v, t, "%v", err)
		}
		return true, nil
	}
	return false, nil
}

func ratOf(v any) (*big.Rat, bool) {
	switch x := v.(type) {
	case *Fraction:
		return new(big.Rat).Set(&x.Rat), true
	case *big.Rat:
		return new(big.Rat).Set(x), true
	case int64:
		return new(big.Rat).SetInt64(x), true
	case uint64:
		return new(big.Rat).SetUint64(x), true
	case *big.Int:
		return new(big.Rat).SetInt(x), true
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return nil, false
		}
		return new(big.Rat).SetFloat64(x), true
	}
	return nil, false
}

func bigOf(v any) (*big.Int, bool) {
	switch x := v.(type) {
	case int64:
		return big.NewInt(x), true
	case uint64:
		return new(big.Int).SetUint64(x), true
	case *big.Int:
		return new(big.Int).Set(x), true
	}
	return nil, false
}
