package backoff

import (
	"testing"
	"time"
)

func TestWait(t *testing.T) {
	lo, hi := 10*time.Millisecond, time.Second
	for _, tc := range []struct {
		n        int
		min, max time.Duration
	}{
		{0, 5 * time.Millisecond, 10 * time.Millisecond},
		{1, 10 * time.Millisecond, 20 * time.Millisecond},
		{3, 40 * time.Millisecond, 80 * time.Millisecond},
		{20, hi / 2, hi},
		{1000, hi / 2, hi},
		{-1, hi / 2, hi},
	} {
		for range 200 {
			if d := Wait(tc.n, lo, hi); d < tc.min || d > tc.max {
				t.Fatalf("Wait(%d) = %v, want in [%v, %v]", tc.n, d, tc.min, tc.max)
			}
		}
	}
	if d := Wait(0, 0, 0); d <= 0 || d > time.Millisecond {
		t.Fatalf("Wait with zero bounds = %v, want (0, 1ms]", d)
	}
}
