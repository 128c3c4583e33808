package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/sigoco/sigoco/wire/auth"
)

// shutdownRequest is the state of the "shutdown requested" signal: the
// server only signals; the process serving it (trackd) watches
// ShutdownRequested and stops as on SIGTERM.
type shutdownRequest struct {
	ch      chan struct{} // closed by the first request
	by      string        // who asked first (set before ch closes)
	watched bool          // ShutdownRequested was called
}

// ErrShutdownUnsupported: shutdown_server was called on a server whose
// process does not watch ShutdownRequested (an embedded server): nothing
// would stop. It is errors.ErrUnsupported on the wire (NotImplementedError).
var ErrShutdownUnsupported = fmt.Errorf("server: this server does not shut down on request: %w", errors.ErrUnsupported)

// ShutdownRequested returns a channel closed once an admin called
// shutdown_server; ShutdownRequestedBy then tells who. Calling it is what
// makes shutdown_server accepted: the caller promises to stop the server
// (Shutdown) when the channel closes. Safe for concurrent use.
func (s *Server) ShutdownRequested() <-chan struct{} {
	s.shutdownMu.Lock()
	defer s.shutdownMu.Unlock()
	s.shutdown.watched = true
	return s.shutdown.ch
}

// ShutdownRequestedBy is the identity (auth.Identity.String) that asked for
// the shutdown first, "in-process" for a caller without one, or "" when
// none asked.
func (s *Server) ShutdownRequestedBy() string {
	s.shutdownMu.Lock()
	defer s.shutdownMu.Unlock()
	return s.shutdown.by
}

// ShutdownServer asks the process serving the tracker to shut down as on
// SIGTERM: calls in flight finish (this one answers first), the jobs it
// runs are stopped, open runs stay open (their clients spool until the
// server is back). Admins only (roles.go). A second call while the first
// is in progress is a no-op.
func (t *Tracker) ShutdownServer(ctx context.Context) error {
	s := t.s
	by := "in-process"
	if id, ok := auth.FromContext(ctx); ok {
		by = id.String()
	}
	s.shutdownMu.Lock()
	defer s.shutdownMu.Unlock()
	if !s.shutdown.watched {
		return ErrShutdownUnsupported
	}
	if s.shutdown.by == "" {
		s.shutdown.by = by
		s.log.Info("track: shutdown requested", "by", by)
		close(s.shutdown.ch)
	}
	return nil
}
