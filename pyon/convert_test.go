package pyon

import (
	"errors"
	"math"
	"math/big"
	"net/netip"
	"reflect"
	"testing"
)

type settings struct {
	Gain      float64
	Channels  []int
	UserID    int64
	Name      string `pyon:"label"`
	Enabled   *bool
	Tags      map[string]string
	embeddedS `json:",omitempty"`
}

type embeddedS struct{ Offset float32 }

type namer interface{ Name() string }

func TestConvert(t *testing.T) {
	yes := true
	big70 := new(big.Int).Lsh(big.NewInt(1), 70)
	for _, tc := range []struct {
		name string
		in   any
		dst  any // pointer to the target type
		want any
	}{
		{"int to float", int64(3), new(float64), 3.0},
		{"float to float32", 2.5, new(float32), float32(2.5)},
		{"big to float", big70, new(float64), math.Ldexp(1, 70)},
		{"fraction to float", NewFraction(1, 4), new(float64), 0.25},
		{"int to int8", int64(-128), new(int8), int8(-128)},
		{"integral float to int", 5.0, new(int), 5},
		{"int to uint16", int64(65535), new(uint16), uint16(65535)},
		{"uint64 max", new(big.Int).SetUint64(math.MaxUint64), new(uint64), uint64(math.MaxUint64)},
		{"msgpack int8 to int", int8(4), new(int), 4},
		{"npscalar to int", NPScalar{DType: "<i4", Data: []byte{7, 0, 0, 0}}, new(int32), int32(7)},
		{"npscalar to float", NPScalar{DType: "<i4", Data: []byte{7, 0, 0, 0}}, new(float64), 7.0},
		{"complex", complex(1, 2), new(complex64), complex64(complex(1, 2))},
		{"float to complex", 1.5, new(complex128), complex(1.5, 0)},
		{"string", "x", new(string), "x"},
		{"bool", true, new(bool), true},
		{"list to []float64", []any{int64(1), 2.5}, new([]float64), []float64{1, 2.5}},
		{"tuple to []int", Tuple{int64(1), int64(2)}, new([]int), []int{1, 2}},
		{"set to []string", Set{Items: []any{"a"}}, new([]string), []string{"a"}},
		{"tuple to array", Tuple{int64(1), int64(2)}, new([2]int), [2]int{1, 2}},
		{"bytes", []byte("ab"), new([]byte), []byte("ab")},
		{"bytes to array", []byte("ab"), new([2]byte), [2]byte{'a', 'b'}},
		{"list of ints to []byte", []any{int64(1)}, new([]byte), []byte{1}},
		{"nested", []any{[]any{int64(1)}, []any{}}, new([][]float64), [][]float64{{1}, {}}},
		{"None to slice", nil, new([]int), []int(nil)},
		{"None to pointer", nil, new(*int), (*int)(nil)},
		{"to pointer", int64(3), new(*int), ptr(3)},
		{"typed nil to pointer", (*float64)(nil), new(*int), (*int)(nil)},
		{"Go pointer to value", ptr(int8(2)), new(int), 2},
		{"ndarray to []float64", FromFloat64s([]float64{1, 2}), new([]float64), []float64{1, 2}},
		{"ndarray to []int64", FromInt32s([]int32{1, 2}), new([]int64), []int64{1, 2}},
		{"ndarray to []int32", FromInt32s([]int32{1, 2}), new([]int32), []int32{1, 2}},
		{"ndarray to []bool", FromBools([]bool{true}), new([]bool), []bool{true}},
		{"ndarray to []complex128", FromFloat64s([]float64{1}), new([]complex128), []complex128{1}},
		{"ndarray to [][]float64", mustMatrix(t, [][]float64{{1, 2}}), new([][]float64), [][]float64{{1, 2}}},
		{"ndarray to [][]int", mustMatrix(t, [][]float64{{1, 2}}), new([][]int), [][]int{{1, 2}}},
		{"ndarray to []float32", FromFloat64s([]float64{0.5}), new([]float32), []float32{0.5}},
		{"list to ndarray", []any{1.0, 2.0}, new(NDArray), FromFloat64s([]float64{1, 2})},
		{"int to npscalar", int64(5), new(NPScalar), NPScalar{DType: "<i8", Data: []byte{5, 0, 0, 0, 0, 0, 0, 0}}},
		{"dict to map", map[string]any{"a": int64(1)}, new(map[string]float64), map[string]float64{"a": 1}},
		{"Dict to map[int]", Dict{{int64(1), "x"}}, new(map[int]string), map[int]string{1: "x"}},
		{"Dict tuple keys to array keys", Dict{{Tuple{int64(1), int64(2)}, true}}, new(map[[2]int]bool), map[[2]int]bool{{1, 2}: true}},
		{"msgpack map[any]any", map[any]any{int8(1): "x"}, new(map[int]string), map[int]string{1: "x"}},
		{"struct", map[string]any{"gain": int64(2), "channels": []any{int64(1)}, "UserID": int64(4), "label": "l", "enabled": true, "tags": map[string]any{"a": "b"}, "offset": 0.5},
			new(settings), settings{Gain: 2, Channels: []int{1}, UserID: 4, Name: "l", Enabled: &yes, Tags: map[string]string{"a": "b"}, embeddedS: embeddedS{0.5}}},
		{"struct from OrderedDict", OrderedDict{{"user_id", int64(9)}}, new(settings), settings{UserID: 9}},
		{"to any", Tuple{int64(1)}, new(any), Tuple{int64(1)}},
		{"list to Tuple", []any{int64(1)}, new(Tuple), Tuple{int64(1)}},
		{"list to Set", []any{int64(1)}, new(Set), Set{Items: []any{int64(1)}}},
		{"map to Dict", map[string]any{"b": int64(1), "a": int64(2)}, new(Dict), Dict{{"a", int64(2)}, {"b", int64(1)}}},
		{"int to *big.Int", int64(5), new(*big.Int), big.NewInt(5)},
		{"int to *Fraction", int64(5), new(*Fraction), NewFraction(5, 1)},
		{"float to big.Rat", 0.5, new(big.Rat), *big.NewRat(1, 2)},
		{"text unmarshaler", "10.0.0.1", new(netip.Addr), netip.MustParseAddr("10.0.0.1")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Convert(tc.in, tc.dst); err != nil {
				t.Fatal(err)
			}
			got := reflect.ValueOf(tc.dst).Elem().Interface()
			if !reflect.DeepEqual(got, tc.want) && !equal(got, tc.want) {
				if a, ok := got.(*big.Int); !ok || a.Cmp(tc.want.(*big.Int)) != 0 {
					if a, ok := got.(*Fraction); !ok || a.Cmp(&tc.want.(*Fraction).Rat) != 0 {
						t.Fatalf("got %#v, want %#v", got, tc.want)
					}
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestConvertErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		dst  any
		want string
	}{
		{"string as float", "x", new(float64), `cannot use string "x" as float64`},
		{"None as int", nil, new(int), `cannot use None as int`},
		{"fractional float as int", 1.5, new(int), `cannot use float 1.5 as int: not an integer`},
		{"overflow", int64(300), new(int8), `cannot use int 300 as int8: out of range`},
		{"negative uint", int64(-1), new(uint), `cannot use int -1 as uint: negative`},
		{"big overflow", new(big.Int).Lsh(big.NewInt(1), 70), new(int64), `cannot use int 1180591620717411303424 as int64: out of range`},
		{"float32 overflow", 1e300, new(float32), `cannot use float 1e+300 as float32: out of range`},
		{"bool as int", true, new(int), `cannot use bool True as int`},
		{"bytes as string", []byte("x"), new(string), `cannot use bytes (1 bytes) as string`},
		{"in list", []any{1.0, "x"}, new([]float64), `cannot use string "x" as float64 (at [1])`},
		{"array length", []any{int64(1)}, new([2]int), `cannot use list of 1 as [2]int: wants 2 elements`},
		{"in struct", map[string]any{"channels": []any{"a"}}, new(settings), `cannot use string "a" as int (at .channels[0])`},
		{"unknown field", map[string]any{"nope": 1}, new(settings), `cannot use dict of 1 as pyon.settings: unknown field "nope"`},
		{"map value", map[string]any{"a": "x"}, new(map[string]int), `cannot use string "x" as int (at ["a"])`},
		{"map key", Dict{{"x", int64(1)}}, new(map[int]int), `cannot use string "x" as int (at [key string "x"])`},
		{"2-D array to []float64", mustMatrix(t, [][]float64{{1}}), new([]float64), `cannot use numpy array (dtype <f8, shape [1 1]) as []float64: a 2-D array is not a 1-D sequence`},
		{"complex array to []float64", FromComplex128s([]complex128{1}), new([]float64), `cannot use numpy array (dtype <c16, shape [1]) as []float64: pyon: unsupported value: cannot convert a numpy array of dtype <c16 to []float64`},
		{"interface", int64(1), new(namer), `cannot use int 1 as pyon.namer`},
		{"list to ndarray", []any{"a"}, new(NDArray), `cannot use list of 1 as pyon.NDArray: element string "a" is not a number`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Convert(tc.in, tc.dst)
			var ce *ConvertError
			if !errors.As(err, &ce) || err.Error() != tc.want {
				t.Fatalf("err = %v\nwant %s", err, tc.want)
			}
		})
	}
	if err := Convert(1, 2); err == nil {
		t.Error("Convert into a non-pointer succeeded")
	}
	if err := DecodeInto(1, reflect.ValueOf(2)); err == nil {
		t.Error("DecodeInto an unsettable value succeeded")
	}
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"SetAttenuation": "set_attenuation", "HTTPServer": "http_server",
		"UserID": "user_id", "Base64Data": "base64_data", "X": "x",
		"getRPCMethodList": "get_rpc_method_list", "already_snake": "already_snake",
		"Float64s2D": "float64s2d",
	} {
		if got := SnakeCase(in); got != want {
			t.Errorf("SnakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}
