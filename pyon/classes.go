package pyon

import (
	"encoding/base64"
	"math"
	"math/big"
)

// classDecoders builds a value from the decoded arguments of
// {"__jsonclass__": [name, args]}, as SiPyCo's decode map calls
// name(*args). Errors may carry an index into args.
var classDecoders map[string]func(args []any) (any, error)

func init() {
	// Assigned in init: the decoders recurse into fromJSON's results, and
	// a map literal referring to functions that refer to it is a cycle.
	classDecoders = map[string]func([]any) (any, error){
		"tuple":       decodeTuple,
		"set":         func(a []any) (any, error) { return decodeSet(a, false) },
		"frozenset":   func(a []any) (any, error) { return decodeSet(a, true) },
		"dict":        decodeDict,
		"OrderedDict": decodeOrderedDict,
		"bytes":       decodeBytes,
		"complex":     decodeComplex,
		"Fraction":    decodeFraction,
		"slice":       decodeSlice,
		"nparray":     decodeNDArray,
		"npscalar":    decodeNPScalar,
	}
}

// oneList returns the single list argument of tuple/set/dict/OrderedDict;
// like Python's constructors, no argument means empty.
func oneList(name string, args []any) ([]any, error) {
	switch len(args) {
	case 0:
		return nil, nil
	case 1:
		l, ok := args[0].([]any)
		if !ok {
			return nil, atIndex(malformed("%s wants a list, got %s", name, describe(args[0])), 0)
		}
		return l, nil
	}
	return nil, malformed("%s takes at most 1 argument, got %d", name, len(args))
}

func decodeTuple(args []any) (any, error) {
	l, err := oneList("tuple", args)
	if err != nil {
		return nil, err
	}
	if l == nil {
		return Tuple{}, nil
	}
	return Tuple(l), nil
}

func decodeSet(args []any, frozen bool) (any, error) {
	name := "set"
	if frozen {
		name = "frozenset"
	}
	l, err := oneList(name, args)
	if err != nil {
		return nil, err
	}
	for i, it := range l {
		if !hashable(it) {
			return nil, atIndex(atIndex(malformed("%s item: unhashable %s", name, describe(it)), i), 0)
		}
	}
	if l == nil {
		l = []any{}
	}
	return Set{Items: l, Frozen: frozen}, nil
}

// pairs reads [[key, value], ...].
func pairs(name string, args []any) ([]Item, error) {
	l, err := oneList(name, args)
	if err != nil {
		return nil, err
	}
	items := make([]Item, len(l))
	for i, p := range l {
		kv, ok := p.([]any)
		if !ok || len(kv) != 2 {
			return nil, atIndex(atIndex(malformed("%s wants [key, value] pairs, got %s", name, describe(p)), i), 0)
		}
		if !hashable(kv[0]) {
			return nil, atIndex(atIndex(atIndex(malformed("%s key: unhashable %s", name, describe(kv[0])), 0), i), 0)
		}
		items[i] = Item{Key: kv[0], Value: kv[1]}
	}
	return items, nil
}

func decodeDict(args []any) (any, error) {
	items, err := pairs("dict", args)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		if _, ok := it.Key.(string); !ok {
			return Dict(items), nil
		}
	}
	// All keys are strings: the same value as a plain JSON object.
	m := make(map[string]any, len(items))
	for i, it := range items {
		k := it.Key.(string)
		if k == jsonClassKey {
			// SiPyCo's encoder refuses such a dict; so does ours.
			return nil, atIndex(atIndex(atIndex(malformed("a dict may not have the key %q", k), 0), i), 0)
		}
		m[k] = it.Value
	}
	return m, nil
}

func decodeOrderedDict(args []any) (any, error) {
	items, err := pairs("OrderedDict", args)
	if err != nil {
		return nil, err
	}
	if items == nil {
		items = []Item{}
	}
	return OrderedDict(items), nil
}

func decodeBytes(args []any) (any, error) {
	if len(args) != 1 {
		return nil, malformed("bytes wants 1 base64 string, got %d arguments", len(args))
	}
	b, err := base64Arg("bytes", args[0])
	if err != nil {
		return nil, atIndex(err, 0)
	}
	return b, nil
}

func base64Arg(name string, a any) ([]byte, error) {
	s, ok := a.(string)
	if !ok {
		return nil, malformed("%s wants a base64 string, got %s", name, describe(a))
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, malformed("%s: bad base64: %v", name, err)
	}
	return b, nil
}

