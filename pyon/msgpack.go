package pyon

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"

	"github.com/vmihailenco/msgpack/v5"
)

// sigoco's one mapping of the value model onto msgpack (native protocol
// version 2; docs/protocol.md "Values"). Where msgpack has the type it is
// used: nil, bool, integers (smallest encoding; uint64 beyond int64's
// range as uint 64), float64 (float 64; float32 decodes to float64), str,
// bin, array ([]any), map (map[string]any when all keys are strings, else
// Dict, in order). The other PYON types are extensions whose payload is
// one msgpack value in this same mapping:
//
//	id  type         payload
//	1   Tuple        array of items
//	2   Set          array of items
//	3   frozenset    array of items (Set{Frozen: true})
//	4   complex128   [real, imag] as float 64
//	5   *big.Int     decimal str (only beyond the uint64/int64 ranges)
//	6   Fraction     [numerator, denominator] as decimal strs
//	7   NDArray      [shape (array of int), dtype str, data bin]
//	8   NPScalar     [dtype str, data bin]
//	9   OrderedDict  array of [key, value] arrays
//	10  Slice        [start, stop, step]
//	16  []int64      raw: the elements as little-endian 8-byte words
//	17  []float64    raw: the elements as little-endian IEEE 754 binary64
//
// 16 and 17 are lists (of ints, of floats) packed for speed: large
// numeric slices cost one copy instead of one msgpack number per element.
// They decode to []any like any list (a native rpc server binding a
// []int64 or []float64 parameter may read them in place), and a []any of
// at least 16 elements, all int64 or all float64, is written packed too,
// so that such a list comes back as it went.
//
// Decoding gives exactly these Go types back (a Fraction as the value
// Fraction, a big int as int64, uint64 or *big.Int by size).
const (
	ExtTuple       int8 = 1
	ExtSet         int8 = 2
	ExtFrozenSet   int8 = 3
	ExtComplex     int8 = 4
	ExtBigInt      int8 = 5
	ExtFraction    int8 = 6
	ExtNDArray     int8 = 7
	ExtNPScalar    int8 = 8
	ExtOrderedDict int8 = 9
	ExtSlice       int8 = 10

	ExtPackedInt64   int8 = 16
	ExtPackedFloat64 int8 = 17
)

// EncodeMsgpackValue writes v to enc's writer in the mapping above. It
// takes what AppendMsgpack takes and, anywhere inside v, any other value
// Normalize takes (structs by the struct-key rule, typed slices and maps);
// a value that is a msgpack.CustomEncoder or Marshaler is written by its
// method, a TextMarshaler as its text, an error as its message, as Encode
// writes them (inside a Go struct, slice or map they are refused, see
// Normalize).
func EncodeMsgpackValue(enc *msgpack.Encoder, v any) error {
	b, err := appendValue(nil, v, 0, true)
	if err != nil {
		return err
	}
	_, err = enc.Writer().Write(b)
	return err
}

// AppendMsgpack appends v to b in the mapping above. It takes the value
// model's types (what MsgpackDecoder gives), the Go integer, float and
// complex types, big.Int, *Fraction, *big.Rat and pointers to the pyon
// types; anything else is an error wrapping ErrUnsupported (see
// EncodeMsgpackValue). String-keyed maps are written with sorted keys,
// so equal values give equal bytes. Nesting is bounded (ErrTooDeep).
func AppendMsgpack(b []byte, v any) ([]byte, error) { return appendValue(b, v, 0, false) }

