package pyon

import (
	"errors"
	"math"
	"math/big"
	"testing"
	"time"
)

func TestPyFloat(t *testing.T) {
	// Expected texts are what Python's json.dumps writes.
	for _, tc := range []struct {
		f    float64
		want string
	}{
		{0, "0.0"}, {math.Copysign(0, -1), "-0.0"}, {1, "1.0"}, {2.5, "2.5"},
		{0.1, "0.1"}, {1e16, "1e+16"}, {1e15, "1000000000000000.0"},
		{123456789012345678, "1.2345678901234568e+17"}, {0.0001, "0.0001"},
		{0.00001, "1e-05"}, {1.5e-7, "1.5e-07"}, {1e300, "1e+300"},
		{5e-324, "5e-324"}, {math.MaxFloat64, "1.7976931348623157e+308"},
		{9999999999999998, "9999999999999998.0"}, {1e22, "1e+22"},
		{-123.456, "-123.456"}, {math.Inf(1), "Infinity"},
		{math.Inf(-1), "-Infinity"}, {math.NaN(), "NaN"},
	} {
		if got := string(appendPyFloat(nil, tc.f, 64)); got != tc.want {
			t.Errorf("appendPyFloat(%v) = %s, want %s", tc.f, got, tc.want)
		}
	}
	if got, _ := Encode(float32(0.1)); string(got) != "0.1" {
		t.Errorf("Encode(float32(0.1)) = %s, want 0.1", got)
	}
}

type point struct {
	X, Y     float64
	Label    string `pyon:"name"`
	Hidden   int    `json:"-"`
	Opt      *int   `json:"opt,omitempty"`
	UserID   int
	internal int
}

type embedded struct {
	point
	Extra bool
}

type textKey struct{ s string }

func (k textKey) MarshalText() ([]byte, error) { return []byte("k:" + k.s), nil }

