package logfwd

import (
	"context"
	"errors"
	"log/slog"
)

// Tee returns a handler that passes every record to each of handlers that
// is enabled for its level: typically a local text handler and a
// Forwarder. (slog.NewMultiHandler does the same from Go 1.26 on; this
// module still supports older Go.)
func Tee(handlers ...slog.Handler) slog.Handler {
	return tee(append([]slog.Handler(nil), handlers...))
}

type tee []slog.Handler

func (t tee) Enabled(ctx context.Context, level slog.Level) bool {
	for _, h := range t {
		if h.Enabled(ctx, level) {
			return true
		}
	}
	return false
}

func (t tee) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range t {
		if h.Enabled(ctx, r.Level) {
			if err := h.Handle(ctx, r.Clone()); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (t tee) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make(tee, len(t))
	for i, h := range t {
		out[i] = h.WithAttrs(attrs)
	}
	return out
}

func (t tee) WithGroup(name string) slog.Handler {
	out := make(tee, len(t))
	for i, h := range t {
		out[i] = h.WithGroup(name)
	}
	return out
}
