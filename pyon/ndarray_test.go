package pyon

import (
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"testing"
)

// bigEndian rewrites a little-endian array of itemsize n as numpy's ">" form.
func bigEndian(a NDArray, n int) NDArray {
	data := make([]byte, len(a.Data))
	for i := 0; i < len(data); i += n {
		for j := 0; j < n; j++ {
			data[i+j] = a.Data[i+n-1-j]
		}
	}
	return NDArray{Shape: a.Shape, DType: ">" + a.DType[1:], Data: data}
}

func TestNDArrayConversions(t *testing.T) {
	f := []float64{1.5, -2, math.Inf(1), 0}
	i64 := []int64{1, -2, math.MaxInt64, math.MinInt64}
	i32 := []int32{1, -2, math.MaxInt32, math.MinInt32}
	b := []bool{true, false, true}
	c := []complex128{complex(1, -1), 0}
	for _, tc := range []struct {
		name string
		a    NDArray
		conv func(NDArray) (any, error)
		want any
	}{
		{"f8", FromFloat64s(f), func(a NDArray) (any, error) { return a.Float64s() }, f},
		{">f8", bigEndian(FromFloat64s(f), 8), func(a NDArray) (any, error) { return a.Float64s() }, f},
		{"i8", FromInt64s(i64), func(a NDArray) (any, error) { return a.Int64s() }, i64},
		{">i8", bigEndian(FromInt64s(i64), 8), func(a NDArray) (any, error) { return a.Int64s() }, i64},
		{"i4", FromInt32s(i32), func(a NDArray) (any, error) { return a.Int32s() }, i32},
		{">i4", bigEndian(FromInt32s(i32), 4), func(a NDArray) (any, error) { return a.Int32s() }, i32},
		{"i4 to i8", FromInt32s(i32), func(a NDArray) (any, error) { return a.Int64s() }, []int64{1, -2, math.MaxInt32, math.MinInt32}},
		{"i4 to f8", FromInt32s([]int32{-3}), func(a NDArray) (any, error) { return a.Float64s() }, []float64{-3}},
		{"b1", FromBools(b), func(a NDArray) (any, error) { return a.Bools() }, b},
		{"b1 to i8", FromBools(b), func(a NDArray) (any, error) { return a.Int64s() }, []int64{1, 0, 1}},
		{"c16", FromComplex128s(c), func(a NDArray) (any, error) { return a.Complex128s() }, c},
		{">c16", bigEndian2(FromComplex128s(c)), func(a NDArray) (any, error) { return a.Complex128s() }, c},
		{"f8 to c16", FromFloat64s([]float64{2}), func(a NDArray) (any, error) { return a.Complex128s() }, []complex128{2}},
		{"u1", NDArray{Shape: []int{2}, DType: "|u1", Data: []byte{255, 0}}, func(a NDArray) (any, error) { return a.Int64s() }, []int64{255, 0}},
		{"i1", NDArray{Shape: []int{2}, DType: "|i1", Data: []byte{255, 0x7f}}, func(a NDArray) (any, error) { return a.Int32s() }, []int32{-1, 127}},
		{">u2", NDArray{Shape: []int{1}, DType: ">u2", Data: []byte{1, 2}}, func(a NDArray) (any, error) { return a.Int64s() }, []int64{258}},
		{"<f4", NDArray{Shape: []int{1}, DType: "<f4", Data: binary.LittleEndian.AppendUint32(nil, math.Float32bits(0.5))}, func(a NDArray) (any, error) { return a.Float64s() }, []float64{0.5}},
		{"<f2", NDArray{Shape: []int{4}, DType: "<f2", Data: []byte{0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x7c}}, func(a NDArray) (any, error) { return a.Float64s() }, []float64{1, -2, math.Ldexp(1, -24), math.Inf(1)}},
		{"<c8", NDArray{Shape: []int{1}, DType: "<c8", Data: binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, math.Float32bits(1)), math.Float32bits(-0.5))}, func(a NDArray) (any, error) { return a.Complex128s() }, []complex128{complex(1, -0.5)}},
		{"2-D", mustMatrix(t, [][]float64{{1, 2, 3}, {4, 5, 6}}), func(a NDArray) (any, error) { return a.Float64s2D() }, [][]float64{{1, 2, 3}, {4, 5, 6}}},
		{"2-D flat", mustMatrix(t, [][]float64{{1, 2}, {3, 4}}), func(a NDArray) (any, error) { return a.Float64s() }, []float64{1, 2, 3, 4}},
		{"empty 2-D", mustMatrix(t, [][]float64{}), func(a NDArray) (any, error) { return a.Float64s2D() }, [][]float64{}},
		{"tolist", mustMatrix(t, [][]float64{{1, 2}}), func(a NDArray) (any, error) { return a.ToList() }, []any{[]any{1.0, 2.0}}},
		{"tolist 0-d", NDArray{Shape: []int{}, DType: "<i8", Data: make([]byte, 8)}, func(a NDArray) (any, error) { return a.ToList() }, int64(0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.conv(tc.a)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func bigEndian2(a NDArray) NDArray { return bigEndian(a, 8) } // c16 is two f8

func mustMatrix(t *testing.T, rows [][]float64) NDArray {
	t.Helper()
	a, err := FromFloat64s2D(rows)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestNDArrayConversionErrors(t *testing.T) {
	u8 := NDArray{Shape: []int{1}, DType: "<u8", Data: []byte{0, 0, 0, 0, 0, 0, 0, 0x80}}
	for _, tc := range []struct {
		name string
		f    func() error
		err  error
	}{
		{"complex to float", func() error { _, err := FromComplex128s(nil).Float64s(); return err }, ErrUnsupported},
		{"float to int", func() error { _, err := FromFloat64s(nil).Int64s(); return err }, ErrUnsupported},
		{"int to bool", func() error { _, err := FromInt64s(nil).Bools(); return err }, ErrUnsupported},
		{"u8 overflow", func() error { _, err := u8.Int64s(); return err }, ErrUnsupported},
		{"i8 to i4 overflow", func() error { _, err := FromInt64s([]int64{1 << 40}).Int32s(); return err }, ErrUnsupported},
		{"1-D to 2-D", func() error { _, err := FromFloat64s(nil).Float64s2D(); return err }, ErrUnsupported},
		{"ragged", func() error { _, err := FromFloat64s2D([][]float64{{1}, {}}); return err }, ErrUnsupported},
		{"string dtype", func() error {
			_, err := (NDArray{Shape: []int{1}, DType: "<U1", Data: make([]byte, 4)}).Float64s()
			return err
		}, ErrUnsupported},
		{"long double", func() error {
			_, err := (NDArray{Shape: []int{1}, DType: "<f16", Data: make([]byte, 16)}).Float64s()
			return err
		}, ErrUnsupported},
		{"short data", func() error {
			_, err := (NDArray{Shape: []int{2}, DType: "<f8", Data: make([]byte, 8)}).Float64s()
			return err
		}, ErrMalformed},
		{"bad dtype", func() error {
			_, err := (NDArray{Shape: []int{1}, DType: "f8", Data: make([]byte, 8)}).Float64s()
			return err
		}, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.f(); !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
		})
	}
}

func TestDTypes(t *testing.T) {
	for _, s := range []string{"<f8", ">f4", "|b1", "<i2", "|u1", "<c16", "<U5", "|S3", "|V16", "<M8[s]", ">m8[ns]", "=f8", "|S0", "<f16"} {
		if d, err := parseDType(s); err != nil || d.String() != s {
			t.Errorf("parseDType(%q) = %v, %v", s, d, err)
		}
	}
	for _, s := range []string{"", "f8", "<f", "<f3", "<i3", "|b2", "<x8", "<f8[s]", "<M8[s", "|O8", "<i-1", "<f99999999"} {
		if _, err := parseDType(s); !errors.Is(err, ErrMalformed) {
			t.Errorf("parseDType(%q) = %v, want ErrMalformed", s, err)
		}
	}
}

func TestNPScalar(t *testing.T) {
	for _, tc := range []struct {
		go_  any
		want any
	}{
		{true, true}, {int8(-1), int64(-1)}, {uint8(200), uint64(200)},
		{int16(-300), int64(-300)}, {uint16(60000), uint64(60000)},
		{int32(7), int64(7)}, {uint32(1 << 31), uint64(1 << 31)},
		{7, int64(7)}, {int64(math.MinInt64), int64(math.MinInt64)},
		{uint(3), uint64(3)}, {uint64(math.MaxUint64), uint64(math.MaxUint64)},
		{float32(0.5), 0.5}, {2.5, 2.5},
		{complex64(complex(1, 2)), complex(1, 2)}, {complex(3, 4), complex(3, 4)},
	} {
		s, err := ScalarOf(tc.go_)
		if err != nil {
			t.Fatalf("ScalarOf(%T): %v", tc.go_, err)
		}
		if v, err := s.Value(); err != nil || v != tc.want {
			t.Errorf("ScalarOf(%T %v).Value() = %#v, %v; want %#v", tc.go_, tc.go_, v, err, tc.want)
		}
	}
	if _, err := ScalarOf("x"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("ScalarOf(string) = %v", err)
	}
	for _, tc := range []struct {
		s    NPScalar
		want any
	}{
		{NPScalar{DType: ">i4", Data: []byte{0, 0, 1, 0}}, int64(256)},
		{NPScalar{DType: "|S3", Data: []byte("ab\x00")}, []byte("ab")},
		{NPScalar{DType: "<U2", Data: []byte{0xe9, 0, 0, 0, 0, 0, 0, 0}}, "é"},
		{NPScalar{DType: ">U1", Data: []byte{0, 1, 0xf6, 0x00}}, "\U0001F600"},
	} {
		if v, err := tc.s.Value(); err != nil || !reflect.DeepEqual(v, tc.want) {
			t.Errorf("%v.Value() = %#v, %v; want %#v", tc.s, v, err, tc.want)
		}
	}
	dt := NPScalar{DType: "<M8[s]", Data: make([]byte, 8)}
	if _, err := dt.Value(); !errors.Is(err, ErrUnsupported) {
		t.Errorf("datetime64 Value() = %v, want ErrUnsupported", err)
	}
	if f, err := (NPScalar{DType: "<i4", Data: []byte{7, 0, 0, 0}}).Float64(); f != 7 || err != nil {
		t.Errorf("Float64() = %v, %v", f, err)
	}
	if _, err := (NPScalar{DType: "<c16", Data: make([]byte, 16)}).Float64(); !errors.Is(err, ErrUnsupported) {
		t.Errorf("complex Float64() = %v", err)
	}
	if i, err := (NPScalar{DType: "|b1", Data: []byte{1}}).Int64(); i != 1 || err != nil {
		t.Errorf("bool Int64() = %v, %v", i, err)
	}
	if _, err := (NPScalar{DType: "<f8", Data: make([]byte, 8)}).Int64(); !errors.Is(err, ErrUnsupported) {
		t.Errorf("float Int64() = %v", err)
	}
}

func TestListToNDArray(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		want NDArray
	}{
		{"floats", []any{1.0, int64(2)}, FromFloat64s([]float64{1, 2})},
		{"ints", Tuple{int64(1), true}, FromInt64s([]int64{1, 1})},
		{"bools", []bool{true, false}, FromBools([]bool{true, false})},
		{"complex", []any{complex(0, 1), int64(1)}, FromComplex128s([]complex128{complex(0, 1), 1})},
		{"empty", []any{}, FromFloat64s([]float64{})},
		{"2-D", []any{[]any{1.0, 2.0}, []any{3.0, 4.0}}, mustMatrix(t, [][]float64{{1, 2}, {3, 4}})},
		{"scalar", 2.5, NDArray{Shape: []int{}, DType: "<f8", Data: FromFloat64s([]float64{2.5}).Data}},
		{"npscalars", []any{NPScalar{DType: "|i1", Data: []byte{5}}}, FromInt64s([]int64{5})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ListToNDArray(tc.in)
			if err != nil || !equal(got, tc.want) {
				t.Fatalf("got %#v, %v; want %#v", got, err, tc.want)
			}
		})
	}
	for _, bad := range []any{[]any{1.0, []any{2.0}}, []any{[]any{1.0}, 2.0}, []any{[]any{1.0}, []any{}}, []any{"x"}, nil} {
		if a, err := ListToNDArray(bad); err == nil {
			t.Errorf("ListToNDArray(%#v) = %v, want an error", bad, a)
		}
	}
}
