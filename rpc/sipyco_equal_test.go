package rpc

import (
	"bytes"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/pyon"
)

// sipycoEqual compares decoded PYON values as the recording's README
// says a replay must: floats by value (NaN equal to NaN, -0.0 apart from
// 0.0, never equal to an int), ints by value, sets and plain dicts
// without order, Dict pairs as a map, OrderedDict in order, arrays by
// dtype, shape and bytes.
func sipycoEqual(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (x == y && math.Signbit(x) == math.Signbit(y) || math.IsNaN(x) && math.IsNaN(y))
	case complex128:
		y, ok := b.(complex128)
		return ok && sipycoEqual(real(x), real(y)) && sipycoEqual(imag(x), imag(y))
	case int64:
		switch y := b.(type) {
		case int64:
			return x == y
		case *big.Int:
			return y.IsInt64() && y.Int64() == x
		}
		return false
	case *big.Int:
		switch y := b.(type) {
		case int64:
			return x.IsInt64() && x.Int64() == y
		case *big.Int:
			return x.Cmp(y) == 0
		}
		return false
	case *pyon.Fraction:
		y, ok := b.(*pyon.Fraction)
		return ok && x.Cmp(&y.Rat) == 0
	case []any:
		y, ok := b.([]any)
		return ok && sipycoEqualSeq(x, y)
	case pyon.Tuple:
		y, ok := b.(pyon.Tuple)
		return ok && sipycoEqualSeq(x, y)
	case pyon.Set:
		y, ok := b.(pyon.Set)
		return ok && sipycoEqualBag(x.Items, y.Items)
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || !sipycoEqual(v, w) {
				return false
			}
		}
		return true
	case pyon.Dict:
		y, ok := b.(pyon.Dict)
		if !ok || len(x) != len(y) {
			return false
		}
		xs, ys := make([]any, len(x)), make([]any, len(y))
		for i := range x {
			xs[i], ys[i] = pyon.Tuple{x[i].Key, x[i].Value}, pyon.Tuple{y[i].Key, y[i].Value}
		}
		return sipycoEqualBag(xs, ys)
	case pyon.OrderedDict:
		y, ok := b.(pyon.OrderedDict)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sipycoEqual(x[i].Key, y[i].Key) || !sipycoEqual(x[i].Value, y[i].Value) {
				return false
			}
		}
		return true
	case pyon.NDArray:
		y, ok := b.(pyon.NDArray)
		return ok && x.DType == y.DType && slices.Equal(x.Shape, y.Shape) && bytes.Equal(x.Data, y.Data)
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	}
	return reflect.DeepEqual(a, b)
}

func sipycoEqualSeq(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sipycoEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

// sipycoEqualBag compares without order.
func sipycoEqualBag(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	used := make([]bool, len(b))
next:
	for _, x := range a {
		for j, y := range b {
			if !used[j] && sipycoEqual(x, y) {
				used[j] = true
				continue next
			}
		}
		return false
	}
	return true
}

func decodeLine(t testing.TB, s string) any {
	t.Helper()
	v, err := pyon.DecodeString(s)
	if err != nil {
		t.Fatalf("%.200s: %v", s, err)
	}
	return v
}

// failedClass says what a "failed:Class" spelling names.
func failedClass(s string) (string, bool) { return strings.CutPrefix(s, "failed:") }
