package server

import (
	"context"
	"errors"
	"runtime"
	"testing"
)

// TestByteSem: reservations wait in arrival order until they fit, one
// larger than the capacity is cut to it, a cancelled wait gives its place
// up, and a release is counted once.
func TestByteSem(t *testing.T) {
	ctx := context.Background()
	s := newByteSem(100)
	r1, err := s.acquire(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 3)
	wait := func(name string, n int64) func() {
		done := make(chan func(), 1)
		go func() {
			r, err := s.acquire(ctx, n)
			if err != nil {
				t.Error(err)
			}
			got <- name
			done <- r
		}()
		return func() { (<-done)() }
	}
	waiters := func() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.waiters) }
	spin := func(n int) {
		for waiters() != n {
			select {
			case name := <-got:
				t.Fatalf("%s was granted out of turn", name)
			default:
				runtime.Gosched()
			}
		}
	}
	big := wait("big", 1000) // cut to 100: waits for everything
	spin(1)
	small := wait("small", 10) // fits now, but must not pass big
	spin(2)
	cctx, cancel := context.WithCancel(ctx)
	cancelled := make(chan error, 1)
	go func() { _, err := s.acquire(cctx, 10); cancelled <- err }()
	spin(3)
	cancel()
	if err := <-cancelled; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
	r1()
	r1() // counted once
	if name := <-got; name != "big" {
		t.Fatalf("%s first", name)
	}
	big()
	if name := <-got; name != "small" {
		t.Fatalf("%s second", name)
	}
	small()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used != 0 || len(s.waiters) != 0 {
		t.Fatalf("used %d, %d waiting", s.used, len(s.waiters))
	}
}
