package memo

import (
	"math"
	"testing"

	"github.com/sigoco/sigoco/pyon"
)

// The fast path of appendParam must write exactly what pyon does, or one
// value would have two keys.
func TestAppendParamMatchesPyon(t *testing.T) {
	for _, v := range []any{
		0, 1, 9, 10, -1, -10, math.MaxInt64, math.MinInt64, int32(math.MinInt32), int64(42),
		0.0, -0.0, 1.0, 1.5, 1e-4, 1e-5, 1e15, 1e16, 123456789012345678.0, math.Pi, -2.5e-300,
		math.Inf(1), math.Inf(-1), math.NaN(), math.MaxFloat64, math.SmallestNonzeroFloat64,
		true, false, "", "abc", "a b-c_d.e", "a<b", "é", "a\"b", "a\\b", "\n", "\x7f", "&",
	} {
		fast, err := appendParam(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		slow, err := pyon.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		if string(fast) != string(slow) {
			t.Errorf("%#v: fast path %s, pyon %s", v, fast, slow)
		}
	}
}

func FuzzAppendParam(f *testing.F) {
	f.Add("abc", int64(-5), 1.5)
	f.Add("a<b\u2028", int64(1<<62), 1e-7)
	f.Fuzz(func(t *testing.T, s string, i int64, x float64) {
		for _, v := range []any{s, i, x} {
			fast, err := appendParam(nil, v)
			if err != nil {
				return
			}
			slow, _ := pyon.Encode(v)
			if string(fast) != string(slow) {
				t.Fatalf("%#v: fast path %s, pyon %s", v, fast, slow)
			}
		}
	})
}

func TestCanonicalKeys(t *testing.T) {
	for _, tc := range []struct{ a, b any }{
		{map[string]any{"x": 1, "y": 2}, map[string]any{"y": 2, "x": 1}},
		{pyon.Set{Items: []any{3, 1, 2}}, pyon.Set{Items: []any{1, 2, 3}}},
		{pyon.Dict{{Key: 2, Value: "b"}, {Key: 1, Value: "a"}}, pyon.Dict{{Key: 1, Value: "a"}, {Key: 2, Value: "b"}}},
		{[]any{pyon.Set{Items: []any{"b", "a"}}}, []any{pyon.Set{Items: []any{"a", "b"}}}},
		{[]int{1, 2}, []any{1, 2}},
	} {
		ka, err1 := keyOf(nil, "f", tc.a)
		kb, err2 := keyOf(nil, "f", tc.b)
		if err1 != nil || err2 != nil || string(ka) != string(kb) {
			t.Errorf("%#v → %s, %#v → %s (%v %v)", tc.a, ka, tc.b, kb, err1, err2)
		}
	}
	for _, tc := range []struct{ a, b any }{
		{1, 1.0}, {1, "1"}, {[]any{1, 2}, []any{2, 1}}, {pyon.Tuple{1}, []any{1}},
	} {
		ka, _ := keyOf(nil, "f", tc.a)
		kb, _ := keyOf(nil, "f", tc.b)
		if string(ka) == string(kb) {
			t.Errorf("%#v and %#v share the key %s", tc.a, tc.b, ka)
		}
	}
	if k, _ := keyOf(nil, "poly_y", 1, 2); string(k) != "poly_y(1, 2)" {
		t.Errorf("key %s", k)
	}
	if _, err := keyOf(nil, "f", make(chan int)); err == nil {
		t.Error("a channel parameter was accepted")
	}
}
