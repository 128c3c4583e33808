package pyon

import (
	"math"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// NormalizeOptions changes what Normalize gives; the zero value gives the
// value model exactly as a decoder gives it back.
type NormalizeOptions struct {
	// Packed keeps Go slices and arrays of integers as []int64 and of
	// floats as []float64 instead of []any, which AppendMsgpack sends
	// packed (ExtPackedInt64, ExtPackedFloat64) without boxing every
	// element. They still decode as lists.
	Packed bool

	// NilAsEmpty gives nil slices and maps (other than []any and
	// map[string]any, which are always empty ones) as an empty list and
	// dict, as Encode's PYON text writes them, instead of nil as on the
	// native wire: Normalize then gives what Decode(Encode(v)) gives.
	NilAsEmpty bool

	// MaxDepth, when positive, bounds nesting below pyon's own bound
	// (ErrTooDeep beyond it), for callers that hold v deeper in a tree.
	MaxDepth int

	// Keyed, when set, is given every pyon.Dict, pyon.OrderedDict and
	// pyon.Set Normalize builds, their keys, values and items already
	// normalized, and returns what to keep in its place; an error stops
	// Normalize. syncstruct's tree form uses it to merge repeated keys,
	// refuse unhashable ones and keep string-keyed dicts as maps.
	Keyed func(v any) (any, error)
}

// Normalize returns a deep copy of any Go value in the value model, the
// form every sigoco wire carries and a decoder gives back:
//
//   - nil, bool, string, float64 (float32 widened), complex128, []byte
//     (also for [N]byte; a nil []byte as empty bytes);
//   - int64 for every Go integer type (uint64 only above math.MaxInt64; a
//     *big.Int as int64 or uint64 when it fits, else a *big.Int copy);
//   - []any for other slices and arrays; nil for nil slices and maps, as
//     on the native wire (Encode writes a nil slice as []);
//   - map[string]any for maps with string keys, pyon.Dict (sorted by key)
//     for other keys, where a Go array key becomes a pyon.Tuple;
//   - map[string]any for structs: the exported fields, each keyed by the
//     struct-key rule (below), embedded structs flattened, "omitempty"
//     fields left out when zero;
//   - the pyon types as they are (a copy, their contents normalized),
//     *big.Rat and big.Rat as a Fraction; pointers and interfaces are
//     followed (nil is nil).
//
// The struct-key rule, the one every sigoco wire uses (native rpc, SiPyCo
// pc_rpc, sync in msgpack and JSON, logs, memo, the dashboard, Convert):
// the `pyon:"name"` tag, else the `json:"name"` tag, else the
// `msgpack:"name"` tag, else the field name in snake_case (OmegaRate →
// omega_rate, see SnakeCase). "-" leaves a field out, ",omitempty" leaves
// it out when zero. Convert also accepts the Go field name.
//
// Normalize reads v through reflection only and never calls its methods,
// so it neither keeps nor lets escape what the caller passed (a number
// passed to it as any is not allocated). It therefore refuses, with an
// error wrapping ErrUnsupported, values whose form their methods define: a
// struct implementing encoding.TextMarshaler, error or msgpack.CustomEncoder
// (time.Time, for one: pass t.Unix() or t.Format(...)), as well as channels,
// functions and unsafe pointers. Errors are *EncodeError with the path of
// the offending value; nesting is bounded (ErrTooDeep).
//
// This walker is the only one in sigoco that reads Go values by
// reflection: AppendMsgpack/EncodeMsgpackValue write what it builds, and
// Encode's PYON text takes what it reads as it reads it (valueSink).
func Normalize(v any) (any, error) { return NormalizeWith(v, NormalizeOptions{}) }

// NormalizeWith is Normalize with options.
func NormalizeWith(v any, opts NormalizeOptions) (any, error) {
	switch x := v.(type) { // the common scalars, re-boxed: v itself never escapes
	case nil:
		return nil, nil
	case bool:
		return x, nil
	case string:
		return x, nil
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case float64:
		return x, nil
	}
	n := normalizer{NormalizeOptions: opts}
	out, err := n.value(reflect.ValueOf(v), 0)
	if err != nil {
		path, err := splitPath(err)
		return nil, &EncodeError{Path: path, Err: err}
	}
	return out, nil
}

type normalizer struct {
	NormalizeOptions

	// sink, when set, is given the value as it is read instead of a
	// built copy (value then returns nil): an encoder writes it without
	// the copy. The pyon and big types, and dicts with other keys than
	// strings, are built and handed over whole (sink.built).
	sink valueSink
}

// valueSink takes a Go value from the walker, in the value model, as it
// reads it: scalars, then lists and string-keyed dicts as an open, their
// elements (each dict value after its key) and a close.
type valueSink interface {
	null()
	boolean(bool)
	integer(int64)
	unsigned(uint64) // above math.MaxInt64
	float(f float64, bits int)
	complex(c complex128, bits int)
	str(string)
	bytes([]byte)
	built(v any) error
	openList(n int)
	openDict()
	key(k string) error
	close(list bool) error
}

var (
	sliceType         = reflect.TypeFor[Slice]()
	customEncoderType = reflect.TypeFor[msgpack.CustomEncoder]()
	marshalerType     = reflect.TypeFor[msgpack.Marshaler]()
	anySliceType      = reflect.TypeFor[[]any]()
	anyMapType        = reflect.TypeFor[map[string]any]()
)

// value normalizes rv. It only reads rv (never rv.Interface()), which is
// what keeps the caller's value from escaping; the pyon and big types are
// rebuilt from their fields.
func (n normalizer) value(rv reflect.Value, depth int) (any, error) {
	if depth > maxDepth || (n.MaxDepth > 0 && depth > n.MaxDepth) {
		return nil, ErrTooDeep
	}
	if !rv.IsValid() {
		if n.sink != nil {
			n.sink.null()
		}
		return nil, nil
	}
	t := rv.Type()
	if k := t.Kind(); k != reflect.Slice && k != reflect.Struct {
		return n.kind(rv, t, depth) // not a pyon or big type: skip comparing types
	}
	if n.sink != nil {
		switch t {
		case tupleType, setType, dictType, odictType, sliceType, ndarrayType, npscalarType, fractionType, bigRatType, bigIntType:
			return nil, n.buildFor(rv, depth)
		}
	}
	switch t {
	case tupleType:
		l, err := n.list(rv, depth)
		return Tuple(l), err
	case setType:
		items, err := n.list(rv.Field(0), depth)
		if err != nil {
			return nil, err
		}
		return n.keyed(Set{Items: items, Frozen: rv.Field(1).Bool()})
	case dictType, odictType:
		items := make([]Item, rv.Len())
		for i := range items {
			k, err := n.value(rv.Index(i).Field(0), depth+1)
			if err != nil {
				return nil, atIndex(err, i)
			}
			v, err := n.value(rv.Index(i).Field(1), depth+1)
			if err != nil {
				return nil, atIndex(err, i)
			}
			items[i] = Item{Key: k, Value: v}
		}
		if t == dictType {
			return n.keyed(Dict(items))
		}
		return n.keyed(OrderedDict(items))
	case sliceType:
		var parts [3]any
		for i := range parts {
			x, err := n.value(rv.Field(i), depth+1)
			if err != nil {
				return nil, atIndex(err, i)
			}
			parts[i] = x
		}
		return Slice{Start: parts[0], Stop: parts[1], Step: parts[2]}, nil
	case ndarrayType:
		shape := make([]int, rv.Field(0).Len())
		for i := range shape {
			shape[i] = int(rv.Field(0).Index(i).Int())
		}
		return NDArray{Shape: shape, DType: rv.Field(1).String(), Data: copyBytes(rv.Field(2))}, nil
	case npscalarType:
		return NPScalar{DType: rv.Field(0).String(), Data: copyBytes(rv.Field(1))}, nil
	case fractionType:
		return fractionOf(rv.Field(0))
	case bigRatType:
		return fractionOf(rv)
	case bigIntType:
		b, err := bigFields(rv)
		if err != nil {
			return nil, err
		}
		return normBig(b), nil
	}
	return n.kind(rv, t, depth)
}

// kind normalizes rv by its kind, once it is known not to be a pyon or big
// type.
func (n normalizer) kind(rv reflect.Value, t reflect.Type, depth int) (any, error) {
	switch k := t.Kind(); k {
	case reflect.Bool:
		if n.sink != nil {
			n.sink.boolean(rv.Bool())
			return nil, nil
		}
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n.sink != nil {
			n.sink.integer(rv.Int())
			return nil, nil
		}
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		switch {
		case n.sink != nil && u > math.MaxInt64:
			n.sink.unsigned(u)
		case n.sink != nil:
			n.sink.integer(int64(u))
		case u > math.MaxInt64:
			return u, nil
		default:
			return int64(u), nil
		}
		return nil, nil
	case reflect.Float32, reflect.Float64:
		if n.sink != nil {
			n.sink.float(rv.Float(), t.Bits())
			return nil, nil
		}
		return rv.Float(), nil
	case reflect.Complex64, reflect.Complex128:
		if n.sink != nil {
			n.sink.complex(rv.Complex(), t.Bits()/2)
			return nil, nil
		}
		return rv.Complex(), nil
	case reflect.String:
		if n.sink != nil {
			n.sink.str(rv.String())
			return nil, nil
		}
		return rv.String(), nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			if n.sink != nil {
				n.sink.null()
			}
			return nil, nil
		}
		if k == reflect.Pointer {
			depth++ // a pointer can make a cycle; an interface (an element of []any) cannot
		}
		return n.value(rv.Elem(), depth)
	case reflect.Slice, reflect.Array:
		return n.sequence(rv, depth)
	case reflect.Map:
		return n.mapValue(rv, depth)
	case reflect.Struct:
		if err := ownForm(t); err != nil {
			return nil, err
		}
		return n.structValue(rv, depth)
	}
	return nil, unsupported("cannot normalize Go %s", t)
}