func appendValue(b []byte, v any, depth int, lax bool) ([]byte, error) {
	if depth > maxDepth {
		return b, ErrTooDeep
	}
	switch x := v.(type) {
	case nil:
		return append(b, 0xc0), nil
	case bool:
		if x {
			return append(b, 0xc3), nil
		}
		return append(b, 0xc2), nil
	case int64:
		return appendInt(b, x), nil
	case int:
		return appendInt(b, int64(x)), nil
	case int32:
		return appendInt(b, int64(x)), nil
	case int16:
		return appendInt(b, int64(x)), nil
	case int8:
		return appendInt(b, int64(x)), nil
	case uint64:
		return appendUint(b, x), nil
	case uint:
		return appendUint(b, uint64(x)), nil
	case uint32:
		return appendUint(b, uint64(x)), nil
	case uint16:
		return appendUint(b, uint64(x)), nil
	case uint8:
		return appendUint(b, uint64(x)), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(x)), nil
	case float32:
		return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(float64(x))), nil
	case string:
		return append(appendStrHeader(b, len(x)), x...), nil
	case []byte:
		return append(appendBinHeader(b, len(x)), x...), nil
	case []any:
		if len(x) >= minPackedList {
			if id := packedKind(x); id != 0 {
				return appendPackedList(b, id, x), nil
			}
		}
		return appendList(appendArrayHeader(b, len(x)), x, depth, lax)
	case []int64:
		b = appendExtHeader(b, ExtPackedInt64, 8*len(x))
		for _, e := range x {
			b = binary.LittleEndian.AppendUint64(b, uint64(e))
		}
		return b, nil
	case []float64:
		b = appendExtHeader(b, ExtPackedFloat64, 8*len(x))
		for _, e := range x {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e))
		}
		return b, nil
	case map[string]any:
		b = appendMapHeader(b, len(x))
		var small [16]string
		keys := small[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var err error
		for _, k := range keys {
			b = append(appendStrHeader(b, len(k)), k...)
			if b, err = appendValue(b, x[k], depth+1, lax); err != nil {
				return b, err
			}
		}
		return b, nil
	case Dict:
		return appendPairs(appendMapHeader(b, len(x)), x, depth, lax)
	case *Dict:
		return appendPtr(b, x, depth, lax)
	case Tuple:
		return appendExt(b, ExtTuple, depth, func(b []byte) ([]byte, error) {
			return appendList(appendArrayHeader(b, len(x)), x, depth+1, lax)
		})
	case *Tuple:
		return appendPtr(b, x, depth, lax)
	case Set:
		id := ExtSet
		if x.Frozen {
			id = ExtFrozenSet
		}
		return appendExt(b, id, depth, func(b []byte) ([]byte, error) {
			return appendList(appendArrayHeader(b, len(x.Items)), x.Items, depth+1, lax)
		})
	case *Set:
		return appendPtr(b, x, depth, lax)
	case complex128:
		return appendComplex(b, x), nil
	case complex64:
		return appendComplex(b, complex128(x)), nil
	case *big.Int:
		if x == nil {
			return append(b, 0xc0), nil
		}
		return appendBig(b, x), nil
	case big.Int:
		return appendBig(b, &x), nil
	case Fraction:
		return appendFraction(b, &x.Rat), nil
	case *Fraction:
		if x == nil {
			return append(b, 0xc0), nil
		}
		return appendFraction(b, &x.Rat), nil
	case *big.Rat:
		if x == nil {
			return append(b, 0xc0), nil
		}
		return appendFraction(b, x), nil
	case NDArray:
		if err := x.wellFormed(); err != nil {
			return b, err
		}
		return appendExt(b, ExtNDArray, depth, func(b []byte) ([]byte, error) {
			b = appendArrayHeader(append(b, 0x93), len(x.Shape))
			for _, n := range x.Shape {
				b = appendInt(b, int64(n))
			}
			b = append(appendStrHeader(b, len(x.DType)), x.DType...)
			return append(appendBinHeader(b, len(x.Data)), x.Data...), nil
		})
	case *NDArray:
		return appendPtr(b, x, depth, lax)
	case NPScalar:
		return appendExt(b, ExtNPScalar, depth, func(b []byte) ([]byte, error) {
			b = append(appendStrHeader(append(b, 0x92), len(x.DType)), x.DType...)
			return append(appendBinHeader(b, len(x.Data)), x.Data...), nil
		})
	case *NPScalar:
		return appendPtr(b, x, depth, lax)
	case OrderedDict:
		return appendExt(b, ExtOrderedDict, depth, func(b []byte) ([]byte, error) {
			b = appendArrayHeader(b, len(x))
			var err error
			for _, it := range x {
				if b, err = appendPairs(append(b, 0x92), []Item{it}, depth+1, lax); err != nil {
					return b, err
				}
			}
			return b, nil
		})
	case *OrderedDict:
		return appendPtr(b, x, depth, lax)
	case Slice:
		return appendExt(b, ExtSlice, depth, func(b []byte) ([]byte, error) {
			return appendList(append(b, 0x93), []any{x.Start, x.Stop, x.Step}, depth+1, lax)
		})
	case *Slice:
		return appendPtr(b, x, depth, lax)
	}
	if !lax {
		return b, fmt.Errorf("%w: %T is not in the value model", ErrUnsupported, v)
	}
	if x, ok := v.(msgpack.CustomEncoder); ok {
		return appendOwnMsgpack(b, x) // a type that defines its msgpack form keeps it
	}
	if x, ok := v.(msgpack.Marshaler); ok {
		return appendOwnMsgpack(b, x)
	}
	if s, ok, err := ownText(v); err != nil {
		return b, &EncodeError{Err: err}
	} else if ok {
		return append(appendStrHeader(b, len(s)), s...), nil // as Encode writes it
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer { // as Encode follows it
		if rv.IsNil() {
			return append(b, 0xc0), nil
		}
		return appendValue(b, rv.Elem().Interface(), depth+1, lax)
	}
	n, err := Normalize(v)
	if err != nil {
		return b, err
	}
	return appendValue(b, n, depth, false)
}

