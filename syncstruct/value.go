package syncstruct

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"

	"github.com/sigoco/sigoco/pyon"
)

// Normalize returns a deep copy of v in the normal form every tree is kept
// in, so that a publisher's tree and its replicas compare equal with Equal
// after any number of encodings:
//
//   - nil, bool, string, []byte, float64 (float32 widened), complex128;
//   - int64 for every Go integer type (uint64 only above math.MaxInt64,
//     *big.Int only outside the 64-bit range);
//   - []any for lists, map[string]any for dicts whose keys are all strings,
//     pyon.Dict for dicts with at least one other key (int, float, bool,
//     nil, bytes, pyon.Tuple ...);
//   - the PYON types pyon.Tuple, pyon.Set, pyon.OrderedDict, pyon.Fraction,
//     pyon.Slice, pyon.NDArray and pyon.NPScalar, kept as they are (their
//     contents normalized).
//
// pyon's one normalizer (pyon.NormalizeWith) walks every value, so any Go
// value it takes (a struct, []string, map[int]float64, ...) arrives in the
// form above: a struct as a map[string]any keyed by pyon's one struct-key
// rule (pyon, json, msgpack tag, else snake_case: OmegaRate is
// "omega_rate"). The tree's own rules are applied to the dicts and sets it
// builds: keys hashable (else ErrBadKey), a repeated key merged. A value
// it cannot convert returns an error wrapping ErrUnsupportedValue.
func Normalize(v any) (any, error) {
	return normalize(v, 0)
}

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 1000

// normalize is Normalize for a value held depth levels deep in a tree:
// pyon's one normalizer walks it, and treeKeyed brings the dicts and sets
// it builds to the tree's form.
func normalize(v any, depth int) (any, error) {
	switch v.(type) {
	case nil, bool, string, float64, int64:
		return v, nil
	}
	if depth >= maxDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d", ErrUnsupportedValue, maxDepth)
	}
	n, err := pyon.NormalizeWith(v, pyon.NormalizeOptions{MaxDepth: maxDepth - depth, Keyed: treeKeyed})
	switch {
	case errors.Is(err, ErrBadKey):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("%w: %T: %v", ErrUnsupportedValue, v, err)
	}
	return n, nil
}

// treeKeyed gives a dict or set its tree form: keys and set items
// hashable, a repeated key merged (the last one wins, as in Python), a
// dict whose keys are all strings as a map[string]any.
func treeKeyed(v any) (any, error) {
	switch x := v.(type) {
	case pyon.Set:
		for _, it := range x.Items {
			if !isKey(it) {
				return nil, fmt.Errorf("%w: set element of type %T", ErrBadKey, it)
			}
		}
		return x, nil
	case pyon.Dict:
		items, err := mergeKeys(x)
		if err != nil {
			return nil, err
		}
		return dictOf(items), nil
	case pyon.OrderedDict:
		items, err := mergeKeys(pyon.Dict(x))
		return pyon.OrderedDict(items), err
	}
	return v, nil
}

func normBig(x *big.Int) any {
	if x.IsInt64() {
		return x.Int64()
	}
	if x.IsUint64() {
		return x.Uint64()
	}
	return new(big.Int).Set(x)
}

func mergeKeys(d pyon.Dict) (pyon.Dict, error) {
	out := make(pyon.Dict, 0, len(d))
	for _, it := range d {
		if !isKey(it.Key) {
			return nil, fmt.Errorf("%w: dict key of type %T", ErrBadKey, it.Key)
		}
		if i := dictIndex(out, it.Key); i >= 0 {
			out[i].Value = it.Value // a repeated key: the last one wins, as in Python
			continue
		}
		out = append(out, it)
	}
	return out, nil
}

// dictOf returns items as a map[string]any when every key is a string, else
// as a pyon.Dict: the normal form of a dict.
func dictOf(items pyon.Dict) any {
	for _, it := range items {
		if _, ok := it.Key.(string); !ok {
			return items
		}
	}
	m := make(map[string]any, len(items))
	for _, it := range items {
		m[it.Key.(string)] = it.Value
	}
	return m
}