// buildFor builds rv with walk, as Normalize would, and hands the result
// to the sink whole.
func (n normalizer) buildFor(rv reflect.Value, depth int) error {
	b := n
	b.sink = nil
	var x any
	var err error
	if rv.Kind() == reflect.Map {
		x, err = b.mapValue(rv, depth)
	} else {
		x, err = b.value(rv, depth)
	}
	if err != nil {
		return err
	}
	return n.sink.built(x)
}

// ownForm refuses a type whose methods define its form, which Normalize
// does not call.
func ownForm(t reflect.Type) error {
	if _, plain := plainStructs.Load(t); plain {
		return nil
	}
	pt := reflect.PointerTo(t)
	for _, m := range []struct {
		it   reflect.Type
		name string
	}{{textMarshalerType, "MarshalText"}, {errorType, "Error"}, {customEncoderType, "EncodeMsgpack"}, {marshalerType, "MarshalMsgpack"}} {
		if t.Implements(m.it) || pt.Implements(m.it) {
			return unsupported("%s defines its own form (%s): pass a value of the model instead (a string, a number, a map)", t, m.name)
		}
	}
	plainStructs.Store(t, true)
	return nil
}

// plainStructs holds the struct types ownForm found without such methods.
var plainStructs sync.Map // reflect.Type → true

