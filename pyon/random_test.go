package pyon

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// randomValue builds a random value of the kinds Decode returns; keys and
// set items are hashable ones.
func randomValue(r *rand.Rand, depth int, hashableOnly bool) any {
	n := 12
	if depth <= 0 {
		n = 8 // scalars only
	}
	switch r.IntN(n) {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return int64(r.Uint64())
	case 3:
		return []float64{0, -0.5, 1, 1e16, 1e-5, math.Inf(1), math.Inf(-1), math.NaN(), math.Float64frombits(r.Uint64())}[r.IntN(9)]
	case 4:
		return []string{"", "a", "é\n\"\\", "\u2028<&>", "__jsonclass__", "Infinity", "NaN"}[r.IntN(7)]
	case 5:
		b := make([]byte, r.IntN(5))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	case 6:
		return new(big.Int).Lsh(big.NewInt(r.Int64N(1000)-500), 64+uint(r.IntN(64)))
	case 7:
		switch r.IntN(3) {
		case 0:
			return complex(r.NormFloat64(), math.Inf(1))
		case 1:
			return NewFraction(r.Int64N(100)-50, r.Int64N(100)+1)
		}
		s, _ := ScalarOf(float32(r.NormFloat64()))
		return s
	case 8:
		t := Tuple{}
		for range r.IntN(4) {
			t = append(t, randomValue(r, depth-1, hashableOnly))
		}
		return t
	case 9:
		if hashableOnly {
			return Set{Items: []any{randomValue(r, depth-1, true)}, Frozen: true}
		}
		s := Set{Items: []any{}}
		for range r.IntN(4) {
			s.Items = append(s.Items, randomValue(r, depth-1, true))
		}
		return s
	case 10:
		if hashableOnly {
			return Slice{Start: int64(1), Stop: nil, Step: int64(-1)}
		}
		d := Dict{{int64(r.IntN(9)), randomValue(r, depth-1, false)}}
		for range r.IntN(3) {
			d = append(d, Item{randomValue(r, depth-1, true), randomValue(r, depth-1, false)})
		}
		if r.IntN(2) == 0 {
			return OrderedDict(d)
		}
		return d
	default:
		if hashableOnly {
			return "k"
		}
		if r.IntN(2) == 0 {
			l := []any{}
			for range r.IntN(4) {
				l = append(l, randomValue(r, depth-1, false))
			}
			return l
		}
		if r.IntN(2) == 0 {
			a, _ := ListToNDArray([]any{r.NormFloat64(), int64(r.IntN(9))})
			return a
		}
		return map[string]any{"x": randomValue(r, depth-1, false), "y": int64(2)}
	}
}

// TestRandomRoundTrip encodes random values and checks they decode back.
func TestRandomRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		v := randomValue(r, 4, false)
		out, err := Encode(v)
		if err != nil {
			t.Fatalf("Encode(%#v): %v", v, err)
		}
		got, err := Decode(out)
		if err != nil {
			t.Fatalf("Decode(%s): %v", out, err)
		}
		if d, ok := v.(Dict); ok && allStringKeys(d) {
			continue // decodes as map[string]any, by design
		}
		if !equal(got, v) {
			t.Fatalf("round trip changed the value:\n in %#v\nout %#v\n%s", v, got, out)
		}
	}
}
