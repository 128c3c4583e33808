package syncstruct

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"math/big"

	"github.com/sigoco/sigoco/pyon"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// msgpack extension type ids for the PYON values msgpack has no type for.
// A dict with non-string keys needs none: msgpack maps take any key.
const (
	extTuple       int8 = 1  // array of items
	extSet         int8 = 2  // array of items
	extFrozenSet   int8 = 3  // array of items
	extComplex     int8 = 4  // [real, imag]
	extBigInt      int8 = 5  // decimal string
	extFraction    int8 = 6  // [numerator, denominator] as decimal strings
	extNDArray     int8 = 7  // [shape, dtype, data]
	extNPScalar    int8 = 8  // [dtype, data]
	extOrderedDict int8 = 9  // array of [key, value]
	extSlice       int8 = 10 // [start, stop, step]
)

// appendBuffer lets a msgpack.Encoder append to a byte slice.
type appendBuffer struct{ b []byte }

func (w *appendBuffer) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func (w *appendBuffer) WriteByte(c byte) error {
	w.b = append(w.b, c)
	return nil
}

func (w *appendBuffer) WriteString(s string) (int, error) {
	w.b = append(w.b, s...)
	return len(s), nil
}

// newMsgpackEncoder returns an encoder with the options every tree
// encoding uses.
func newMsgpackEncoder(w io.Writer) *msgpack.Encoder {
	e := msgpack.NewEncoder(w)
	e.UseCompactInts(true)
	return e
}

// encodeValue writes a normalized tree. String-keyed maps are written with
// sorted keys so equal trees give equal bytes.
func encodeValue(e *msgpack.Encoder, v any, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nested deeper than %d", ErrUnsupportedValue, maxDepth)
	}
	switch x := v.(type) {
	case nil:
		return e.EncodeNil()
	case bool:
		return e.EncodeBool(x)
	case int64:
		return e.EncodeInt(x)
	case uint64:
		return e.EncodeUint(x)
	case float64:
		return e.EncodeFloat64(x)
	case string:
		return e.EncodeString(x)
	case []byte:
		return e.EncodeBytes(x)
	case []any:
		if err := e.EncodeArrayLen(len(x)); err != nil {
			return err
		}
		for _, el := range x {
			if err := encodeValue(e, el, depth+1); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		if err := e.EncodeMapLen(len(x)); err != nil {
			return err
		}
		if len(x) == 1 { // common in mods; skip the sort
			for k, el := range x {
				if err := e.EncodeString(k); err != nil {
					return err
				}
				return encodeValue(e, el, depth+1)
			}
		}
		for _, k := range sortedKeys(x) {
			if err := e.EncodeString(k); err != nil {
				return err
			}
			if err := encodeValue(e, x[k], depth+1); err != nil {
				return err
			}
		}
		return nil
	case pyon.Dict:
		if err := e.EncodeMapLen(len(x)); err != nil {
			return err
		}
		for _, it := range x {
			if err := encodeValue(e, it.Key, depth+1); err != nil {
				return err
			}
			if err := encodeValue(e, it.Value, depth+1); err != nil {
				return err
			}
		}
		return nil
	case pyon.Tuple:
		return encodeExt(e, extTuple, []any(x), depth)
	case pyon.Set:
		id := extSet
		if x.Frozen {
			id = extFrozenSet
		}
		return encodeExt(e, id, x.Items, depth)
	case complex128:
		return encodeExt(e, extComplex, []any{real(x), imag(x)}, depth)
	case *big.Int:
		return encodeExt(e, extBigInt, x.String(), depth)
	case pyon.Fraction:
		return encodeExt(e, extFraction, []any{x.Num().String(), x.Denom().String()}, depth)
	case pyon.NDArray:
		shape := make([]any, len(x.Shape))
		for i, n := range x.Shape {
			shape[i] = int64(n)
		}
		return encodeExt(e, extNDArray, []any{shape, x.DType, x.Data}, depth)
	case pyon.NPScalar:
		return encodeExt(e, extNPScalar, []any{x.DType, x.Data}, depth)
	case pyon.OrderedDict:
		pairs := make([]any, len(x))
		for i, it := range x {
			pairs[i] = []any{it.Key, it.Value}
		}
		return encodeExt(e, extOrderedDict, pairs, depth)
	case pyon.Slice:
		return encodeExt(e, extSlice, []any{x.Start, x.Stop, x.Step}, depth)
	}
	return fmt.Errorf("%w: %T (normalize the tree first)", ErrUnsupportedValue, v)
}

