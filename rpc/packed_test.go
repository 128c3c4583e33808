package rpc

import (
	"errors"
	"reflect"
	"testing"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/wire"
	"github.com/vmihailenco/msgpack/v5"
)

// encodeOne encodes x as the client encodes an argument, without framing.
func encodeOne(t *testing.T, x any) []byte {
	t.Helper()
	e := wire.NewEncoder(1 << 20)
	b, err := e.Append(nil, func(m *msgpack.Encoder) error { return encodeArg(m, x) })
	if err != nil {
		t.Fatal(err)
	}
	return b[4:]
}

func TestPackedArrays(t *testing.T) {
	tests := []struct {
		name string
		in   any
		into any // pointer to the destination type
		want any
	}{
		{"int64 to int64", []int64{1, -2, 1 << 40}, new([]int64), []int64{1, -2, 1 << 40}},
		{"float64 to float64", []float64{1.5, -2}, new([]float64), []float64{1.5, -2}},
		{"empty", []int64{}, new([]int64), []int64{}},
		{"int64 to int32", []int64{1, -2}, new([]int32), []int32{1, -2}},
		{"int64 to float64", []int64{3}, new([]float64), []float64{3}},
		{"int64 to uint", []int64{3}, new([]uint), []uint{3}},
		{"float64 to float32", []float64{0.5}, new([]float32), []float32{0.5}},
		{"int64 to []any", []int64{7}, new([]any), []any{int64(7)}},
		{"float64 to any", []float64{7}, new(any), []any{7.0}}, // the value model: a list
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := encodeOne(t, tt.in)
			if b[0] < 0xc7 || b[0] > 0xd8 { // an ext code, not an array
				t.Fatalf("%T not packed: first byte %#x", tt.in, b[0])
			}
			m := newMsgDecoder(0)
			m.reset(b)
			dst := reflect.ValueOf(tt.into).Elem()
			if err := planFor(dst.Type()).decode(m, dst); err != nil {
				t.Fatal(err)
			}
			if got := dst.Interface(); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
			if m.remaining() != 0 {
				t.Fatalf("%d bytes left undecoded", m.remaining())
			}
		})
	}
}

func TestPackedArrayErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		into any
	}{
		{"float into int", encodeOne(t, []float64{1.5}), new([]int64)},
		{"negative into uint", encodeOne(t, []int64{-1}), new([]uint8)},
		{"overflow int8", encodeOne(t, []int64{300}), new([]int8)},
		{"into string", encodeOne(t, []int64{1}), new(string)},
		{"length not a multiple of 8", []byte{0xc7, 3, byte(extPackedInt64), 1, 2, 3}, new([]int64)},
		{"length beyond the frame", []byte{0xc7, 200, byte(extPackedInt64), 1, 2, 3}, new(any)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMsgDecoder(0)
			m.reset(tt.in)
			dst := reflect.ValueOf(tt.into).Elem()
			err := planFor(dst.Type()).decode(m, dst)
			if err == nil {
				t.Fatalf("decoded into %T: %#v", tt.into, dst.Interface())
			}
			var me *mismatchError
			if !errors.As(err, &me) && !errors.Is(err, errMalformed) && !errors.Is(err, pyon.ErrMalformed) {
				t.Fatalf("error %v is neither a mismatch nor malformed", err)
			}
		})
	}
}
