package pyon

import (
	"bytes"
	"math"
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func TestMsgpackIntoAny(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		want any
	}{
		{"tuple is an array", Tuple{int64(1), "a"}, []any{int64(1), "a"}},
		{"set is an array", Set{Items: []any{"a", "b"}}, []any{"a", "b"}},
		{"dict is a map", Dict{{int64(1), "a"}}, map[any]any{int64(1): "a"}},
		{"ordered dict is a map", OrderedDict{{"k", true}}, map[any]any{"k": true}},
		{"ndarray is nested arrays", mustMatrix(t, [][]float64{{1, 2}}), []any{[]any{1.0, 2.0}}},
		{"npscalar is its value", NPScalar{DType: "<f8", Data: FromFloat64s([]float64{1.5}).Data}, 1.5},
		{"complex is an extension", complex(1, -2), complex(1, -2)},
		{"fraction is an extension", NewFraction(1, 3), NewFraction(1, 3)},
		{"fraction value", *NewFraction(-2, 5), NewFraction(-2, 5)},
		{"slice is an extension", Slice{Start: int64(1), Stop: nil, Step: int64(2)}, Slice{Start: int64(1), Step: int64(2)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := msgpack.Marshal(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			// As a native receiver would have to for non-string keys.
			dec := msgpack.NewDecoder(bytes.NewReader(b))
			dec.SetMapDecoder(func(d *msgpack.Decoder) (any, error) { return d.DecodeUntypedMap() })
			got, err := dec.DecodeInterface()
			if err != nil {
				t.Fatal(err)
			}
			if !equal(got, tc.want) {
				if f, ok := got.(*Fraction); !ok || f.Cmp(&tc.want.(*Fraction).Rat) != 0 {
					t.Fatalf("got %#v (%T), want %#v", got, got, tc.want)
				}
			}
		})
	}
}

// TestMsgpackIntoTypes decodes into the Go types a native server's
// parameters would have.
func TestMsgpackIntoTypes(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		dst  any
		want any
	}{
		{"tuple into []int", Tuple{int64(1), int64(2)}, new([]int), []int{1, 2}},
		{"set into []string", Set{Items: []any{"a"}}, new([]string), []string{"a"}},
		{"set into Set", Set{Items: []any{"a"}}, new(Set), Set{Items: []any{"a"}}},
		{"dict into map[int]string", Dict{{int64(1), "a"}}, new(map[int]string), map[int]string{1: "a"}},
		{"dict into Dict keeps order", Dict{{"b", int64(1)}, {"a", int64(2)}}, new(Dict), Dict{{"b", int64(1)}, {"a", int64(2)}}},
		{"ordered dict into OrderedDict", OrderedDict{{"b", int64(1)}}, new(OrderedDict), OrderedDict{{"b", int64(1)}}},
		{"ndarray into [][]float64", mustMatrix(t, [][]float64{{1, 2}, {3, 4}}), new([][]float64), [][]float64{{1, 2}, {3, 4}}},
		{"ndarray into NDArray", FromFloat64s([]float64{1, 2}), new(NDArray), FromFloat64s([]float64{1, 2})},
		{"npscalar into int32", NPScalar{DType: "<i4", Data: []byte{7, 0, 0, 0}}, new(int32), int32(7)},
		{"npscalar into NPScalar", NPScalar{DType: "<f8", Data: FromFloat64s([]float64{2}).Data}, new(NPScalar), NPScalar{DType: "<f8", Data: FromFloat64s([]float64{2}).Data}},
		{"complex into complex128", complex(0.5, math.Inf(1)), new(complex128), complex(0.5, math.Inf(1))},
		{"fraction into *Fraction", NewFraction(3, 4), new(*Fraction), NewFraction(3, 4)},
		{"slice into Slice", Slice{Stop: "x"}, new(Slice), Slice{Stop: "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := msgpack.Marshal(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if err := msgpack.Unmarshal(b, tc.dst); err != nil {
				t.Fatal(err)
			}
			got := reflect.ValueOf(tc.dst).Elem().Interface()
			if !reflect.DeepEqual(got, tc.want) && !equal(got, tc.want) {
				if f, ok := got.(*Fraction); !ok || f.Cmp(&tc.want.(*Fraction).Rat) != 0 {
					t.Fatalf("got %#v, want %#v", got, tc.want)
				}
			}
		})
	}
}

func TestMsgpackErrors(t *testing.T) {
	if _, err := msgpack.Marshal(NDArray{Shape: []int{1}, DType: "<M8[s]", Data: make([]byte, 8)}); err == nil {
		t.Error("a datetime array encoded to msgpack")
	}
	b, _ := msgpack.Marshal([]any{"x"})
	var a NDArray
	if err := msgpack.Unmarshal(b, &a); err == nil {
		t.Error("a list of strings decoded into an NDArray")
	}
	var c complex128
	bad := []byte{0xd5, byte(ExtComplex), 0, 0} // fixext2: wrong length
	if err := msgpack.Unmarshal(bad, &c); err == nil {
		t.Error("a 2-byte complex extension decoded")
	}
}
