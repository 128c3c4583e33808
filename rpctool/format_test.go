package main

import (
	"encoding/binary"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/pyon"
)

// TestFlatIsRepr: on one line, the layout printer writes exactly what
// pyon.Repr writes (the expected strings are Python's repr).
func TestFlatIsRepr(t *testing.T) {
	frac := pyon.NewFraction(1, 3)
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
		{pyon.Tuple{}, "()"}, {pyon.Tuple{int64(1)}, "(1,)"}, {pyon.Tuple{int64(1), int64(2)}, "(1, 2)"},
		{pyon.Set{}, "set()"}, {pyon.Set{Items: []any{int64(1)}}, "{1}"},
		{pyon.Set{Frozen: true}, "frozenset()"}, {pyon.Set{Items: []any{"a"}, Frozen: true}, "frozenset({'a'})"},
		{map[string]any{}, "{}"}, {map[string]any{"b": int64(1), "a": nil}, "{'a': None, 'b': 1}"},
		{pyon.Dict{{Key: int64(2), Value: "x"}, {Key: pyon.Tuple{int64(1)}, Value: nil}}, "{2: 'x', (1,): None}"},
		{pyon.OrderedDict{{Key: "z", Value: int64(1)}, {Key: "a", Value: int64(2)}}, "OrderedDict({'z': 1, 'a': 2})"},
		{pyon.OrderedDict{}, "OrderedDict()"},
		{frac, "Fraction(1, 3)"}, {*frac, "Fraction(1, 3)"},
		{pyon.Slice{Start: int64(1), Stop: nil, Step: int64(2)}, "slice(1, None, 2)"},
		{pyon.NDArray{Shape: []int{2, 2}, DType: "<f8", Data: f8}, "array([[1., 2.],\n       [3., 4.]])"},
		{pyon.NDArray{Shape: []int{2}, DType: "<i4", Data: []byte{7, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}}, "array([ 7, -1], dtype=int32)"},
		{pyon.NDArray{Shape: []int{1}, DType: "<M8", Data: make([]byte, 8)}, "array(shape=[1], dtype='<M8', 8 bytes)"},
		{pyon.NPScalar{DType: "<i4", Data: []byte{7, 0, 0, 0}}, "np.int32(7)"},
		{pyon.NPScalar{DType: "|b1", Data: []byte{1}}, "np.True_"},
		{[]int32{1, 2}, "[1, 2]"}, {[]uint8{1, 2}, `b'\x01\x02'`}, {map[int]string{2: "b", 1: "a"}, "{1: 'a', 2: 'b'}"},
		{struct {
			Name string
			N    uint16
			priv int
		}{"x", 3, 0}, "{'n': 3, 'name': 'x'}"},
		{(*int)(nil), "None"}, {[]string(nil), "None"}, {errors.New("boom"), "'boom'"},
		{big.NewRat(-2, 6), "Fraction(-1, 3)"}, {uint64(1 << 63), "9223372036854775808"},
	}
	for _, tt := range tests {
		if got := pyon.Repr(tt.v); got != tt.want {
			t.Errorf("pyon.Repr(%#v) = %s, want %s", tt.v, got, tt.want)
		}
		if got := (printer{width: 1 << 20}).format(tt.v); got != tt.want {
			t.Errorf("printer.format(%#v) = %s, want %s", tt.v, got, tt.want)
		}
	}
}

