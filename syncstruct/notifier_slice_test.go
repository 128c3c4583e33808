package syncstruct

import (
	"math"
	"testing"

	"github.com/sigoco/sigoco/pyon"
)

// TestNotifierSliceAndPopKey: the Notifier offers list slice assignment,
// slice deletion, dict pop and numpy setitem, and every transport's
// replica follows them.
func TestNotifierSliceAndPopKey(t *testing.T) {
	for _, kind := range []string{"tcp", "ws"} {
		t.Run(kind, func(t *testing.T) {
			n := mustNotifier(t, map[string]any{"l": []any{0, 1, 2, 3, 4}, "d": map[string]any{"a": 1, "b": 2},
				"a": pyon.FromFloat64s([]float64{0, 0, 0})}, NotifierOptions{})
			p := NewPublisher(map[string]*Notifier{"x": n}, PublisherOptions{})
			s := subscribe(t, serve(t, p, kind), "x", SubscriberOptions{})
			waitSynced(t, s)
			must(t, n.At("l").SetSlice(1, 3, []any{"a"}))
			must(t, n.At("l").DeleteSlice(0, 1))
			v, err := n.At("d").PopKey("a")
			if err != nil || !Equal(v, int64(1)) {
				t.Fatalf("PopKey: %v, %v", v, err)
			}
			if _, err := n.At("d").PopKey("zz"); err == nil {
				t.Fatal("PopKey of a missing key succeeded")
			}
			must(t, n.At("a").Set(1, 2.5))
			must(t, n.At("a").Set(pyon.Slice{Start: int64(2)}, 7))
			want := map[string]any{"l": []any{"a", 3, 4}, "d": map[string]any{"b": 2}, "a": pyon.FromFloat64s([]float64{0, 2.5, 7})}
			wn, _ := Normalize(want)
			if got := n.Copy(); !Equal(got, wn) {
				t.Fatalf("notifier tree %v, want %v", got, wn)
			}
			waitReplica(t, s, n)
		})
	}
}

func TestEqualComplexNaN(t *testing.T) {
	c := complex(math.NaN(), 1)
	if !Equal(c, c) || !Equal([]any{c}, []any{complex(math.NaN(), 1)}) {
		t.Fatal("complex NaN not equal to itself")
	}
	if Equal(c, complex(math.NaN(), 2)) {
		t.Fatal("imaginary parts ignored")
	}
}