func (n normalizer) list(rv reflect.Value, depth int) ([]any, error) {
	if n.sink != nil {
		n.sink.openList(rv.Len())
		for i := range rv.Len() {
			if _, err := n.value(rv.Index(i), depth+1); err != nil {
				return nil, atIndex(err, i)
			}
		}
		return nil, n.sink.close(true)
	}
	out := make([]any, rv.Len())
	for i := range out {
		x, err := n.value(rv.Index(i), depth+1)
		if err != nil {
			return nil, atIndex(err, i)
		}
		out[i] = x
	}
	return out, nil
}

func (n normalizer) sequence(rv reflect.Value, depth int) (any, error) {
	ek := rv.Type().Elem().Kind()
	switch {
	case ek == reflect.Uint8 && n.sink != nil:
		n.sink.bytes(copyBytes(rv)) // a copy: rv.Bytes() would let the caller's value escape
		return nil, nil
	case ek == reflect.Uint8:
		return copyBytes(rv), nil
	case rv.Kind() == reflect.Slice && rv.IsNil() && !n.NilAsEmpty && rv.Type() != anySliceType:
		if n.sink != nil {
			n.sink.null()
		}
		return nil, nil // a nil []any is an empty list, as AppendMsgpack writes it
	case n.Packed && n.sink == nil && ek >= reflect.Int && ek <= reflect.Int64:
		out := make([]int64, rv.Len())
		for i := range out {
			out[i] = rv.Index(i).Int()
		}
		return out, nil
	case n.Packed && n.sink == nil && (ek == reflect.Float32 || ek == reflect.Float64):
		out := make([]float64, rv.Len())
		for i := range out {
			out[i] = rv.Index(i).Float()
		}
		return out, nil
	}
	return n.list(rv, depth)
}