// encodeExt writes payload, encoded as a tree, inside an extension of type
// id.
func encodeExt(e *msgpack.Encoder, id int8, payload any, depth int) error {
	var buf appendBuffer
	sub := newMsgpackEncoder(&buf)
	if err := encodeValue(sub, payload, depth+1); err != nil {
		return err
	}
	if err := e.EncodeExtHeader(id, len(buf.b)); err != nil {
		return err
	}
	_, err := e.Writer().Write(buf.b)
	return err
}

// newMsgpackDecoder returns a decoder reading r.
func newMsgpackDecoder(r io.Reader) *msgpack.Decoder {
	return msgpack.NewDecoder(r)
}

// decodeValueBytes decodes one tree that must fill b exactly.
func decodeValueBytes(b []byte) (any, error) {
	r := bytes.NewReader(b)
	d := newMsgpackDecoder(r)
	v, err := decodeValue(d, 0)
	if err != nil {
		return nil, err
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the value", ErrBadMessage, r.Len())
	}
	return v, nil
}

// preallocLimit caps what a length read from the input may preallocate:
// collections grow as elements actually arrive.
const preallocLimit = 1024

// decodeValue reads one tree in normal form.
func decodeValue(d *msgpack.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d", ErrBadMessage, maxDepth)
	}
	c, err := d.PeekCode()
	if err != nil {
		return nil, err
	}
	switch {
	case msgpcode.IsFixedNum(c), c >= msgpcode.Uint8 && c <= msgpcode.Int64:
		if c == msgpcode.Uint64 {
			u, err := d.DecodeUint64()
			return normUint(u), err
		}
		return d.DecodeInt64()
	case c == msgpcode.Nil:
		return nil, d.DecodeNil()
	case c == msgpcode.False, c == msgpcode.True:
		return d.DecodeBool()
	case c == msgpcode.Float:
		f, err := d.DecodeFloat32()
		return float64(f), err
	case c == msgpcode.Double:
		return d.DecodeFloat64()
	case msgpcode.IsString(c):
		return d.DecodeString()
	case msgpcode.IsBin(c):
		n, err := d.DecodeBytesLen()
		if err != nil {
			return nil, err
		}
		return readBytes(d, n)
	case msgpcode.IsFixedArray(c), c == msgpcode.Array16, c == msgpcode.Array32:
		n, err := d.DecodeArrayLen()
		if err != nil {
			return nil, err
		}
		return decodeList(d, n, depth)
	case msgpcode.IsFixedMap(c), c == msgpcode.Map16, c == msgpcode.Map32:
		n, err := d.DecodeMapLen()
		if err != nil {
			return nil, err
		}
		return decodeMap(d, n, depth)
	case msgpcode.IsExt(c):
		return decodeExt(d, depth)
	}
	return nil, fmt.Errorf("%w: unexpected msgpack code 0x%02x", ErrBadMessage, c)
}

func decodeList(d *msgpack.Decoder, n, depth int) ([]any, error) {
	if n < 0 {
		return nil, nil
	}
	l := make([]any, 0, min(n, preallocLimit))
	for range n {
		v, err := decodeValue(d, depth+1)
		if err != nil {
			return nil, err
		}
		l = append(l, v)
	}
	return l, nil
}

func decodeMap(d *msgpack.Decoder, n, depth int) (any, error) {
	if n < 0 {
		return nil, nil
	}
	m := make(map[string]any, min(n, preallocLimit))
	var items pyon.Dict // set once a non-string key shows up
	for range n {
		k, err := decodeValue(d, depth+1)
		if err != nil {
			return nil, err
		}
		v, err := decodeValue(d, depth+1)
		if err != nil {
			return nil, err
		}
		if s, ok := k.(string); ok && items == nil {
			m[s] = v
			continue
		}
		if !isKey(k) {
			return nil, fmt.Errorf("%w: dict key of type %s", ErrBadMessage, typeName(k))
		}
		if items == nil {
			items = dictFromMap(m, min(n-len(m), preallocLimit))
		}
		if i := dictIndex(items, k); i >= 0 {
			items[i].Value = v
		} else {
			items = append(items, pyon.Item{Key: k, Value: v})
		}
	}
	if items != nil {
		return dictOf(items), nil
	}
	return m, nil
}

