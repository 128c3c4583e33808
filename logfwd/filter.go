package logfwd

import (
	"context"
	"log/slog"
)

// SourceFilter is SiPyCo's SourceFilter for slog: records logged by this
// program pass only at or above the local level; records a Server
// re-emits (see ForwardedSource) were filtered by their sender and pass
// whatever their level. Wrap the handler a log server or a controller that
// also runs a Server writes to:
//
//	h := logfwd.NewSourceFilter(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug - 4}), level)
//
// The wrapped handler must itself let through every level that forwarded
// records may have.
type SourceFilter struct {
	h     slog.Handler
	local slog.Leveler
}

// NewSourceFilter wraps h; local is the level for local records (nil means
// slog.LevelInfo). A *slog.LevelVar may be changed while in use.
func NewSourceFilter(h slog.Handler, local slog.Leveler) *SourceFilter {
	if local == nil {
		local = slog.LevelInfo
	}
	return &SourceFilter{h: h, local: local}
}

func (f *SourceFilter) pass(ctx context.Context, level slog.Level) bool {
	if _, forwarded := ForwardedSource(ctx); forwarded {
		return true
	}
	return level >= f.local.Level()
}

// Enabled applies the rule above, then asks the wrapped handler.
func (f *SourceFilter) Enabled(ctx context.Context, level slog.Level) bool {
	return f.pass(ctx, level) && f.h.Enabled(ctx, level)
}

// Handle passes r on if the rule lets it through.
func (f *SourceFilter) Handle(ctx context.Context, r slog.Record) error {
	if !f.pass(ctx, r.Level) {
		return nil
	}
	return f.h.Handle(ctx, r)
}

// WithAttrs wraps the wrapped handler's WithAttrs.
func (f *SourceFilter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &SourceFilter{h: f.h.WithAttrs(attrs), local: f.local}
}

// WithGroup wraps the wrapped handler's WithGroup.
func (f *SourceFilter) WithGroup(name string) slog.Handler {
	return &SourceFilter{h: f.h.WithGroup(name), local: f.local}
}
