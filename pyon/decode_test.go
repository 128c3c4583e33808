package pyon

import (
	"errors"
	"math"
	"math/big"
	"testing"
)

func TestDecode(t *testing.T) {
	big70 := new(big.Int).Lsh(big.NewInt(1), 70)
	for _, tc := range []struct {
		in   string
		want any
	}{
		{"null", nil},
		{"[1, 1.0, -0, 1E3, 1e400, -1e400, 1e-400]", []any{int64(1), 1.0, int64(0), 1000.0, math.Inf(1), math.Inf(-1), 0.0}},
		{"9223372036854775807", int64(math.MaxInt64)},
		{"9223372036854775808", new(big.Int).SetUint64(1 << 63)},
		{"-1180591620717411303424", new(big.Int).Neg(big70)},
		{"[Infinity,-Infinity,NaN]", []any{math.Inf(1), math.Inf(-1), math.NaN()}},
		{"{\"a\": NaN, \"Infinity\": \"NaN -Infinity\"}\n", map[string]any{"a": math.NaN(), "Infinity": "NaN -Infinity"}},
		{`"\"Infinity"`, `"Infinity`},
		{`{"__jsonclass__":["tuple",[]]}`, Tuple{}},
		{`{"__jsonclass__":["set",[[]]]}`, Set{Items: []any{}}},
		{`{"__jsonclass__":["frozenset",[[1]]]}`, Set{Items: []any{int64(1)}, Frozen: true}},
		{`{"__jsonclass__":["dict",[[["a",1]]]]}`, map[string]any{"a": int64(1)}},
		{`{"__jsonclass__":["dict",[[[null,1],[1.5,2]]]]}`, Dict{{nil, int64(1)}, {1.5, int64(2)}}},
		{`{"__jsonclass__":["dict",[[[{"__jsonclass__":["frozenset",[[1]]]},1]]]]}`, Dict{{Set{Items: []any{int64(1)}, Frozen: true}, int64(1)}}},
		{`{"__jsonclass__":["OrderedDict",[[["b",1],["a",2]]]]}`, OrderedDict{{"b", int64(1)}, {"a", int64(2)}}},
		{`{"__jsonclass__":["bytes",[""]]}`, []byte{}},
		{`{"__jsonclass__":["complex",[1,-Infinity]]}`, complex(1, math.Inf(-1))},
		{`{"__jsonclass__":["complex",[2.5]]}`, complex(2.5, 0)},
		{`{"__jsonclass__":["Fraction",[-2,4]]}`, NewFraction(-1, 2)},
		{`{"__jsonclass__":["Fraction",[0.5]]}`, NewFraction(1, 2)},
		{`{"__jsonclass__":["Fraction",["3/9"]]}`, NewFraction(1, 3)},
		{`{"__jsonclass__":["slice",[3]]}`, Slice{Stop: int64(3)}},
		{`{"__jsonclass__":["slice",[1,null,-1]]}`, Slice{Start: int64(1), Step: int64(-1)}},
		{`{"__jsonclass__":["nparray",[[0],"<f8",""]]}`, NDArray{Shape: []int{0}, DType: "<f8", Data: []byte{}}},
		{`{"__jsonclass__":["npscalar",["|b1","AQ=="]]}`, NPScalar{DType: "|b1", Data: []byte{1}}},
		{`[{"__jsonclass__":["tuple",[[{"__jsonclass__":["tuple",[[]]]}]]]}]`, []any{Tuple{Tuple{}}}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := DecodeString(tc.in)
			if err != nil || !equal(got, tc.want) {
				t.Fatalf("Decode = %#v, %v; want %#v", got, err, tc.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		err  error
		path string
	}{
		{"", ErrSyntax, ""},
		{"[1,", ErrSyntax, ""},
		{"[1] [2]", ErrSyntax, ""},
		{"[-NaN]", ErrSyntax, ""},
		{"[Infinity5]", ErrSyntax, ""},
		{"[1Infinity]", ErrSyntax, ""},
		{"[infinity]", ErrSyntax, ""},
		{`{NaN: 1}`, ErrSyntax, ""},
		{`{"a": [1, {"__jsonclass__": ["foo", []]}]}`, ErrUnknownClass, "/a/1/__jsonclass__/0"},
		{`{"__jsonclass__": "tuple"}`, ErrMalformed, "/__jsonclass__"},
		{`{"__jsonclass__": [1, []]}`, ErrMalformed, "/__jsonclass__/0"},
		{`{"__jsonclass__": ["tuple", {}]}`, ErrMalformed, "/__jsonclass__/1"},
		{`{"__jsonclass__": ["tuple", [[]]], "x": 1}`, ErrMalformed, "/x"},
		{`{"__jsonclass__": ["tuple", [1]]}`, ErrMalformed, "/__jsonclass__/1/0"},
		{`{"__jsonclass__": ["tuple", [[], []]]}`, ErrMalformed, "/__jsonclass__/1"},
		{`{"__jsonclass__": ["tuple", [[{"__jsonclass__": ["bar", []]}]]]}`, ErrUnknownClass, "/__jsonclass__/1/0/0/__jsonclass__/0"},
		{`{"__jsonclass__": ["set", [[[1]]]]}`, ErrMalformed, "/__jsonclass__/1/0/0"},
		{`{"__jsonclass__": ["set", [[{"__jsonclass__": ["set", [[]]]}]]]}`, ErrMalformed, "/__jsonclass__/1/0/0"},
		{`{"__jsonclass__": ["dict", [[[1, 2, 3]]]]}`, ErrMalformed, "/__jsonclass__/1/0/0"},
		{`{"__jsonclass__": ["dict", [[[[1], 2]]]]}`, ErrMalformed, "/__jsonclass__/1/0/0/0"},
		{`{"__jsonclass__": ["dict", [[["__jsonclass__", 2]]]]}`, ErrMalformed, "/__jsonclass__/1/0/0/0"},
		{`{"__jsonclass__": ["bytes", ["AP9"]]}`, ErrMalformed, "/__jsonclass__/1/0"},
		{`{"__jsonclass__": ["bytes", [5]]}`, ErrMalformed, "/__jsonclass__/1/0"},
		{`{"__jsonclass__": ["complex", ["1+2j"]]}`, ErrMalformed, "/__jsonclass__/1/0"},
		{`{"__jsonclass__": ["complex", [1, 2, 3]]}`, ErrMalformed, "/__jsonclass__/1"},
		{`{"__jsonclass__": ["Fraction", [1, 0]]}`, ErrMalformed, "/__jsonclass__/1/1"},
		{`{"__jsonclass__": ["Fraction", [1.5, 2]]}`, ErrMalformed, "/__jsonclass__/1/0"},
		{`{"__jsonclass__": ["Fraction", [NaN]]}`, ErrMalformed, "/__jsonclass__/1/0"},
		{`{"__jsonclass__": ["slice", []]}`, ErrMalformed, "/__jsonclass__/1"},
		{`{"__jsonclass__": ["slice", [[1], 2]]}`, ErrMalformed, "/__jsonclass__/1/0"},
		{`{"__jsonclass__": ["nparray", [[2], "<f8", "AAAAAAAA8D8="]]}`, ErrMalformed, "/__jsonclass__/1"},
		{`{"__jsonclass__": ["nparray", [[-1], "<f8", ""]]}`, ErrMalformed, "/__jsonclass__/1/0/0"},
		{`{"__jsonclass__": ["nparray", [[1], "<f3", "AAA="]]}`, ErrMalformed, "/__jsonclass__/1"},
		{`{"__jsonclass__": ["nparray", [[1], "|O8", "AAAAAAAAAAA="]]}`, ErrMalformed, "/__jsonclass__/1"},
		{`{"__jsonclass__": ["nparray", [[1], 5, ""]]}`, ErrMalformed, "/__jsonclass__/1/1"},
		{`{"__jsonclass__": ["nparray", [[1], "<f8"]]}`, ErrMalformed, "/__jsonclass__/1"},
		{`{"__jsonclass__": ["npscalar", ["<i4", "BwAAAAAA"]]}`, ErrMalformed, "/__jsonclass__/1"},
		{`{"__jsonclass__": ["npscalar", ["<i4", "!!"]]}`, ErrMalformed, "/__jsonclass__/1/1"},
		{`{"action": "call", "args": (1, 2)}`, ErrV1, ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			v, err := DecodeString(tc.in)
			var de *DecodeError
			if !errors.Is(err, tc.err) || !errors.As(err, &de) {
				t.Fatalf("Decode = %#v, %v; want error %v", v, err, tc.err)
			}
			if de.Path != tc.path {
				t.Errorf("path = %q, want %q (%v)", de.Path, tc.path, err)
			}
		})
	}
}

func TestDecodeErrorMessage(t *testing.T) {
	_, err := DecodeString(`[{"__jsonclass__": ["foo", []]}]`)
	want := `pyon: unknown __jsonclass__ "foo" (at /0/__jsonclass__/0)`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant %s", err, want)
	}
}

func TestRewriteNonFinite(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`[1,2]`, `[1,2]`},
		{`"NaN Infinity -Infinity E"`, `"NaN Infinity -Infinity E"`},
		{`[NaN,Infinity,-Infinity]`, `[0E999,1E999,-1E999]`},
		{`{"a":NaN}`, `{"a":0E999}`},
		{`[ NaN ]`, `[ 0E999 ]`},
		{`[1E5,"\"E"]`, `[1e5,"\"E"]`},
		{`[xNaN,NaNx,-NaN]`, `[xNaN,NaNx,-NaN]`},
		{`["\\",NaN]`, `["\\",0E999]`},
	} {
		if got := string(rewriteNonFinite([]byte(tc.in))); got != tc.want {
			t.Errorf("rewriteNonFinite(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