func appendOwnMsgpack(b []byte, v any) ([]byte, error) {
	enc, err := msgpack.Marshal(v)
	if err != nil {
		return b, &EncodeError{Err: err}
	}
	return append(b, enc...), nil
}

func appendPtr[T any](b []byte, p *T, depth int, lax bool) ([]byte, error) {
	if p == nil {
		return append(b, 0xc0), nil
	}
	return appendValue(b, *p, depth, lax)
}

// minPackedList is the shortest []any written packed (ext 16 or 17) when
// its elements are all int64 or all float64: a packed list decodes to the
// same []any, so this is invisible to a reader, and a list that went
// through a decoder (an rpc parameter of type any echoed back) stays
// packed. Below it a list is written element by element, as msgpack
// writes it (short lists are as small that way, and recorded exchanges
// keep their bytes).
const minPackedList = 16

// packedKind returns ExtPackedInt64 if every element of l is an int64,
// ExtPackedFloat64 if every one is a float64, else 0.
func packedKind(l []any) int8 {
	switch l[0].(type) {
	case int64:
		for _, e := range l[1:] {
			if _, ok := e.(int64); !ok {
				return 0
			}
		}
		return ExtPackedInt64
	case float64:
		for _, e := range l[1:] {
			if _, ok := e.(float64); !ok {
				return 0
			}
		}
		return ExtPackedFloat64
	}
	return 0
}

// appendPackedList writes l, whose elements are all of packedKind id.
func appendPackedList(b []byte, id int8, l []any) []byte {
	b = appendExtHeader(b, id, 8*len(l))
	b = slices.Grow(b, 8*len(l))
	if id == ExtPackedInt64 {
		for _, e := range l {
			b = binary.LittleEndian.AppendUint64(b, uint64(e.(int64)))
		}
		return b
	}
	for _, e := range l {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.(float64)))
	}
	return b
}

func appendList(b []byte, l []any, depth int, lax bool) ([]byte, error) {
	var err error
	for _, e := range l {
		if b, err = appendValue(b, e, depth+1, lax); err != nil {
			return b, err
		}
	}
	return b, nil
}

// appendPairs appends keys and values (the pairs of a map or of one
// OrderedDict entry; the header is the caller's).
func appendPairs(b []byte, items []Item, depth int, lax bool) ([]byte, error) {
	var err error
	for _, it := range items {
		if b, err = appendValue(b, it.Key, depth+1, lax); err != nil {
			return b, err
		}
		if b, err = appendValue(b, it.Value, depth+1, lax); err != nil {
			return b, err
		}
	}
	return b, nil
}

