package pyon

import (
	"encoding"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Convert stores the decoded PYON value v into *dst, converting it to
// dst's type with the same rules as sigoco's native RPC arguments:
//
//   - any interface dst that v satisfies takes v as is;
//   - bool ← bool; integers ← int (range-checked) or an integral float;
//     floats ← float or int; complex ← complex, float or int; string ←
//     string; numpy scalars convert to their value first;
//   - slices and arrays ← list, tuple or set, element by element, or a
//     numpy array (1-D to []T, 2-D to [][]T, ...); []byte ← bytes;
//   - maps ← dict (any key type the keys convert to);
//   - structs ← dict with string keys, matched to fields by wire name
//     (pyon or json tag, else snake_case), or by Go name; an unknown key
//     is an error, a missing one leaves the field as it is;
//   - pointers ← None (nil) or the value for their element;
//   - Tuple, Set, Dict, OrderedDict, NDArray, NPScalar, *Fraction,
//     *big.Int, *big.Rat ← the matching value or an obvious equivalent
//     (a list into a Tuple or an NDArray, an int into a *big.Int, ...);
//   - types implementing encoding.TextUnmarshaler ← string.
//
// Go values other than PYON's (int8, []string, map[any]any as msgpack
// decodes them) are accepted too. Errors are *ConvertError, e.g.
// `cannot use string "x" as float64`.
func Convert(v any, dst any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("pyon: Convert needs a non-nil pointer, got %T", dst)
	}
	return DecodeInto(v, rv.Elem())
}

// DecodeInto is Convert for a settable reflect.Value, for callers (such as
// an RPC server) that hold parameter types rather than pointers.
func DecodeInto(v any, dst reflect.Value) error {
	if !dst.CanSet() {
		return fmt.Errorf("pyon: DecodeInto needs a settable value of type %s", dst.Type())
	}
	return convert(v, dst, 0)
}

