package rpc

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"

	"github.com/sigoco/sigoco/wire"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// Packed numeric arrays. A []int64 or []float64 argument or result travels
// as one msgpack extension value holding the elements as little-endian
// 8-byte words, instead of one msgpack number per element: large numeric
// arrays (waveforms, sweeps, histograms) are the common bulk data of lab
// software, and per-element msgpack coding costs tens of nanoseconds an
// element where a packed copy costs one. Receivers also accept plain
// msgpack arrays, so peers that never pack still interoperate.
const (
	extPackedInt64   int8 = 16 // little-endian int64 words
	extPackedFloat64 int8 = 17 // little-endian IEEE 754 binary64 words
)

// encodePacked writes s packed and reports whether it could (s is a
// []int64 or []float64).
func encodePacked(e *msgpack.Encoder, s any) (bool, error) {
	var id int8
	var n int
	switch s := s.(type) {
	case []int64:
		id, n = extPackedInt64, len(s)
	case []float64:
		id, n = extPackedFloat64, len(s)
	default:
		return false, nil
	}
	if err := e.EncodeExtHeader(id, 8*n); err != nil {
		return true, err
	}
	aw, ok := e.Writer().(*wire.Buffer)
	if !ok {
		return false, fmt.Errorf("rpc: packed array needs an in-memory writer")
	}
	b := aw.B
	switch s := s.(type) {
	case []int64:
		for _, x := range s {
			b = binary.LittleEndian.AppendUint64(b, uint64(x))
		}
	case []float64:
		for _, x := range s {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
		}
	}
	aw.B = b
	return true, nil
}

// decodePacked decodes a packed array at the decoder's position into a
// []int64 or []float64. ok is false (and nothing is consumed) when the next
// value is not a packed array.
func (m *msgDecoder) decodePacked() (v any, ok bool, err error) {
	c, err := m.peek()
	if err != nil || !msgpcode.IsExt(c) {
		return nil, false, err
	}
	start := m.offset()
	id, n, err := m.d.DecodeExtHeader()
	if err != nil {
		return nil, false, err
	}
	if id != extPackedInt64 && id != extPackedFloat64 {
		m.seek(start)
		return nil, false, nil
	}
	if n%8 != 0 || n > m.remaining() {
		return nil, true, fmt.Errorf("%w: packed array of %d bytes with %d left", errMalformed, n, m.remaining())
	}
	if err := m.charge(n); err != nil {
		return nil, true, err
	}
	off := m.offset()
	data := m.b[off : off+n]
	m.seek(off + n)
	if id == extPackedInt64 {
		out := make([]int64, n/8)
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(data[8*i:]))
		}
		return out, true, nil
	}
	out := make([]float64, n/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:]))
	}
	return out, true, nil
}

// assignPacked stores a decoded packed array (a []int64 or []float64) in v:
// an interface, or a slice of numbers or interfaces, converting elements as
// the per-element decoding would (ints fit floats; floats never become
// ints; out-of-range values are an error).
func assignPacked(v reflect.Value, packed any) error {
	pv := reflect.ValueOf(packed)
	if v.Type() == pv.Type() {
		v.Set(pv)
		return nil
	}
	if v.Kind() == reflect.Interface {
		if !pv.Type().Implements(v.Type()) {
			return errMismatch
		}
		v.Set(pv)
		return nil
	}
	if v.Kind() != reflect.Slice {
		return errMismatch
	}
	n := pv.Len()
	s := reflect.MakeSlice(v.Type(), n, n)
	ek := v.Type().Elem().Kind()
	for i := 0; i < n; i++ {
		dst := s.Index(i)
		switch x := pv.Index(i).Interface().(type) {
		case int64:
			switch {
			case ek >= reflect.Int && ek <= reflect.Int64:
				if dst.OverflowInt(x) {
					return &mismatchError{fmt.Sprintf("element %d: out of range", i)}
				}
				dst.SetInt(x)
			case ek >= reflect.Uint && ek <= reflect.Uintptr:
				if x < 0 || dst.OverflowUint(uint64(x)) {
					return &mismatchError{fmt.Sprintf("element %d: out of range", i)}
				}
				dst.SetUint(uint64(x))
			case ek == reflect.Float32 || ek == reflect.Float64:
				dst.SetFloat(float64(x))
			case ek == reflect.Interface && dst.NumMethod() == 0:
				dst.Set(reflect.ValueOf(x))
			default:
				return errMismatch
			}
		case float64:
			switch {
			case ek == reflect.Float32 || ek == reflect.Float64:
				dst.SetFloat(x)
			case ek == reflect.Interface && dst.NumMethod() == 0:
				dst.Set(reflect.ValueOf(x))
			default:
				return errMismatch
			}
		}
	}
	v.Set(s)
	return nil
}