func TestEncode(t *testing.T) {
	n := 3
	big70 := new(big.Int).Lsh(big.NewInt(1), 70)
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"nil", nil, "null"},
		{"bools", []bool{true, false}, "[true,false]"},
		{"ints", []any{1, int8(-2), uint16(3), int64(math.MinInt64), uint64(math.MaxUint64)}, "[1,-2,3,-9223372036854775808,18446744073709551615]"},
		{"big", big70, "1180591620717411303424"},
		{"big value", *big70, "1180591620717411303424"},
		{"float", 1.0, "1.0"},
		{"string", "ab\nx\"'", `"ab\nx\"'"`},
		{"unicode", "é", `"é"`},
		{"bytes", []byte("\x00\xffbytes"), `{"__jsonclass__":["bytes",["AP9ieXRlcw=="]]}`},
		{"byte array", [2]byte{1, 2}, `{"__jsonclass__":["bytes",["AQI="]]}`},
		{"complex", complex(1, 2), `{"__jsonclass__":["complex",[1.0,2.0]]}`},
		{"complex64", complex64(complex(0.1, -1)), `{"__jsonclass__":["complex",[0.1,-1.0]]}`},
		{"fraction", NewFraction(2, 6), `{"__jsonclass__":["Fraction",[1,3]]}`},
		{"big.Rat", big.NewRat(-3, 4), `{"__jsonclass__":["Fraction",[-3,4]]}`},
		{"tuple", Tuple{4, 5}, `{"__jsonclass__":["tuple",[[4,5]]]}`},
		{"1-tuple", Tuple{10}, `{"__jsonclass__":["tuple",[[10]]]}`},
		{"empty tuple", Tuple{}, `{"__jsonclass__":["tuple",[[]]]}`},
		{"set", Set{Items: []any{1, 2}}, `{"__jsonclass__":["set",[[1,2]]]}`},
		{"frozenset as set", Set{Items: []any{"a"}, Frozen: true}, `{"__jsonclass__":["set",[["a"]]]}`},
		{"dict", Dict{{"a", 5}, {2, "int key"}}, `{"__jsonclass__":["dict",[[["a",5],[2,"int key"]]]]}`},
		{"dict of strings", Dict{{"z", 1}, {"a", 2}}, `{"z":1,"a":2}`},
		{"tuple key", Dict{{Tuple{1, 2}, "tuple key"}}, `{"__jsonclass__":["dict",[[[{"__jsonclass__":["tuple",[[1,2]]]},"tuple key"]]]]}`},
		{"ordered", OrderedDict{{"b", 1}, {"a", 2}}, `{"__jsonclass__":["OrderedDict",[[["b",1],["a",2]]]]}`},
		{"slice", Slice{Stop: 3}, `{"__jsonclass__":["slice",[null,3,null]]}`},
		{"nparray", FromInt32s([]int32{1, -1}), `{"__jsonclass__":["nparray",[[2],"<i4","AQAAAP////8="]]}`},
		{"nparray ptr", &NDArray{Shape: []int{}, DType: "|b1", Data: []byte{1}}, `{"__jsonclass__":["nparray",[[],"|b1","AQ=="]]}`},
		{"npscalar", NPScalar{DType: "<i4", Data: []byte{7, 0, 0, 0}}, `{"__jsonclass__":["npscalar",["<i4","BwAAAA=="]]}`},
		{"map sorted", map[string]int{"b": 1, "a": 2}, `{"a":2,"b":1}`},
		{"map int keys", map[int]string{2: "b", 1: "a"}, `{"__jsonclass__":["dict",[[[1,"a"],[2,"b"]]]]}`},
		{"map array keys are tuples", map[[2]int]bool{{1, 2}: true}, `{"__jsonclass__":["dict",[[[{"__jsonclass__":["tuple",[[1,2]]]},true]]]]}`},
		{"nil slice", []float64(nil), "[]"},
		{"nil map", map[string]int(nil), "{}"},
		{"nil pointer", (*int)(nil), "null"},
		{"pointer", &n, "3"},
		{"struct", point{X: 1, Y: 2.5, Label: "p", Hidden: 9, UserID: 4}, `{"x":1.0,"y":2.5,"name":"p","user_id":4}`},
		{"struct omitempty set", point{Opt: &n}, `{"x":0.0,"y":0.0,"name":"","opt":3,"user_id":0}`},
		{"embedded", embedded{point: point{X: 1}, Extra: true}, `{"extra":true,"x":1.0,"y":0.0,"name":"","user_id":0}`},
		{"text marshaler", textKey{"a"}, `"k:a"`},
		{"error", errors.New("boom"), `"boom"`},
		{"duration is an int", 2 * time.Second, "2000000000"},
		{"infinities", []any{math.Inf(1), math.Inf(-1), math.NaN()}, "[Infinity,-Infinity,NaN]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Encode(tc.v)
			if err != nil || string(got) != tc.want {
				t.Fatalf("Encode = %s, %v\nwant %s", got, err, tc.want)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	type cyc struct{ Next *cyc }
	loop := &cyc{}
	loop.Next = loop
	for _, tc := range []struct {
		name string
		v    any
		err  error
		path string
	}{
		{"chan", make(chan int), ErrUnsupported, ""},
		{"func in list", []any{1, func() {}}, ErrUnsupported, "/1"},
		{"func in map", map[string]any{"a": []any{func() {}}}, ErrUnsupported, "/a/0"},
		{"func in tuple", Tuple{1, func() {}}, ErrUnsupported, "/__jsonclass__/1/0/1"},
		{"jsonclass key", map[string]any{"__jsonclass__": 1}, ErrUnsupported, "/__jsonclass__"},
		{"list as set item", Set{Items: []any{[]any{1}}}, ErrUnsupported, "/__jsonclass__/1/0/0"},
		{"list as dict key", Dict{{[]any{1}, 2}}, ErrUnsupported, "/__jsonclass__/1/0/0/0"},
		{"dict in tuple key", Dict{{Tuple{map[string]any{}}, 2}}, ErrUnsupported, "/__jsonclass__/1/0/0/0/__jsonclass__/1/0/0"},
		{"bad array", NDArray{Shape: []int{3}, DType: "<f8", Data: make([]byte, 8)}, ErrMalformed, ""},
		{"object array", NDArray{Shape: []int{0}, DType: "|O8"}, ErrMalformed, ""},
		{"bad scalar", NPScalar{DType: "<i4", Data: []byte{1}}, ErrMalformed, ""},
		{"cycle", loop, ErrTooDeep, ""},
		// One walker for every wire: what Normalize refuses, Encode does.
		{"time in a struct", struct{ At time.Time }{}, ErrUnsupported, "/at"},
		{"error in a slice", []error{errors.New("x")}, ErrUnsupported, "/0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Append([]byte("keep"), tc.v)
			var ee *EncodeError
			if !errors.Is(err, tc.err) || !errors.As(err, &ee) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if tc.name != "cycle" && ee.Path != tc.path {
				t.Errorf("path = %q, want %q (%v)", ee.Path, tc.path, err)
			}
			if string(out) != "keep" {
				t.Errorf("Append changed dst on error: %q", out)
			}
		})
	}
}

func TestEncodeFrozenSetKey(t *testing.T) {
	v := Dict{{Set{Items: []any{1}, Frozen: true}, Set{Items: []any{Set{Items: []any{2}, Frozen: true}}}}}
	want := `{"__jsonclass__":["dict",[[[{"__jsonclass__":["frozenset",[[1]]]},{"__jsonclass__":["set",[[{"__jsonclass__":["frozenset",[[2]]]}]]]}]]]]}`
	if got, err := Encode(v); err != nil || string(got) != want {
		t.Fatalf("Encode = %s, %v\nwant %s", got, err, want)
	}
}