var (
	ndarrayType  = reflect.TypeFor[NDArray]()
	npscalarType = reflect.TypeFor[NPScalar]()
	fractionType = reflect.TypeFor[Fraction]()
	tupleType    = reflect.TypeFor[Tuple]()
	setType      = reflect.TypeFor[Set]()
	dictType     = reflect.TypeFor[Dict]()
	odictType    = reflect.TypeFor[OrderedDict]()
	textUnmType  = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func cerr(v any, t reflect.Type, reason string, args ...any) *ConvertError {
	return &ConvertError{Value: describe(v), Type: t, Reason: fmt.Sprintf(reason, args...)}
}

// prefix adds a path segment while an error unwinds.
func prefix(err error, seg string) error {
	if ce, ok := err.(*ConvertError); ok {
		ce.Path = seg + ce.Path
	}
	return err
}

func convert(v any, dst reflect.Value, depth int) error {
	t := dst.Type()
	if depth > maxDepth {
		return cerr(v, t, "nested too deeply")
	}
	if v != nil {
		if vt := reflect.TypeOf(v); vt.AssignableTo(t) {
			dst.Set(reflect.ValueOf(v))
			return nil
		}
		v = normalize(v) // a typed nil pointer becomes nil here
	}
	if v == nil {
		switch t.Kind() {
		case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map:
			dst.SetZero()
			return nil
		}
		return cerr(v, t, "")
	}
	if s, ok := v.(NPScalar); ok && t != npscalarType {
		sv, err := s.Value()
		if err != nil {
			return cerr(v, t, "%v", err)
		}
		v = sv
	}
	if done, err := convertSpecial(v, dst); done {
		return err
	}
	switch t.Kind() {
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		if err := convert(v, p.Elem(), depth+1); err != nil {
			return err
		}
		dst.Set(p)
		return nil
	case reflect.Bool:
		if b, ok := v.(bool); ok {
			dst.SetBool(b)
			return nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, ok, reason := toInt64(v)
		if ok && dst.OverflowInt(i) {
			return cerr(v, t, "out of range")
		}
		if ok {
			dst.SetInt(i)
			return nil
		}
		return cerr(v, t, "%s", reason)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u, ok, reason := toUint64(v)
		if ok && dst.OverflowUint(u) {
			return cerr(v, t, "out of range")
		}
		if ok {
			dst.SetUint(u)
			return nil
		}
		return cerr(v, t, "%s", reason)
	case reflect.Float32, reflect.Float64:
		if f, ok := realOf(v); ok {
			if dst.OverflowFloat(f) {
				return cerr(v, t, "out of range")
			}
			dst.SetFloat(f)
			return nil
		}
	case reflect.Complex64, reflect.Complex128:
		c, ok := v.(complex128)
		if !ok {
			var f float64
			f, ok = realOf(v)
			c = complex(f, 0)
		}
		if ok {
			dst.SetComplex(c)
			return nil
		}
	case reflect.String:
		if s, ok := v.(string); ok {
			dst.SetString(s)
			return nil
		}
	case reflect.Slice, reflect.Array:
		return convertSequence(v, dst, depth)
	case reflect.Map:
		return convertMap(v, dst, depth)
	case reflect.Struct:
		return convertStruct(v, dst, depth)
	}
	return cerr(v, t, "")
}

// normalize maps Go values of other types to the ones Decode produces.
func normalize(v any) any {
	switch v.(type) {
	case bool, int64, uint64, float64, string, complex128:
		return v
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Bool:
		return rv.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return rv.Uint()
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	case reflect.Complex64, reflect.Complex128:
		return rv.Complex()
	case reflect.String:
		return rv.String()
	case reflect.Pointer:
		switch v.(type) {
		case *Fraction, *big.Int, *big.Rat:
			return v
		}
		if rv.IsNil() {
			return nil
		}
		return normalize(rv.Elem().Interface())
	}
	if f, ok := v.(Fraction); ok {
		return &f
	}
	return v
}

func toInt64(v any) (int64, bool, string) {
	switch x := v.(type) {
	case int64:
		return x, true, ""
	case uint64:
		if x > math.MaxInt64 {
			return 0, false, "out of range"
		}
		return int64(x), true, ""
	case *big.Int:
		if !x.IsInt64() {
			return 0, false, "out of range"
		}
		return x.Int64(), true, ""
	case float64:
		if x != math.Trunc(x) || math.IsInf(x, 0) {
			return 0, false, "not an integer"
		}
		if x < -(1<<63) || x >= 1<<63 {
			return 0, false, "out of range"
		}
		return int64(x), true, ""
	}
	return 0, false, ""
}

func toUint64(v any) (uint64, bool, string) {
	switch x := v.(type) {
	case uint64:
		return x, true, ""
	case *big.Int:
		if !x.IsUint64() {
			return 0, false, "out of range"
		}
		return x.Uint64(), true, ""
	case float64:
		if x >= 0 && x < 1<<64 {
			if x != math.Trunc(x) {
				return 0, false, "not an integer"
			}
			return uint64(x), true, ""
		}
	}
	i, ok, reason := toInt64(v)
	if ok && i < 0 {
		return 0, false, "negative"
	}
	return uint64(i), ok, reason
}

func realOf(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, true
	case *Fraction:
		f, _ := x.Float64()
		return f, true
	}
	return 0, false
}

// seqItems gives the elements of a list, tuple, set or other Go sequence.
func seqItems(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case Tuple:
		return x, true
	case Set:
		return x.Items, true
	case string, []byte:
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

// mapItems gives the pairs of a dict in a stable order.
func mapItems(v any) ([]Item, bool) {
	switch x := v.(type) {
	case Dict:
		return x, true
	case OrderedDict:
		return x, true
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		items := make([]Item, len(keys))
		for i, k := range keys {
			items[i] = Item{k, x[k]}
		}
		return items, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map {
		return nil, false
	}
	items := make([]Item, 0, rv.Len())
	it := rv.MapRange()
	for it.Next() {
		items = append(items, Item{it.Key().Interface(), it.Value().Interface()})
	}
	slices.SortFunc(items, func(a, b Item) int { return strings.Compare(fmt.Sprint(a.Key), fmt.Sprint(b.Key)) })
	return items, true
}

func convertSequence(v any, dst reflect.Value, depth int) error {
	t := dst.Type()
	if b, ok := v.([]byte); ok && t.Elem().Kind() == reflect.Uint8 {
		if t.Kind() == reflect.Slice {
			dst.SetBytes(slices.Clone(b))
			return nil
		}
		if len(b) != t.Len() {
			return cerr(v, t, "wants %d bytes", t.Len())
		}
		reflect.Copy(dst, reflect.ValueOf(b))
		return nil
	}
	if a, ok := v.(NDArray); ok {
		return convertNDArray(a, dst, depth)
	}
	items, ok := seqItems(v)
	if !ok {
		return cerr(v, t, "")
	}
	if t.Kind() == reflect.Array {
		if len(items) != t.Len() {
			return cerr(v, t, "wants %d elements", t.Len())
		}
	} else {
		dst.Set(reflect.MakeSlice(t, len(items), len(items)))
	}
	for i, x := range items {
		if err := convert(x, dst.Index(i), depth+1); err != nil {
			return prefix(err, "["+strconv.Itoa(i)+"]")
		}
	}
	return nil
}

func convertNDArray(a NDArray, dst reflect.Value, depth int) error {
	var (
		out any
		err error
	)
	switch dst.Type() {
	case reflect.TypeFor[[]float64]():
		out, err = oneD(a, a.Float64s)
	case reflect.TypeFor[[]int64]():
		out, err = oneD(a, a.Int64s)
	case reflect.TypeFor[[]int32]():
		out, err = oneD(a, a.Int32s)
	case reflect.TypeFor[[]bool]():
		out, err = oneD(a, a.Bools)
	case reflect.TypeFor[[]complex128]():
		out, err = oneD(a, a.Complex128s)
	case reflect.TypeFor[[][]float64]():
		out, err = a.Float64s2D()
	default:
		l, err := a.ToList()
		if err != nil {
			return cerr(a, dst.Type(), "%v", err)
		}
		if _, ok := l.([]any); !ok {
			return cerr(a, dst.Type(), "a 0-d array is not a sequence")
		}
		return convert(l, dst, depth)
	}
	if err != nil {
		return cerr(a, dst.Type(), "%v", err)
	}
	dst.Set(reflect.ValueOf(out))
	return nil
}

func oneD[T any](a NDArray, f func() ([]T, error)) ([]T, error) {
	if len(a.Shape) != 1 {
		return nil, fmt.Errorf("a %d-D array is not a 1-D sequence", len(a.Shape))
	}
	return f()
}

func convertMap(v any, dst reflect.Value, depth int) error {
	t := dst.Type()
	items, ok := mapItems(v)
	if !ok {
		return cerr(v, t, "")
	}
	m := reflect.MakeMapWithSize(t, len(items))
	for _, it := range items {
		k := reflect.New(t.Key()).Elem()
		if err := convert(it.Key, k, depth+1); err != nil {
			return prefix(err, "[key "+describe(normalize(it.Key))+"]")
		}
		e := reflect.New(t.Elem()).Elem()
		if err := convert(it.Value, e, depth+1); err != nil {
			return prefix(err, "["+keyPath(it.Key)+"]")
		}
		m.SetMapIndex(k, e)
	}
	dst.Set(m)
	return nil
}

func keyPath(k any) string {
	if s, ok := k.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(k)
}

func convertStruct(v any, dst reflect.Value, depth int) error {
	t := dst.Type()
	items, ok := mapItems(v)
	if !ok {
		return cerr(v, t, "")
	}
	fields := structFields(t)
	for _, it := range items {
		name, ok := it.Key.(string)
		if !ok {
			return cerr(v, t, "key %s is not a string", describe(it.Key))
		}
		f := findField(fields, name)
		if f == nil {
			return cerr(v, t, "unknown field %q", name)
		}
		fv, ok := fieldForSet(dst, f.index)
		if !ok {
			return cerr(v, t, "field %q is unreachable", name)
		}
		if err := convert(it.Value, fv, depth+1); err != nil {
			return prefix(err, "."+name)
		}
	}
	return nil
}

func findField(fields []field, name string) *field {
	for i := range fields {
		if fields[i].name == name {
			return &fields[i]
		}
	}
	for i := range fields {
		if fields[i].goName == name || SnakeCase(fields[i].goName) == name {
			return &fields[i]
		}
	}
	return nil
}