// readBytes reads n raw bytes, growing the buffer as they arrive so a
// length alone never allocates much.
func readBytes(d *msgpack.Decoder, n int) ([]byte, error) {
	if n < 0 {
		return nil, nil
	}
	const step = 1 << 20
	b := make([]byte, 0, min(n, step))
	for len(b) < n {
		k := min(n-len(b), step)
		if cap(b)-len(b) < k {
			b = append(b[:cap(b)], make([]byte, k-(cap(b)-len(b)))...)[:len(b)]
		}
		if err := d.ReadFull(b[len(b) : len(b)+k]); err != nil {
			return nil, err
		}
		b = b[:len(b)+k]
	}
	return b, nil
}

func decodeExt(d *msgpack.Decoder, depth int) (any, error) {
	id, n, err := d.DecodeExtHeader()
	if err != nil {
		return nil, err
	}
	raw, err := readBytes(d, n)
	if err != nil {
		return nil, err
	}
	r := bytes.NewReader(raw)
	sub := newMsgpackDecoder(r)
	payload, err := decodeValue(sub, depth+1)
	if err != nil {
		return nil, err
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("%w: extension %d has %d stray bytes", ErrBadMessage, id, r.Len())
	}
	bad := func() (any, error) {
		return nil, fmt.Errorf("%w: malformed extension %d", ErrBadMessage, id)
	}
	l, _ := payload.([]any)
	switch id {
	case extTuple:
		if l == nil {
			return bad()
		}
		return pyon.Tuple(l), nil
	case extSet, extFrozenSet:
		if l == nil {
			return bad()
		}
		for _, e := range l {
			if !isKey(e) {
				return bad()
			}
		}
		return pyon.Set{Items: l, Frozen: id == extFrozenSet}, nil
	case extComplex:
		if len(l) != 2 {
			return bad()
		}
		re, ok1 := l[0].(float64)
		im, ok2 := l[1].(float64)
		if !ok1 || !ok2 {
			return bad()
		}
		return complex(re, im), nil
	case extBigInt:
		s, ok := payload.(string)
		if !ok {
			return bad()
		}
		x, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return bad()
		}
		return normBig(x), nil
	case extFraction:
		if len(l) != 2 {
			return bad()
		}
		ns, ok1 := l[0].(string)
		ds, ok2 := l[1].(string)
		num, ok3 := new(big.Int).SetString(ns, 10)
		den, ok4 := new(big.Int).SetString(ds, 10)
		if !ok1 || !ok2 || !ok3 || !ok4 || den.Sign() == 0 {
			return bad()
		}
		var f pyon.Fraction
		f.SetFrac(num, den)
		return f, nil
	case extNDArray:
		if len(l) != 3 {
			return bad()
		}
		shapeL, ok1 := l[0].([]any)
		dtype, ok2 := l[1].(string)
		data, ok3 := l[2].([]byte)
		if !ok1 || !ok2 || !ok3 {
			return bad()
		}
		shape := make([]int, len(shapeL))
		for i, s := range shapeL {
			n, ok := s.(int64)
			if !ok || n < 0 || n > math.MaxInt32 {
				return bad()
			}
			shape[i] = int(n)
		}
		return pyon.NDArray{Shape: shape, DType: dtype, Data: data}, nil
	case extNPScalar:
		if len(l) != 2 {
			return bad()
		}
		dtype, ok1 := l[0].(string)
		data, ok2 := l[1].([]byte)
		if !ok1 || !ok2 {
			return bad()
		}
		return pyon.NPScalar{DType: dtype, Data: data}, nil
	case extOrderedDict:
		if l == nil {
			return bad()
		}
		od := make(pyon.OrderedDict, 0, len(l))
		for _, p := range l {
			kv, ok := p.([]any)
			if !ok || len(kv) != 2 || !isKey(kv[0]) {
				return bad()
			}
			if i := dictIndex(od, kv[0]); i >= 0 {
				od[i].Value = kv[1]
			} else {
				od = append(od, pyon.Item{Key: kv[0], Value: kv[1]})
			}
		}
		return od, nil
	case extSlice:
		if len(l) != 3 {
			return bad()
		}
		return pyon.Slice{Start: l[0], Stop: l[1], Step: l[2]}, nil
	}
	return nil, fmt.Errorf("%w: unknown extension type %d", ErrBadMessage, id)
}
