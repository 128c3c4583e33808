package track

import (
	"reflect"
	"testing"

	"github.com/sigoco/sigoco/pyon"
)

func TestNormalize(t *testing.T) {
	type point struct {
		X, Y   float64
		Label  string `msgpack:"name"`
		hidden int
	}
	nd := pyon.FromFloat64s([]float64{1, 2})
	cases := []struct {
		in, want any
	}{
		{3, int64(3)},
		{uint8(7), int64(7)},
		{float32(0.5), 0.5},
		{"s", "s"},
		{[]int{1, 2}, []int64{1, 2}},
		{[]float32{1}, []float64{1}},
		{[]string{"a"}, []any{"a"}},
		{map[string]int{"a": 1}, map[string]any{"a": int64(1)}},
		{map[int]bool{2: true}, pyon.Dict{{Key: int64(2), Value: true}}},
		{struct{ OmegaRate float64 }{1}, map[string]any{"omega_rate": 1.0}},
		{point{X: 1, Y: 2, Label: "p"}, map[string]any{"x": 1.0, "y": 2.0, "name": "p"}},
		{&point{X: 1}, map[string]any{"x": 1.0, "y": 0.0, "name": ""}},
		{nd, nd},
		{[]any{nd, pyon.Tuple{1, "a"}}, []any{nd, pyon.Tuple{int64(1), "a"}}},
		{pyon.Set{Items: []any{1}}, pyon.Set{Items: []any{int64(1)}}},
		{nil, nil},
	}
	for _, c := range cases {
		got, err := normalize(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("normalize(%#v) = %#v, %v; want %#v", c.in, got, err, c.want)
		}
	}
	// A copy: changing the input afterwards changes nothing logged.
	in := []float64{1, 2}
	got, _ := normalize(in)
	in[0] = 9
	if got.([]float64)[0] != 1 {
		t.Error("normalize kept a reference to its input")
	}
	for _, bad := range []any{make(chan int), map[any]int{struct{ A any }{}: 3}, func() {}} {
		if _, err := normalize(bad); err == nil {
			t.Errorf("normalize(%T) succeeded", bad)
		}
	}
}