// appendExt appends an extension whose payload body writes; the header is
// sized afterwards (msgpack's shortest form, as msgpack.Encoder writes it).
func appendExt(b []byte, id int8, depth int, body func([]byte) ([]byte, error)) ([]byte, error) {
	const room = 6 // ext 32 header
	start := len(b)
	b = append(b, make([]byte, room)...)
	b, err := body(b)
	if err != nil {
		return b, err
	}
	n := len(b) - start - room
	h := appendExtHeader(make([]byte, 0, room), id, n)
	copy(b[start:], h)
	copy(b[start+len(h):], b[start+room:])
	return b[:len(b)-room+len(h)], nil
}

// appendExtHeader appends the header of an extension of n bytes.
func appendExtHeader(b []byte, id int8, n int) []byte {
	var h []byte
	switch {
	case n == 1 || n == 2 || n == 4 || n == 8 || n == 16:
		h = []byte{0xd4 + byte(bitsLen(n)), byte(id)}
	case n <= math.MaxUint8:
		h = []byte{0xc7, byte(n), byte(id)}
	case n <= math.MaxUint16:
		h = []byte{0xc8, byte(n >> 8), byte(n), byte(id)}
	default:
		h = []byte{0xc9, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n), byte(id)}
	}
	return append(b, h...)
}

func bitsLen(n int) int { // 1→0, 2→1, 4→2, 8→3, 16→4
	k := 0
	for n > 1 {
		n >>= 1
		k++
	}
	return k
}

func appendComplex(b []byte, c complex128) []byte {
	b = append(b, 0xc7, 19, byte(ExtComplex), 0x92, 0xcb)
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(real(c)))
	return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(imag(c)))
}

func appendBig(b []byte, x *big.Int) []byte {
	if x.IsInt64() {
		return appendInt(b, x.Int64())
	}
	if x.IsUint64() {
		return appendUint(b, x.Uint64())
	}
	b, _ = appendExt(b, ExtBigInt, 0, func(b []byte) ([]byte, error) {
		s := x.String()
		return append(appendStrHeader(b, len(s)), s...), nil
	})
	return b
}

func appendFraction(b []byte, r *big.Rat) []byte {
	b, _ = appendExt(b, ExtFraction, 0, func(b []byte) ([]byte, error) {
		n, d := r.Num().String(), r.Denom().String()
		b = append(appendStrHeader(append(b, 0x92), len(n)), n...)
		return append(appendStrHeader(b, len(d)), d...), nil
	})
	return b
}

func appendInt(b []byte, i int64) []byte {
	switch {
	case i >= 0:
		return appendUint(b, uint64(i))
	case i >= -32:
		return append(b, byte(i))
	case i >= math.MinInt8:
		return append(b, 0xd0, byte(i))
	case i >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(i))
	case i >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(i))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(i))
}

func appendUint(b []byte, u uint64) []byte {
	switch {
	case u <= 0x7f:
		return append(b, byte(u))
	case u <= math.MaxUint8:
		return append(b, 0xcc, byte(u))
	case u <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(u))
	case u <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(u))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), u)
}

func appendLen(b []byte, n int, fix, fixMax int, c8, c16, c32 byte) []byte {
	switch {
	case n <= fixMax:
		return append(b, byte(fix|n))
	case c8 != 0 && n <= math.MaxUint8:
		return append(b, c8, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, c16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, c32), uint32(n))
}

func appendStrHeader(b []byte, n int) []byte   { return appendLen(b, n, 0xa0, 31, 0xd9, 0xda, 0xdb) }
func appendArrayHeader(b []byte, n int) []byte { return appendLen(b, n, 0x90, 15, 0, 0xdc, 0xdd) }
func appendMapHeader(b []byte, n int) []byte   { return appendLen(b, n, 0x80, 15, 0, 0xde, 0xdf) }
func appendBinHeader(b []byte, n int) []byte {
	if n <= math.MaxUint8 {
		return append(b, 0xc4, byte(n))
	}
	return appendLen(b, n, 0, -1, 0, 0xc5, 0xc6)
}