// toFloat accepts what Python's float() does for a number argument.
func toFloat(a any) (float64, bool) {
	switch x := a.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func decodeComplex(args []any) (any, error) {
	if len(args) > 2 {
		return nil, malformed("complex wants [real, imag], got %d arguments", len(args))
	}
	var parts [2]float64
	for i, a := range args {
		if c, ok := a.(complex128); ok && len(args) == 1 {
			return c, nil
		}
		f, ok := toFloat(a)
		if !ok {
			return nil, atIndex(malformed("complex wants numbers, got %s", describe(a)), i)
		}
		parts[i] = f
	}
	return complex(parts[0], parts[1]), nil
}

func decodeFraction(args []any) (any, error) {
	switch len(args) {
	case 1:
		r := new(big.Rat)
		switch x := args[0].(type) {
		case int64:
			r.SetInt64(x)
		case *big.Int:
			r.SetInt(x)
		case float64:
			if math.IsInf(x, 0) || math.IsNaN(x) {
				return nil, atIndex(malformed("Fraction of %v", x), 0)
			}
			r.SetFloat64(x)
		case string:
			if _, ok := r.SetString(x); !ok {
				return nil, atIndex(malformed("Fraction of string %q", x), 0)
			}
		default:
			return nil, atIndex(malformed("Fraction wants a number, got %s", describe(x)), 0)
		}
		return &Fraction{Rat: *r}, nil
	case 2:
		var nd [2]*big.Int
		for i, a := range args {
			switch x := a.(type) {
			case int64:
				nd[i] = big.NewInt(x)
			case *big.Int:
				nd[i] = x
			default:
				return nil, atIndex(malformed("Fraction wants [numerator, denominator] integers, got %s", describe(a)), i)
			}
		}
		if nd[1].Sign() == 0 {
			return nil, atIndex(malformed("Fraction with zero denominator"), 1)
		}
		f := new(Fraction)
		f.SetFrac(nd[0], nd[1])
		return f, nil
	}
	return nil, malformed("Fraction wants [numerator, denominator], got %d arguments", len(args))
}

func decodeSlice(args []any) (any, error) {
	for i, a := range args {
		switch a.(type) {
		case nil, int64, *big.Int:
		default:
			// Python allows any object in a slice; only integers and None
			// mean anything to a sequence, and only they are hashable there.
			if !hashable(a) {
				return nil, atIndex(malformed("slice bound: unhashable %s", describe(a)), i)
			}
		}
	}
	switch len(args) {
	case 1:
		return Slice{Stop: args[0]}, nil
	case 2:
		return Slice{Start: args[0], Stop: args[1]}, nil
	case 3:
		return Slice{Start: args[0], Stop: args[1], Step: args[2]}, nil
	}
	return nil, malformed("slice wants [start, stop, step], got %d arguments", len(args))
}

func decodeNDArray(args []any) (any, error) {
	if len(args) != 3 {
		return nil, malformed("nparray wants [shape, dtype, data], got %d arguments", len(args))
	}
	sl, ok := args[0].([]any)
	if !ok {
		return nil, atIndex(malformed("nparray shape must be a list, got %s", describe(args[0])), 0)
	}
	shape := make([]int, len(sl))
	for i, d := range sl {
		n, ok := d.(int64)
		if !ok || n < 0 || n > math.MaxInt32 {
			return nil, atIndex(atIndex(malformed("nparray dimension must be a non-negative integer, got %s", describe(d)), i), 0)
		}
		shape[i] = int(n)
	}
	dt, ok := args[1].(string)
	if !ok {
		return nil, atIndex(malformed("nparray dtype must be a string, got %s", describe(args[1])), 1)
	}
	data, err := base64Arg("nparray", args[2])
	if err != nil {
		return nil, atIndex(err, 2)
	}
	a := NDArray{Shape: shape, DType: dt, Data: data}
	if err := a.wellFormed(); err != nil { // the decoder applies its element limit
		return nil, err
	}
	return a, nil
}

func decodeNPScalar(args []any) (any, error) {
	if len(args) != 2 {
		return nil, malformed("npscalar wants [dtype, data], got %d arguments", len(args))
	}
	dt, ok := args[0].(string)
	if !ok {
		return nil, atIndex(malformed("npscalar dtype must be a string, got %s", describe(args[0])), 0)
	}
	data, err := base64Arg("npscalar", args[1])
	if err != nil {
		return nil, atIndex(err, 1)
	}
	s := NPScalar{DType: dt, Data: data}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// hashable reports whether Python could use v as a dict key or set item.
func hashable(v any) bool {
	switch x := v.(type) {
	case nil, bool, int64, uint64, *big.Int, float64, string, []byte, complex128,
		*Fraction, Fraction, NPScalar, Slice:
		return true
	case Tuple:
		for _, e := range x {
			if !hashable(e) {
				return false
			}
		}
		return true
	case Set:
		return x.Frozen
	}
	return false
}
