package pyon

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func bigOfString(s string) *big.Int {
	x, _ := new(big.Int).SetString(s, 10)
	return x
}

// msgpackValues are the value model's types and what decoding gives back.
func msgpackValues(t *testing.T) []struct {
	name     string
	in, want any
} {
	f := *NewFraction(-2, 6)
	return []struct {
		name     string
		in, want any
	}{
		{"nil", nil, nil},
		{"bool", true, true},
		{"small int", 7, int64(7)},
		{"negative int", int32(-300), int64(-300)},
		{"uint64", uint64(math.MaxUint64), uint64(math.MaxUint64)},
		{"big int", bigOfString("123456789012345678901234567890"), bigOfString("123456789012345678901234567890")},
		{"negative big int", bigOfString("-123456789012345678901234567890"), bigOfString("-123456789012345678901234567890")},
		{"big int that fits", big.NewInt(5), int64(5)},
		{"float", 1.5, 1.5},
		{"nan", math.NaN(), math.NaN()},
		{"-inf", math.Inf(-1), math.Inf(-1)},
		{"float32", float32(0.5), 0.5},
		{"complex", complex(1, -2), complex(1, -2)},
		{"str", "héllo", "héllo"},
		{"bytes", []byte{0, 0xff}, []byte{0, 0xff}},
		{"empty bytes", []byte{}, []byte{}},
		{"list", []any{int64(1), "a", nil}, []any{int64(1), "a", nil}},
		{"tuple", Tuple{int64(1), Tuple{}}, Tuple{int64(1), Tuple{}}},
		{"set", Set{Items: []any{"a", int64(1)}}, Set{Items: []any{"a", int64(1)}}},
		{"frozenset", Set{Items: []any{int64(2)}, Frozen: true}, Set{Items: []any{int64(2)}, Frozen: true}},
		{"dict of strings", map[string]any{"b": int64(1), "a": []any{}}, map[string]any{"b": int64(1), "a": []any{}}},
		{"dict with any keys", Dict{{int64(1), "a"}, {Tuple{"x", int64(2)}, nil}, {"s", true}}, Dict{{int64(1), "a"}, {Tuple{"x", int64(2)}, nil}, {"s", true}}},
		{"ordered dict", OrderedDict{{"b", int64(1)}, {int64(0), "z"}}, OrderedDict{{"b", int64(1)}, {int64(0), "z"}}},
		{"fraction", NewFraction(1, 3), *NewFraction(1, 3)},
		{"fraction value", f, f},
		{"slice", Slice{Start: int64(1), Step: int64(-1)}, Slice{Start: int64(1), Step: int64(-1)}},
		{"ndarray", mustMatrix(t, [][]float64{{1, 2}, {3, 4}}), mustMatrix(t, [][]float64{{1, 2}, {3, 4}})},
		{"empty ndarray", NDArray{Shape: []int{3, 0}, DType: "<i4", Data: []byte{}}, NDArray{Shape: []int{3, 0}, DType: "<i4", Data: []byte{}}},
		{"npscalar", NPScalar{DType: "<i4", Data: []byte{7, 0, 0, 0}}, NPScalar{DType: "<i4", Data: []byte{7, 0, 0, 0}}},
		{"packed ints", []int64{1, -1 << 40}, []any{int64(1), int64(-1 << 40)}},
		{"packed floats", []float64{0.5, math.Inf(1)}, []any{0.5, math.Inf(1)}},
		{"empty packed", []float64{}, []any{}},
		{"nested", []any{map[string]any{"t": Tuple{Set{Items: []any{}}}}}, []any{map[string]any{"t": Tuple{Set{Items: []any{}}}}}},
	}
}

