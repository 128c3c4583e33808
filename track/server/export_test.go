package server

import (
	"context"

	"github.com/sigoco/sigoco/track/store"
)

// Test hooks.

// Flush publishes the pending live state now.
func (l *Live) Flush(ctx context.Context) { l.flush(ctx) }

// RunTreeSize returns the encoded size of run id's own notifier's tree
// (what a new subscriber receives), -1 if it is not published.
func (l *Live) RunTreeSize(id string) int {
	l.mu.Lock()
	lr := l.state[id]
	l.mu.Unlock()
	if lr == nil || lr.n == nil {
		return -1
	}
	size := -1
	lr.n.Read(func(tree any) {
		if b, err := store.EncodeValue(tree); err == nil {
			size = len(b)
		}
	})
	return size
}

// HoldReads reserves all of the server's large-read budget until the
// returned release.
func (s *Server) HoldReads(ctx context.Context) (func(), error) {
	return s.reads.acquire(ctx, s.opts.Bounds.MaxReadBytes)
}

// ReadWaiters returns how many reads wait for room in the budget.
func (s *Server) ReadWaiters() int {
	s.reads.mu.Lock()
	defer s.reads.mu.Unlock()
	return len(s.reads.waiters)
}

// LiveValue is the tree a notifier holds for a value of the live-state
// schema.
func LiveValue(v any) (any, error) { return liveValue(v) }

// LiveRunsKnown returns how many runs the live state remembers.
func (l *Live) LiveRunsKnown() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.state)
}

// RunTree returns a copy of run id's own notifier's tree, nil if it is not
// published.
func (l *Live) RunTree(id string) any {
	l.mu.Lock()
	lr := l.state[id]
	l.mu.Unlock()
	if lr == nil || lr.n == nil {
		return nil
	}
	return lr.n.Copy()
}

// Known reports whether the live state remembers run id.
func (l *Live) Known(id string) bool { return l.known(id) }