func TestPrettyLayout(t *testing.T) {
	v := map[string]any{
		"name":    "attenuator",
		"limits":  pyon.Tuple{0.0, 63.0},
		"history": []any{1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, 10.5, 11.5, 12.5, 13.5, 14.5, 15.5},
		"single":  pyon.Tuple{[]any{"a long string that does not fit", "in the width", "of forty"}},
	}
	got := printer{width: 40}.format(v)
	want := `{
  'history': [
    1.5,
    2.5,
    3.5,
    4.5,
    5.5,
    6.5,
    7.5,
    8.5,
    9.5,
    10.5,
    11.5,
    12.5,
    13.5,
    14.5,
    15.5,
  ],
  'limits': (0.0, 63.0),
  'name': 'attenuator',
  'single': (
    [
      'a long string that does not fit',
      'in the width',
      'of forty',
    ],
  ),
}`
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	back, err := parseLiteral(got)
	if err != nil || pyon.Repr(back) != pyon.Repr(v) {
		t.Fatalf("the layout does not parse back: %v", err)
	}
	if got := (printer{}).format(pyon.Tuple{int64(1)}); got != "(1,)" {
		t.Fatalf("one-tuple: %s", got)
	}
}

func TestColour(t *testing.T) {
	got := printer{colour: true}.format([]any{int64(1), "s", nil, []byte("b")})
	want := "[\x1b[36m1\x1b[0m, \x1b[32m's'\x1b[0m, \x1b[35mNone\x1b[0m, \x1b[32mb'b'\x1b[0m]"
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	// Colour codes do not count towards the width.
	long := make([]any, 20)
	for i := range long {
		long[i] = int64(i)
	}
	if s := (printer{colour: true}).format(long); strings.Contains(s, "\n") {
		t.Fatalf("coloured short list was broken into lines: %q", s)
	}
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	var buf strings.Builder
	if useColour("auto", &buf, env(nil)) || !useColour("always", &buf, env(nil)) || useColour("never", &buf, env(nil)) {
		t.Fatal("colour for a buffer: want off in auto, on in always, off in never")
	}
}

func TestJSONMapping(t *testing.T) {
	f8 := make([]byte, 16)
	binary.LittleEndian.PutUint64(f8, math.Float64bits(1.5))
	binary.LittleEndian.PutUint64(f8[8:], math.Float64bits(math.Inf(-1)))
	tests := []struct {
		v    any
		want string
	}{
		{nil, "null"}, {true, "true"}, {int64(-5), "-5"}, {new(big.Int).Lsh(big.NewInt(1), 70), "1180591620717411303424"},
		{1.5, "1.5"}, {math.Inf(1), `"inf"`}, {math.Inf(-1), `"-inf"`}, {math.NaN(), `"nan"`},
		{"<a & b>", `"<a & b>"`}, {[]byte("hi"), `"aGk="`}, {complex(1, -2), `{"real":1,"imag":-2}`},
		{pyon.Tuple{int64(1), "a"}, `[1,"a"]`}, {pyon.Set{Items: []any{int64(1)}, Frozen: true}, "[1]"},
		{map[string]any{"b": int64(1), "a": pyon.Tuple{}}, `{"a":[],"b":1}`},
		{pyon.Dict{{Key: int64(1), Value: "x"}, {Key: pyon.Tuple{int64(1), int64(2)}, Value: nil}}, `[[1,"x"],[[1,2],null]]`},
		{pyon.OrderedDict{{Key: "z", Value: int64(1)}, {Key: "a", Value: int64(2)}}, `{"z":1,"a":2}`},
		{pyon.NewFraction(1, 3), `"1/3"`}, {pyon.Slice{Start: int64(1)}, `{"start":1,"stop":null,"step":null}`},
		{pyon.NDArray{Shape: []int{2}, DType: "<f8", Data: f8}, `[1.5,"-inf"]`},
		{pyon.NPScalar{DType: "<i4", Data: []byte{7, 0, 0, 0}}, "7"},
		{[]uint8{1}, `"AQ=="`}, {map[int]string{1: "a"}, `[[1,"a"]]`}, {struct{ OmegaRate int }{1}, `{"omega_rate":1}`},
	}
	for _, tt := range tests {
		b, err := encodeJSON(toJSON(tt.v, 0), true)
		if err != nil || string(b) != tt.want+"\n" {
			t.Errorf("JSON of %#v = %s, %v; want %s", tt.v, b, err, tt.want)
		}
	}
}
