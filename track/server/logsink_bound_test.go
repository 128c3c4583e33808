package server

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/logfwd"
)

// TestLogQueueBoundedInBytes: records waiting to be stored are bounded in
// bytes, not only in number (a record may be 4 MiB: 20,000 of them would
// be 80 GB); the rest are dropped and counted.
func TestLogQueueBoundedInBytes(t *testing.T) {
	h := newLogSink(nil)
	msg := strings.Repeat("x", 1<<20)
	for range 100 {
		r := slog.NewRecord(time.Now(), slog.LevelInfo, msg, 0)
		r.AddAttrs(slog.String(logfwd.SourceKey, "r1"))
		if err := h.Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	h.q.mu.Lock()
	defer h.q.mu.Unlock()
	if h.q.bytes > logQueueBytes || len(h.q.pending) > logQueueBytes>>20 || h.q.dropped != uint64(100-len(h.q.pending)) {
		t.Fatalf("%d records (%d bytes) queued, %d dropped", len(h.q.pending), h.q.bytes, h.q.dropped)
	}
}
