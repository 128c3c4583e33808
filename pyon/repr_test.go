package pyon

import (
	"encoding/binary"
	"errors"
	"math"
	"math/big"
	"testing"
)

func TestPyFloatRepr(t *testing.T) {
	// Expected strings are Python's repr() of the same floats.
	tests := []struct {
		f    float64
		want string
	}{
		{0, "0.0"}, {math.Copysign(0, -1), "-0.0"}, {1, "1.0"}, {-2.5, "-2.5"}, {0.1, "0.1"},
		{1e-4, "0.0001"}, {1e-5, "1e-05"}, {1.5e-7, "1.5e-07"}, {123456.789, "123456.789"},
		{1e15, "1000000000000000.0"}, {1e16, "1e+16"}, {123456789012345678.0, "1.2345678901234568e+17"},
		{1e300, "1e+300"}, {5e-324, "5e-324"}, {math.MaxFloat64, "1.7976931348623157e+308"},
		{math.Inf(1), "inf"}, {math.Inf(-1), "-inf"}, {math.NaN(), "nan"}, {1.0 / 3, "0.3333333333333333"},
	}
	for _, tt := range tests {
		if got := PyFloat(tt.f); got != tt.want {
			t.Errorf("PyFloat(%v) = %q, want %q", tt.f, got, tt.want)
		}
	}
}

func TestRepr(t *testing.T) {
	frac := NewFraction(1, 3)
	f8 := make([]byte, 32)
	for i, v := range []float64{1, 2, 3, 4} {
		binary.LittleEndian.PutUint64(f8[8*i:], math.Float64bits(v))
	}
	tests := []struct {
		v    any
		want string
	}{
		{nil, "None"}, {true, "True"}, {false, "False"}, {int64(-5), "-5"},
		{new(big.Int).Lsh(big.NewInt(1), 70), "1180591620717411303424"},
		{2.0, "2.0"}, {float32(0.5), "0.5"},
		{complex(0, 2), "2j"}, {complex(1, 2), "(1+2j)"}, {complex(1.5, -2), "(1.5-2j)"},
		{complex(math.Copysign(0, -1), -1), "(-0-1j)"}, {complex(1, math.Inf(1)), "(1+infj)"}, {complex(0, math.NaN()), "nanj"},
		{"it's", `"it's"`}, {`a'b"c`, `'a\'b"c'`}, {"tab\there\n\x00\x7f\u00a0é😀\u200b", `'tab\there\n\x00\x7f\xa0é😀\u200b'`},
		{"bad \xff utf8", `'bad \xff utf8'`},
		{[]byte("a'\x00\xff\\"), `b"a'\x00\xff\\"`}, {[]byte{}, "b''"},
		{[]any{}, "[]"}, {[]any{int64(1), "a"}, "[1, 'a']"},
		{Tuple{}, "()"}, {Tuple{int64(1)}, "(1,)"}, {Tuple{int64(1), int64(2)}, "(1, 2)"},
		{Set{}, "set()"}, {Set{Items: []any{int64(1)}}, "{1}"},
		{Set{Frozen: true}, "frozenset()"}, {Set{Items: []any{"a"}, Frozen: true}, "frozenset({'a'})"},
		{map[string]any{}, "{}"}, {map[string]any{"b": int64(1), "a": nil}, "{'a': None, 'b': 1}"},
		{Dict{{Key: int64(2), Value: "x"}, {Key: Tuple{int64(1)}, Value: nil}}, "{2: 'x', (1,): None}"},
		{OrderedDict{{Key: "z", Value: int64(1)}, {Key: "a", Value: int64(2)}}, "OrderedDict({'z': 1, 'a': 2})"},
		{OrderedDict{}, "OrderedDict()"},
		{frac, "Fraction(1, 3)"}, {*frac, "Fraction(1, 3)"},
		{Slice{Start: int64(1), Stop: nil, Step: int64(2)}, "slice(1, None, 2)"},
		{NDArray{Shape: []int{2, 2}, DType: "<f8", Data: f8}, "array([[1., 2.],\n       [3., 4.]])"},
		{NDArray{Shape: []int{2}, DType: "<i4", Data: []byte{7, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}}, "array([ 7, -1], dtype=int32)"},
		{NDArray{Shape: []int{1}, DType: "<M8", Data: make([]byte, 8)}, "array(shape=[1], dtype='<M8', 8 bytes)"},
		{NPScalar{DType: "<i4", Data: []byte{7, 0, 0, 0}}, "np.int32(7)"},
		{NPScalar{DType: "|b1", Data: []byte{1}}, "np.True_"},
		{[]int32{1, 2}, "[1, 2]"}, {[]uint8{1, 2}, `b'\x01\x02'`}, {map[int]string{2: "b", 1: "a"}, "{1: 'a', 2: 'b'}"},
		{struct {
			Name string
			N    uint16
			priv int
		}{"x", 3, 0}, "{'n': 3, 'name': 'x'}"},
		{(*int)(nil), "None"}, {[]string(nil), "None"}, {errors.New("boom"), "'boom'"},
	}
	for _, tt := range tests {
		if got := Repr(tt.v); got != tt.want {
			t.Errorf("Repr(%#v) = %s, want %s", tt.v, got, tt.want)
		}
	}
}

func TestReprMore(t *testing.T) {
	for _, tt := range []struct {
		v    any
		want string
	}{
		{uint64(math.MaxUint64), "18446744073709551615"},
		{hugeEmpty, "array(shape=[2147483647 0], dtype='<f8', 0 bytes)"},
		{NDArray{Shape: []int{0}, DType: "<f8", Data: []byte{}}, "array([], dtype=float64)"},
		{[]any{Set{Items: []any{Tuple{"a", []byte{0}}}}}, `[{('a', b'\x00')}]`},
		{math.NaN(), "nan"}, {math.Inf(-1), "-inf"},
		{NewFraction(-1, 3), "Fraction(-1, 3)"},
	} {
		if got := Repr(tt.v); got != tt.want {
			t.Errorf("Repr(%#v) = %s, want %s", tt.v, got, tt.want)
		}
	}
}