func TestMsgpackRoundTrip(t *testing.T) {
	for _, tc := range msgpackValues(t) {
		t.Run(tc.name, func(t *testing.T) {
			b, err := AppendMsgpack(nil, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeMsgpack(b)
			if err != nil {
				t.Fatalf("%v (% x)", err, b)
			}
			if !equal(got, tc.want) {
				t.Fatalf("got %#v (%T), want %#v", got, got, tc.want)
			}
			// The same through a msgpack.Decoder, and through the
			// library's reflection (EncodeMsgpack methods, registered
			// extensions) on the encoding side.
			var md MsgpackDecoder
			got, err = md.Read(msgpack.NewDecoder(bytes.NewReader(b)))
			if err != nil || !equal(got, tc.want) {
				t.Fatalf("Read: %#v, %v", got, err)
			}
			lib, err := msgpack.Marshal(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := DecodeMsgpack(lib); err != nil || !equal(got, tc.want) {
				t.Fatalf("msgpack.Marshal then DecodeMsgpack: %#v, %v (% x)", got, err, lib)
			}
		})
	}
}

// TestMsgpackLibraryDecodes decodes with msgpack.Decoder: complex and big
// ints into `any` (the registered extensions), the pyon types through
// their DecodeMsgpack methods.
func TestMsgpackLibraryDecodes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in, want any
	}{
		{"complex", complex(0.5, math.Inf(1)), complex(0.5, math.Inf(1))},
		{"big int", bigOfString("99999999999999999999999"), bigOfString("99999999999999999999999")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := AppendMsgpack(nil, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := msgpack.NewDecoder(bytes.NewReader(b)).DecodeInterface()
			if err != nil {
				t.Fatal(err)
			}
			if !equal(got, tc.want) {
				t.Fatalf("got %#v (%T), want %#v", got, got, tc.want)
			}
		})
	}
	// Into the pyon types and into ordinary Go types through Convert.
	for _, tc := range []struct {
		name string
		in   any
		dst  any
		want any
	}{
		{"set into Set", Set{Items: []any{"a"}}, new(Set), Set{Items: []any{"a"}}},
		{"frozenset into Set", Set{Items: []any{"a"}, Frozen: true}, new(Set), Set{Items: []any{"a"}, Frozen: true}},
		{"complex into complex128", complex(1, 2), new(complex128), complex(1, 2)},
		{"tuple into Tuple", Tuple{"a"}, new(Tuple), Tuple{"a"}},
		{"dict into Dict keeps order", Dict{{"b", int64(1)}, {"a", int64(2)}}, new(Dict), Dict{{"b", int64(1)}, {"a", int64(2)}}},
		{"ordered dict into OrderedDict", OrderedDict{{"b", int64(1)}}, new(OrderedDict), OrderedDict{{"b", int64(1)}}},
		{"ndarray into NDArray", FromFloat64s([]float64{1, 2}), new(NDArray), FromFloat64s([]float64{1, 2})},
		{"list into NDArray", []any{1.0, 2.0}, new(NDArray), FromFloat64s([]float64{1, 2})},
		{"npscalar into NPScalar", NPScalar{DType: "<f8", Data: FromFloat64s([]float64{2}).Data}, new(NPScalar), NPScalar{DType: "<f8", Data: FromFloat64s([]float64{2}).Data}},
		{"fraction into Fraction", NewFraction(3, 4), new(Fraction), *NewFraction(3, 4)},
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
			if !equal(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

// TestMsgpackConvert is the path a native server takes: decode to `any`,
// then Convert into the parameter's type.
func TestMsgpackConvert(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		dst  any
		want any
	}{
		{"tuple into []int", Tuple{int64(1), int64(2)}, new([]int), []int{1, 2}},
		{"set into []string", Set{Items: []any{"a"}}, new([]string), []string{"a"}},
		{"dict into map[int]string", Dict{{int64(1), "a"}}, new(map[int]string), map[int]string{1: "a"}},
		{"ndarray into [][]float64", mustMatrix(t, [][]float64{{1, 2}, {3, 4}}), new([][]float64), [][]float64{{1, 2}, {3, 4}}},
		{"npscalar into int32", NPScalar{DType: "<i4", Data: []byte{7, 0, 0, 0}}, new(int32), int32(7)},
		{"big int into *big.Int", bigOfString("99999999999999999999999"), new(*big.Int), bigOfString("99999999999999999999999")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := AppendMsgpack(nil, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			v, err := DecodeMsgpack(b)
			if err != nil {
				t.Fatal(err)
			}
			if err := Convert(v, tc.dst); err != nil {
				t.Fatal(err)
			}
			got := reflect.ValueOf(tc.dst).Elem().Interface()
			if !reflect.DeepEqual(got, tc.want) && !equal(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestMsgpackEncodeErrors(t *testing.T) {
	if _, err := AppendMsgpack(nil, NDArray{Shape: []int{2}, DType: "<f8", Data: make([]byte, 8)}); err == nil {
		t.Error("an array with too little data encoded")
	}
	if _, err := AppendMsgpack(nil, make(chan int)); err == nil {
		t.Error("a channel encoded")
	}
}

// ext returns an extension holding payload (msgpack of p).
func ext(t *testing.T, id int8, p any) []byte {
	t.Helper()
	b, err := AppendMsgpack(nil, p)
	if err != nil {
		t.Fatal(err)
	}
	h := []byte{0xc9, 0, 0, 0, 0, byte(id)}
	h[1], h[2], h[3], h[4] = byte(len(b)>>24), byte(len(b)>>16), byte(len(b)>>8), byte(len(b))
	return append(h, b...)
}

// TestMsgpackBounds: inputs of a few bytes that announce gigabytes, and
// other hostile values, are errors, and decoding them allocates little.
func TestMsgpackBounds(t *testing.T) {
	digits := bytes.Repeat([]byte("9"), 5000)
	for _, tc := range []struct {
		name  string
		in    []byte
		limit bool // the error wraps ErrLimit (else ErrMalformed)
	}{
		{"bin32 of 4 GiB", []byte{0xc6, 0xff, 0xff, 0xff, 0xff, 1, 2}, true},
		{"bin32 of 2 GiB", []byte{0xc6, 0x7f, 0xff, 0xff, 0xff, 1, 2}, false},
		{"str32 of 2 GiB", []byte{0xdb, 0x7f, 0xff, 0xff, 0xf0, 'a'}, false},
		{"ext32 of 2 GiB", []byte{0xc9, 0x7f, 0xff, 0xff, 0xf0, 1, 0x90}, false},
		{"array32 of 2^31-1", []byte{0xdd, 0x7f, 0xff, 0xff, 0xff, 0xc0}, true},
		{"array32 of 1M", []byte{0xdd, 0x00, 0x10, 0x00, 0x00, 0xc0}, false},
		{"map32 of 1M", []byte{0xdf, 0x00, 0x10, 0x00, 0x00, 0xc0, 0xc0}, false},
		{"array in ext claims more than the ext", append([]byte{0xc7, 3, byte(ExtTuple), 0xdd, 0, 1}, 0, 0, 0), false},
		{"deep nesting", append(bytes.Repeat([]byte{0x91}, 2000), 0xc0), true},
		{"big int of 5000 digits", ext(t, ExtBigInt, string(digits)), true},
		{"fraction of 5000 digits", ext(t, ExtFraction, []any{string(digits), "1"}), true},
		{"empty ndarray of shape [2147483647, 0]", ext(t, ExtNDArray, []any{[]any{int64(math.MaxInt32), int64(0)}, "<f8", []byte{}}), true},
		{"ndarray with too little data", ext(t, ExtNDArray, []any{[]any{int64(1000)}, "<f8", []byte{1}}), false},
		{"ndarray of 33 dimensions", ext(t, ExtNDArray, []any{make([]any, 33), "<f8", []byte{}}), false},
		{"ndarray with a bad dtype", ext(t, ExtNDArray, []any{[]any{int64(1)}, "<q9", []byte{1}}), false},
		{"unhashable key", []byte{0x81, 0x90, 0xc0}, false},
		{"unhashable set item", ext(t, ExtSet, []any{[]any{}}), false},
		{"unknown extension", []byte{0xd4, 99, 0}, false},
		{"unused code", []byte{0xc1}, false},
		{"truncated float", []byte{0xcb, 0, 0}, false},
		{"packed list of 2 GiB", []byte{0xc9, 0x7f, 0xff, 0xff, 0xf8, byte(ExtPackedFloat64), 0}, false},
		{"packed list of 7 bytes", []byte{0xc7, 7, byte(ExtPackedInt64), 0, 0, 0, 0, 0, 0, 0}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			allocs := allocBytes(func() { _, err = DecodeMsgpack(tc.in) })
			if err == nil {
				t.Fatal("decoded")
			}
			if tc.limit && !errors.Is(err, ErrLimit) || !tc.limit && !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v does not wrap the expected sentinel (limit %v)", err, tc.limit)
			}
			if max := 64*uint64(len(tc.in)) + 64<<10; allocs > max {
				t.Errorf("decoding %d bytes allocated %d bytes (max %d)", len(tc.in), allocs, max)
			}
			// The same through a msgpack.Decoder, with and without a
			// known remaining length.
			var md MsgpackDecoder
			if _, err := md.Read(msgpack.NewDecoder(bytes.NewReader(tc.in))); err == nil {
				t.Error("Read decoded")
			}
			allocs = allocBytes(func() {
				_, err = md.Read(msgpack.NewDecoder(onlyReader{bytes.NewReader(tc.in)}))
			})
			if err == nil {
				t.Error("Read from a plain reader decoded")
			}
			if max := 64*uint64(len(tc.in)) + 8<<20; allocs > max {
				t.Errorf("Read from a plain reader: %d bytes allocated (max %d)", allocs, max)
			}
		})
	}
}

type onlyReader struct{ r *bytes.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestMsgpackDecodedSize(t *testing.T) {
	l := make([]any, 1000)
	for i := range l {
		l[i] = int64(i)
	}
	b, _ := AppendMsgpack(nil, l)
	d := MsgpackDecoder{Limits: Limits{MaxDecodedSize: 10000}}
	if _, _, err := d.Decode(b); !errors.Is(err, ErrLimit) {
		t.Fatalf("a list costing %d decoded under a budget of 10000: %v", SizeOf(l), err)
	}
	d = MsgpackDecoder{Limits: Limits{MaxDecodedSize: 3 * SizeOf(l)}}
	for i := range 3 {
		if _, _, err := d.Decode(b); err != nil {
			t.Fatalf("decode %d: %v (used %d)", i, err, d.Used)
		}
	}
	if _, _, err := d.Decode(b); !errors.Is(err, ErrLimit) {
		t.Fatalf("a fourth list fitted a budget of three (used %d)", d.Used)
	}
	if d.Used < 3*SizeOf(l) {
		t.Errorf("Used %d < 3 × SizeOf %d", d.Used, SizeOf(l))
	}
}
