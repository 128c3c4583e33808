package server

import (
	"context"
	"sync"
)

// byteSem is a semaphore weighted in bytes: the large reads in progress
// (get_run, get_value, read_blob, memo get) reserve what they will hold
// and wait, first come first served, until it fits. A reservation larger
// than the capacity is cut to it (that read then runs alone), so every
// read can proceed. golang.org/x/sync/semaphore does the same; the module
// is not a dependency for 60 lines.
type byteSem struct {
	mu      sync.Mutex
	size    int64 // capacity
	used    int64
	waiters []*semWaiter // FIFO: a large reservation is not starved by small ones
}

type semWaiter struct {
	n     int64
	ready chan struct{} // closed when the reservation is granted
}

func newByteSem(size int64) *byteSem { return &byteSem{size: size} }

// acquire reserves n bytes (at most the capacity), waiting until they fit
// or ctx ends. It returns the release, to be called once.
func (s *byteSem) acquire(ctx context.Context, n int64) (func(), error) {
	n = min(max(n, 1), s.size)
	s.mu.Lock()
	if len(s.waiters) == 0 && s.used+n <= s.size {
		s.used += n
		s.mu.Unlock()
		return s.releaser(n), nil
	}
	w := &semWaiter{n: n, ready: make(chan struct{})}
	s.waiters = append(s.waiters, w)
	s.mu.Unlock()
	select {
	case <-w.ready:
		return s.releaser(n), nil
	case <-ctx.Done():
		s.mu.Lock()
		select {
		case <-w.ready: // granted meanwhile: give it back
			s.used -= n
		default:
			for i, x := range s.waiters {
				if x == w {
					s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
					break
				}
			}
		}
		s.grantLocked()
		s.mu.Unlock()
		return nil, ctx.Err()
	}
}

func (s *byteSem) releaser(n int64) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.used -= n
			s.grantLocked()
			s.mu.Unlock()
		})
	}
}

// grantLocked grants the waiters at the head of the queue that fit.
func (s *byteSem) grantLocked() {
	for len(s.waiters) > 0 {
		w := s.waiters[0]
		if s.used+w.n > s.size {
			return
		}
		s.used += w.n
		s.waiters = s.waiters[1:]
		close(w.ready)
	}
}