// The pyon types also encode and decode through msgpack's reflection (a
// struct field of type Tuple, a []pyon.Set, ...), in the same mapping,
// with their EncodeMsgpack/DecodeMsgpack methods; complex128 and *big.Int
// through the extensions registered below. msgpack.Decoder.DecodeInterface
// knows only those two extensions (and allocates whatever a bin or str
// header announces): decode untrusted input into `any` with
// MsgpackDecoder. The decoding methods read within DefaultLimits, checking
// lengths against the input that remains when the reader reports it.
var (
	_ msgpack.CustomEncoder = Tuple{}
	_ msgpack.CustomDecoder = (*Tuple)(nil)
	_ msgpack.CustomEncoder = Set{}
	_ msgpack.CustomDecoder = (*Set)(nil)
	_ msgpack.CustomEncoder = Dict{}
	_ msgpack.CustomDecoder = (*Dict)(nil)
	_ msgpack.CustomEncoder = OrderedDict{}
	_ msgpack.CustomDecoder = (*OrderedDict)(nil)
	_ msgpack.CustomEncoder = NDArray{}
	_ msgpack.CustomDecoder = (*NDArray)(nil)
	_ msgpack.CustomEncoder = NPScalar{}
	_ msgpack.CustomDecoder = (*NPScalar)(nil)
	_ msgpack.CustomEncoder = Fraction{}
	_ msgpack.CustomDecoder = (*Fraction)(nil)
	_ msgpack.CustomEncoder = Slice{}
	_ msgpack.CustomDecoder = (*Slice)(nil)
)

func init() {
	msgpack.RegisterExtEncoder(ExtComplex, complex128(0), func(_ *msgpack.Encoder, v reflect.Value) ([]byte, error) {
		return appendComplex(nil, v.Complex())[3:], nil
	})
	msgpack.RegisterExtEncoder(ExtBigInt, (*big.Int)(nil), func(_ *msgpack.Encoder, v reflect.Value) ([]byte, error) {
		s := v.Interface().(*big.Int).String()
		return append(appendStrHeader(nil, len(s)), s...), nil
	})
	// Only the two types without methods get extension decoders:
	// registering one for a type makes msgpack decode that type from its
	// extension id only, bypassing its DecodeMsgpack method (so a Set
	// field could not take a frozenset, nor an NDArray a list).
	reg := func(id int8, zero any) {
		msgpack.RegisterExtDecoder(id, zero, func(d *msgpack.Decoder, v reflect.Value, n int) error {
			var md MsgpackDecoder
			x, err := md.readExt(d, id, n)
			if err != nil {
				return err
			}
			return setDecoded(v, x)
		})
	}
	reg(ExtComplex, complex128(0))
	reg(ExtBigInt, (*big.Int)(nil))
}

// readExt decodes the payload of an extension whose header d has read.
func (md *MsgpackDecoder) readExt(d *msgpack.Decoder, id int8, n int) (any, error) {
	r := mpReader{lim: md.Limits.resolved(), used: &md.Used, md: d}
	if l, ok := d.Buffered().(interface{ Len() int }); ok {
		r.lenr = l
	}
	payload, err := r.take(n)
	if err != nil {
		return nil, err
	}
	sub := mpReader{lim: r.lim, used: r.used, b: payload}
	return sub.extValue(id, 0)
}