func (n normalizer) mapValue(rv reflect.Value, depth int) (any, error) {
	if rv.IsNil() && !n.NilAsEmpty && rv.Type() != anyMapType {
		if n.sink != nil {
			n.sink.null()
		}
		return nil, nil // a nil map[string]any is an empty dict, as AppendMsgpack writes it
	}
	stringKeys := rv.Type().Key().Kind() == reflect.String
	if n.sink != nil && !stringKeys {
		return nil, n.buildFor(rv, depth)
	}
	keys := rv.MapKeys() // not MapRange: its iterator would keep rv
	if n.sink != nil {
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		n.sink.openDict()
		for _, k := range keys {
			ks := k.String()
			if err := n.sink.key(ks); err != nil {
				return nil, at(err, ks)
			}
			if _, err := n.value(rv.MapIndex(k), depth+1); err != nil {
				return nil, at(err, ks)
			}
		}
		return nil, n.sink.close(false)
	}
	if stringKeys {
		out := make(map[string]any, len(keys))
		for _, k := range keys {
			ks := k.String()
			x, err := n.value(rv.MapIndex(k), depth+1)
			if err != nil {
				return nil, at(err, ks)
			}
			out[ks] = x
		}
		return out, nil
	}
	type sorted struct {
		Item
		order string
	}
	items := make([]sorted, 0, len(keys))
	for _, k := range keys {
		kn, err := n.key(k, depth+1)
		if err != nil {
			return nil, at(err, Repr(kn))
		}
		x, err := n.value(rv.MapIndex(k), depth+1)
		if err != nil {
			return nil, at(err, Repr(kn))
		}
		items = append(items, sorted{Item{kn, x}, Repr(kn)})
	}
	slices.SortFunc(items, func(a, b sorted) int { return strings.Compare(a.order, b.order) })
	d := make(Dict, len(items))
	for i, it := range items {
		d[i] = it.Item
	}
	return n.keyed(d)
}

// keyed hands a dict or set to the Keyed option.
func (n normalizer) keyed(v any) (any, error) {
	if n.Keyed == nil {
		return v, nil
	}
	return n.Keyed(v)
}

// key normalizes a map key into a value Python can hash: a Go array
// becomes a Tuple; lists and dicts are refused.
func (n normalizer) key(rv reflect.Value, depth int) (any, error) {
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return nil, nil
		}
		rv = rv.Elem()
	}
	if rv.Kind() == reflect.Array && rv.Type().Elem().Kind() != reflect.Uint8 {
		l := make(Tuple, rv.Len())
		for i := range l {
			x, err := n.key(rv.Index(i), depth+1)
			if err != nil {
				return nil, atIndex(err, i)
			}
			l[i] = x
		}
		return l, nil
	}
	x, err := n.value(rv, depth)
	if err != nil {
		return nil, err
	}
	switch x.(type) {
	case []any, map[string]any, Dict, OrderedDict, NDArray:
		return nil, unsupported("a %s cannot be a dict key (Python needs it hashable)", rv.Type())
	}
	return x, nil
}

func (n normalizer) structValue(rv reflect.Value, depth int) (any, error) {
	fields := structFields(rv.Type())
	if n.sink != nil {
		n.sink.openDict()
		for _, f := range fields {
			fv, ok := fieldValue(rv, f.index)
			if !ok || (f.omitEmpty && fv.IsZero()) {
				continue
			}
			if err := n.sink.key(f.name); err != nil {
				return nil, at(err, f.name)
			}
			if _, err := n.value(fv, depth+1); err != nil {
				return nil, at(err, f.name)
			}
		}
		return nil, n.sink.close(false)
	}
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		fv, ok := fieldValue(rv, f.index)
		if !ok || (f.omitEmpty && fv.IsZero()) {
			continue
		}
		x, err := n.value(fv, depth+1)
		if err != nil {
			return nil, at(err, f.name)
		}
		out[f.name] = x
	}
	return out, nil
}

func copyBytes(rv reflect.Value) []byte {
	out := make([]byte, rv.Len())
	reflect.Copy(reflect.ValueOf(out), rv)
	return out
}

// bigFields copies a big.Int read field by field (its sign and its words),
// which reflection allows without calling its methods.
func bigFields(rv reflect.Value) (*big.Int, error) {
	neg, abs := rv.FieldByName("neg"), rv.FieldByName("abs")
	if neg.Kind() != reflect.Bool || abs.Kind() != reflect.Slice || abs.Type().Elem().Kind() != reflect.Uint {
		return nil, unsupported("cannot read a %s", rv.Type()) // math/big changed its layout
	}
	words := make([]big.Word, abs.Len())
	for i := range words {
		words[i] = big.Word(abs.Index(i).Uint())
	}
	b := new(big.Int).SetBits(words)
	if neg.Bool() {
		b.Neg(b)
	}
	return b, nil
}

func fractionOf(rat reflect.Value) (any, error) {
	if rat.Kind() != reflect.Struct || rat.NumField() != 2 || rat.Field(0).Type() != bigIntType || rat.Field(1).Type() != bigIntType {
		return nil, unsupported("cannot read a %s", rat.Type())
	}
	num, err := bigFields(rat.Field(0))
	if err != nil {
		return nil, err
	}
	den, err := bigFields(rat.Field(1))
	if err != nil {
		return nil, err
	}
	if den.Sign() == 0 { // big.Rat's zero value: 0/1
		den.SetInt64(1)
	}
	var f Fraction
	f.SetFrac(num, den)
	return f, nil
}
