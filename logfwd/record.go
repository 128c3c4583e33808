package logfwd

import (
	"context"
	"log/slog"
	"time"
)

// Keys of the attributes a Server adds in front of every record it
// re-emits. SourceKey carries the forwarder's source name (SiPyCo's
// "source"), LoggerKey the logger name (Python's record.name).
//
// A Forwarder also takes the logger name from a top-level attribute with
// key LoggerKey (slog.With(logfwd.LoggerKey, "lda.driver")) instead of
// sending it as an ordinary attribute.
const (
	SourceKey = "source"
	LoggerKey = "logger"
)

// record is one log record as it travels from a Forwarder to a Server,
// independent of how it is encoded on the wire (native msgpack frames or
// SiPyCo text lines).
type record struct {
	Time    time.Time  // zero when the sender gave none
	Level   slog.Level // slog levels; SiPyCo's map to the nearest one
	Source  string     // the forwarder's source name
	Logger  string     // logger name, "" if none
	Message string
	Attrs   []slog.Attr // structured attributes (native wire only)
}

// toSlog returns the record as a slog.Record carrying SourceKey, then
// LoggerKey (when Logger is not empty), then Attrs. Time and level are
// the record's own. The Attrs slice is copied, not retained.
func (r *record) toSlog() slog.Record {
	sr := slog.NewRecord(r.Time, r.Level, r.Message, 0)
	if r.Logger != "" {
		sr.AddAttrs(slog.String(SourceKey, r.Source), slog.String(LoggerKey, r.Logger))
	} else {
		sr.AddAttrs(slog.String(SourceKey, r.Source))
	}
	sr.AddAttrs(r.Attrs...)
	return sr
}

// forwardedKey marks the context a Server passes to its handler.
type forwardedKey struct{}

// ForwardedSource reports whether ctx is one a Server passed to its
// handler while re-emitting a forwarded record, and if so the source name
// of the forwarder. SourceFilter uses it to let forwarded records pass.
func ForwardedSource(ctx context.Context) (string, bool) {
	s, ok := ctx.Value(forwardedKey{}).(string)
	return s, ok
}

func withForwarded(ctx context.Context, source string) context.Context {
	return context.WithValue(ctx, forwardedKey{}, source)
}
