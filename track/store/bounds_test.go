package store

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/pyon"
)

// TestTruncatedMarker: the marker names the type and length of what it
// stands for, from the value's first bytes; any prefix is safe.
func TestTruncatedMarker(t *testing.T) {
	for _, c := range []struct {
		v    any
		typ  string
		n    int64
		hasN bool
	}{
		{strings.Repeat("s", 70_000), "str", 70_000, true},
		{[]byte("abc"), "bytes", 3, true},
		{make([]any, 20), "list", 20, true},
		{map[string]any{"a": 1, "b": 2}, "dict", 2, true},
		{pyon.Tuple{int64(1), "x"}, "tuple", 0, false},
		{3.5, "float", 0, false},
		{int64(1) << 40, "int", 0, false},
		{nil, "none", 0, false},
	} {
		b, err := EncodeValue(c.v)
		if err != nil {
			t.Fatal(err)
		}
		m := Truncated(b[:min(16, len(b))], int64(len(b)))
		if !IsTruncated(m) || m["type"] != c.typ || m["size"] != int64(len(b)) {
			t.Errorf("%T: %v", c.v, m)
		}
		if n, ok := m["len"]; ok != c.hasN || (ok && n != c.n) {
			t.Errorf("%T: len %v", c.v, m["len"])
		}
	}
	for first := range 256 { // every first byte, cut short
		for n := range 4 {
			p := append([]byte{byte(first)}, make([]byte, n)...)
			Truncated(p, 100)
		}
	}
	Truncated(nil, 0)
	if IsTruncated(map[string]any{"__truncated__": "yes"}) || IsTruncated("x") {
		t.Error("not markers")
	}
}

// TestTruncateText: a cut never splits a character.
func TestTruncateText(t *testing.T) {
	s := "aé€𝄞" // 1, 2, 3, 4 bytes
	for n, want := range []string{"", "a", "a", "aé", "aé", "aé", "aé€", "aé€", "aé€", "aé€", "aé€𝄞"} {
		if got := TruncateText(s, n); got != want {
			t.Errorf("TruncateText(%q, %d) = %q, want %q", s, n, got, want)
		}
	}
}

// TestCheckValueContent: depth, UTF-8 and finiteness, in the generic
// value model and in other Go values.
func TestCheckValueContent(t *testing.T) {
	l := DefaultLimits
	deep := func(n int) any {
		var v any = 1.0
		for range n {
			v = []any{v}
		}
		return v
	}
	type inner struct{ F float64 }
	type outer struct {
		S []string
		M map[string]inner
		P *inner
	}
	for _, c := range []struct {
		v      any
		finite bool
		bad    bool
	}{
		{deep(64), true, false}, // 64 lists in one another: depth 64
		{deep(65), true, true},
		{map[string]any{"k": []any{"ok", int64(1)}}, true, false},
		{map[string]any{"k\xff": 1}, false, true},
		{pyon.Dict{{Key: "k", Value: "v\xff"}}, false, true},
		{pyon.Set{Items: []any{math.NaN()}}, true, true},
		{pyon.Set{Items: []any{math.NaN()}}, false, false},
		{[]float64{1, math.Inf(1)}, true, true},
		{complex(1, math.Inf(-1)), true, true},
		{outer{S: []string{"a"}, M: map[string]inner{"x": {1}}, P: &inner{2}}, true, false},
		{outer{S: []string{"a\xff"}}, true, true},
		{outer{M: map[string]inner{"x": {math.NaN()}}}, true, true},
		{[]byte("\xff"), true, false}, // bytes are bytes
	} {
		err := l.CheckValueContent("v", c.v, c.finite)
		if (err != nil) != c.bad {
			t.Errorf("%#v (finite %v): %v", c.v, c.finite, err)
		}
		if err != nil && !errors.Is(err, ErrBadRecord) && !errors.Is(err, ErrLimit) {
			t.Errorf("%#v: %v is neither a bad record nor a limit", c.v, err)
		}
	}
}
