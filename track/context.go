package track

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
)

type ctxKey struct{}

// NewContext returns a context carrying run.
func NewContext(ctx context.Context, run *Run) context.Context {
	return context.WithValue(ctx, ctxKey{}, run)
}

// FromContext returns the run ctx carries, or nil. The methods of a nil
// *Run do nothing, so code deep in a simulation may log unconditionally.
func FromContext(ctx context.Context) *Run {
	r, _ := ctx.Value(ctxKey{}).(*Run)
	return r
}

// MustFromContext returns the run ctx carries, and panics when it carries
// none: for a program's own code, where a missing run is a mistake to fix
// (SimplyPy raises "Tracker has not been initialized"). Libraries keep to
// FromContext, whose nil run does nothing.
func MustFromContext(ctx context.Context) *Run {
	r := FromContext(ctx)
	if r == nil {
		panic(ErrNoRun)
	}
	return r
}

// ErrNoRun is what MustFromContext panics with: the context carries no
// run (track.Start not called, or its run not put in the context with
// NewContext).
var ErrNoRun = errors.New("track: no run in this context (call track.Start and pass its run with track.NewContext)")

var (
	nilRunOnce   sync.Once
	nilRunLogger atomic.Pointer[slog.Logger]
)

// SetLogger sets the logger of the package's diagnostics that belong to
// no run: the one-time warning when something is logged on a nil *Run
// (before Start, or where FromContext found none). Default slog.Default().
// nil restores the default.
func SetLogger(l *slog.Logger) { nilRunLogger.Store(l) }

// nilRun warns, once per process, that a logging call on a nil *Run was
// dropped: nil runs stay harmless for libraries, but the mistake in a
// program that meant to track is visible.
func nilRun(method string) {
	nilRunOnce.Do(func() {
		l := nilRunLogger.Load()
		if l == nil {
			l = slog.Default()
		}
		l.Warn("track: logging on a nil run is dropped (track.Start not called yet, or the ctx carries no run); this warning is given once",
			"method", method)
	})
}
