package track

import (
	"sync"
	"time"
)

// countSet holds call counts and cumulative times (SimplyPy's call stack).
type countSet struct {
	mu sync.Mutex // guards m
	m  map[string]*callCount
}

type callCount struct {
	calls   int64
	elapsed time.Duration
}

func (cs *countSet) add(name string, d time.Duration) {
	cs.mu.Lock()
	if cs.m == nil {
		cs.m = map[string]*callCount{}
	}
	c := cs.m[name]
	if c == nil {
		c = &callCount{}
		cs.m[name] = c
	}
	c.calls++
	c.elapsed += d
	cs.mu.Unlock()
}

func (cs *countSet) snapshot() map[string]map[string]any {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	out := map[string]map[string]any{}
	for k, c := range cs.m {
		out[k] = map[string]any{"calls": c.calls, "seconds": c.elapsed.Seconds()}
	}
	return out
}

// Count counts one call of name. Counts (and times, with Timed) are stored
// with the run at End.
func (r *Run) Count(name string) {
	if r == nil {
		return
	}
	r.counts.add(name, 0)
}

// Timed counts a call of name and its duration: defer run.Timed("solve")().
func (r *Run) Timed(name string) (done func()) {
	if r == nil {
		return func() {}
	}
	t0 := time.Now()
	return func() { r.counts.add(name, time.Since(t0)) }
}

// Counted wraps f so that each call is counted and timed under name.
func Counted[A, R any](r *Run, name string, f func(A) R) func(A) R {
	return func(a A) R {
		defer r.Timed(name)()
		return f(a)
	}
}