// dictFromMap turns a string-keyed map into a pyon.Dict (keys sorted, so
// the result does not depend on map iteration order).
func dictFromMap(m map[string]any, extra int) pyon.Dict {
	keys := sortedKeys(m)
	d := make(pyon.Dict, 0, len(m)+extra)
	for _, k := range keys {
		d = append(d, pyon.Item{Key: k, Value: m[k]})
	}
	return d
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// isKey reports whether a normalized value may be a dict key: what Python
// can hash among the normal-form types.
func isKey(v any) bool {
	switch x := v.(type) {
	case nil, bool, int64, uint64, float64, string, []byte, complex128, *big.Int, pyon.Fraction:
		return true
	case pyon.NPScalar:
		return x.Validate() == nil
	case pyon.Tuple:
		for _, e := range x {
			if !isKey(e) {
				return false
			}
		}
		return true
	case pyon.Set:
		return x.Frozen
	}
	return false
}

// isIndexKey reports whether k may be the key of a setitem or delitem: a
// dict key, a slice (of a list or numpy array), or a tuple of integers
// and slices (a numpy index).
func isIndexKey(k any) bool {
	switch x := k.(type) {
	case pyon.Slice:
		return true
	case pyon.Tuple:
		for _, e := range x {
			if _, ok := e.(pyon.Slice); !ok && !isKey(e) {
				return false
			}
		}
		return true
	}
	return isKey(k)
}

// dictIndex returns the index of key k in d, or -1.
func dictIndex(d []pyon.Item, k any) int {
	for i := range d {
		if keyEqual(d[i].Key, k) {
			return i
		}
	}
	return -1
}

// Equal reports whether two normalized trees are equal: same types and
// values, dicts and sets compared without regard to order, NaN equal to
// NaN (so a replica of a tree holding NaN still equals it).
func Equal(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case int64:
		y, ok := b.(int64)
		return ok && x == y
	case uint64:
		y, ok := b.(uint64)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || (x != x && y != y))
	case complex128:
		// Each part compared as a float64 is (NaN equal to NaN), as
		// replicas compare (the browser's replica too).
		y, ok := b.(complex128)
		return ok && Equal(real(x), real(y)) && Equal(imag(x), imag(y))
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case *big.Int:
		y, ok := b.(*big.Int)
		return ok && x.Cmp(y) == 0
	case []any:
		y, ok := b.([]any)
		return ok && equalList(x, y)
	case pyon.Tuple:
		y, ok := b.(pyon.Tuple)
		return ok && equalList(x, y)
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !Equal(v, w) {
				return false
			}
		}
		return true
	case pyon.Dict:
		y, ok := b.(pyon.Dict)
		if !ok || len(x) != len(y) {
			return false
		}
		for _, it := range x {
			i := dictIndex(y, it.Key)
			if i < 0 || !Equal(it.Value, y[i].Value) {
				return false
			}
		}
		return true
	case pyon.OrderedDict:
		y, ok := b.(pyon.OrderedDict)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i].Key, y[i].Key) || !Equal(x[i].Value, y[i].Value) {
				return false
			}
		}
		return true
	case pyon.Set:
		y, ok := b.(pyon.Set)
		if !ok || x.Frozen != y.Frozen || len(x.Items) != len(y.Items) {
			return false
		}
		for _, e := range x.Items {
			found := false
			for _, f := range y.Items {
				if Equal(e, f) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	case pyon.Fraction:
		y, ok := b.(pyon.Fraction)
		return ok && x.Cmp(&y.Rat) == 0
	case pyon.Slice:
		y, ok := b.(pyon.Slice)
		return ok && Equal(x.Start, y.Start) && Equal(x.Stop, y.Stop) && Equal(x.Step, y.Step)
	case pyon.NDArray:
		y, ok := b.(pyon.NDArray)
		if !ok || x.DType != y.DType || len(x.Shape) != len(y.Shape) || !bytes.Equal(x.Data, y.Data) {
			return false
		}
		for i := range x.Shape {
			if x.Shape[i] != y.Shape[i] {
				return false
			}
		}
		return true
	case pyon.NPScalar:
		y, ok := b.(pyon.NPScalar)
		return ok && x.DType == y.DType && bytes.Equal(x.Data, y.Data)
	}
	return false
}

func equalList(x, y []any) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if !Equal(x[i], y[i]) {
			return false
		}
	}
	return true
}

// Copy returns a deep copy of a normalized tree. Immutable leaves (strings,
// numbers, big numbers) are shared.
func Copy(v any) any {
	switch x := v.(type) {
	case []byte:
		return bytes.Clone(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Copy(e)
		}
		return out
	case pyon.Tuple:
		return pyon.Tuple(Copy([]any(x)).([]any))
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Copy(e)
		}
		return out
	case pyon.Dict:
		return pyon.Dict(copyItems(x))
	case pyon.OrderedDict:
		return pyon.OrderedDict(copyItems(pyon.Dict(x)))
	case pyon.Set:
		return pyon.Set{Items: Copy(x.Items).([]any), Frozen: x.Frozen}
	case pyon.Slice:
		return pyon.Slice{Start: Copy(x.Start), Stop: Copy(x.Stop), Step: Copy(x.Step)}
	case pyon.NDArray:
		return pyon.NDArray{Shape: append([]int{}, x.Shape...), DType: x.DType, Data: bytes.Clone(x.Data)}
	case pyon.NPScalar:
		return pyon.NPScalar{DType: x.DType, Data: bytes.Clone(x.Data)}
	}
	return v
}

func copyItems(d pyon.Dict) pyon.Dict {
	out := make(pyon.Dict, len(d))
	for i, it := range d {
		out[i] = pyon.Item{Key: Copy(it.Key), Value: Copy(it.Value)}
	}
	return out
}

// toIndex converts a path element or key to an int when Python can use it
// as a list index: an integer, a bool, or a numpy integer scalar.
func toIndex(v any) (int, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case pyon.NPScalar:
		if len(x.DType) < 2 || (x.DType[1] != 'i' && x.DType[1] != 'u') {
			return 0, false
		}
		e, err := x.Value()
		if err != nil {
			return 0, false
		}
		return toIndex(e)
	case int64:
		return int(x), true
	case int:
		return x, true
	case int32:
		return int(x), true
	case int16:
		return int(x), true
	case int8:
		return int(x), true
	case uint64:
		if x <= math.MaxInt32 {
			return int(x), true
		}
	case uint32:
		return int(x), true
	case uint16:
		return int(x), true
	case uint8:
		return int(x), true
	case uint:
		if x <= math.MaxInt32 {
			return int(x), true
		}
	}
	return 0, false
}