// setDecoded stores x in v, converting a big int that fits to *big.Int,
// else by assignment.
func setDecoded(v reflect.Value, x any) error {
	if v.Kind() == reflect.Pointer && v.Type() != reflect.TypeFor[*big.Int]() {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	switch v.Type() {
	case reflect.TypeFor[*big.Int]():
		i, ok := bigOf(x)
		if !ok {
			return malformedExt(ExtBigInt)
		}
		v.Set(reflect.ValueOf(i))
		return nil
	}
	xv := reflect.ValueOf(x)
	if !xv.Type().AssignableTo(v.Type()) {
		return malformed("msgpack: extension holds %s, not %s", describe(x), v.Type())
	}
	v.Set(xv)
	return nil
}

// decodeAs reads the next value from dec into *dst, which must be of type
// T after decoding (or convertible with Convert).
func decodeAs[T any](dec *msgpack.Decoder, dst *T) error {
	md := MsgpackDecoder{keepOrder: true}
	v, err := md.Read(dec)
	if err != nil {
		return err
	}
	if d, ok := v.(Dict); ok {
		if _, want := any(dst).(*OrderedDict); want {
			v = OrderedDict(d)
		}
	}
	if x, ok := v.(T); ok {
		*dst = x
		return nil
	}
	return Convert(v, dst)
}

// EncodeMsgpack writes the tuple as extension ExtTuple.
func (t Tuple) EncodeMsgpack(enc *msgpack.Encoder) error { return EncodeMsgpackValue(enc, t) }

// DecodeMsgpack reads a tuple (or any sequence).
func (t *Tuple) DecodeMsgpack(dec *msgpack.Decoder) error { return decodeAs(dec, t) }

// EncodeMsgpack writes the set as extension ExtSet or ExtFrozenSet.
func (s Set) EncodeMsgpack(enc *msgpack.Encoder) error { return EncodeMsgpackValue(enc, s) }

// DecodeMsgpack reads a set (or any sequence, as a non-frozen set).
func (s *Set) DecodeMsgpack(dec *msgpack.Decoder) error { return decodeAs(dec, s) }

// EncodeMsgpack writes the pairs as a msgpack map, in order.
func (d Dict) EncodeMsgpack(enc *msgpack.Encoder) error { return EncodeMsgpackValue(enc, d) }

// DecodeMsgpack reads a map, keeping its order.
func (d *Dict) DecodeMsgpack(dec *msgpack.Decoder) error { return decodeAs(dec, d) }

// EncodeMsgpack writes extension ExtOrderedDict.
func (d OrderedDict) EncodeMsgpack(enc *msgpack.Encoder) error { return EncodeMsgpackValue(enc, d) }

// DecodeMsgpack reads an OrderedDict (or a map, in its order).
func (d *OrderedDict) DecodeMsgpack(dec *msgpack.Decoder) error { return decodeAs(dec, d) }

// EncodeMsgpack writes extension ExtNDArray.
func (a NDArray) EncodeMsgpack(enc *msgpack.Encoder) error { return EncodeMsgpackValue(enc, a) }

// DecodeMsgpack reads an NDArray, or nested arrays of numbers (see
// ListToNDArray).
func (a *NDArray) DecodeMsgpack(dec *msgpack.Decoder) error { return decodeAs(dec, a) }

// EncodeMsgpack writes extension ExtNPScalar.
func (s NPScalar) EncodeMsgpack(enc *msgpack.Encoder) error { return EncodeMsgpackValue(enc, s) }

// DecodeMsgpack reads a numpy scalar, or a number as ScalarOf makes it.
func (s *NPScalar) DecodeMsgpack(dec *msgpack.Decoder) error { return decodeAs(dec, s) }

// EncodeMsgpack writes extension ExtFraction.
func (f Fraction) EncodeMsgpack(enc *msgpack.Encoder) error { return EncodeMsgpackValue(enc, f) }

// DecodeMsgpack reads a Fraction (or an integer).
func (f *Fraction) DecodeMsgpack(dec *msgpack.Decoder) error { return decodeAs(dec, f) }

// EncodeMsgpack writes extension ExtSlice.
func (s Slice) EncodeMsgpack(enc *msgpack.Encoder) error { return EncodeMsgpackValue(enc, s) }

// DecodeMsgpack reads a Slice.
func (s *Slice) DecodeMsgpack(dec *msgpack.Decoder) error { return decodeAs(dec, s) }

// NewFraction returns num/den; den must not be zero.
func NewFraction(num, den int64) *Fraction {
	f := new(Fraction)
	f.SetFrac(big.NewInt(num), big.NewInt(den))
	return f
}
