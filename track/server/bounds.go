package server

import (
	"context"

	"github.com/sigoco/sigoco/track/store"
)

// ReadBounds bounds what reading a run costs the server, so that one
// client cannot make it hold memory out of proportion to a reply: a run
// may hold 10,000 params of 1 MiB each, and before these bounds three
// get_run of such a run (60-byte requests) or one dashboard watching it
// took the server down. The zero value of a field means its default.
type ReadBounds struct {
	// Live bounds the params, metadata, counts, notes, series list and
	// artifacts of a run's live state ("run/ID"): a value over MaxValue or
	// beyond MaxTotal is a marker (store.IsTruncated), entries beyond
	// MaxKeys are counted in its "omitted". Default {MaxValue: 1 KiB,
	// MaxTotal: 64 KiB, MaxKeys: 200, MaxNotes: 50}.
	Live store.View
	// GetRun bounds the reply of get_run the same way. Default
	// {MaxValue: 64 KiB, MaxTotal: 1 MiB, MaxKeys: 10,000, MaxNotes: 1,000}.
	// Full values: get_value, one at a time.
	GetRun store.View
	// LiveText bounds a status message and a log message in live state,
	// in bytes (cut at a rune). Default 1 KiB.
	LiveText int
	// LiveTags bounds the tags a run's live entry lists. Default 50.
	LiveTags int
	// LiveLatest bounds the latest values a run's live entry lists.
	// Default 50.
	LiveLatest int
	// MaxReadBytes bounds the memory that the large reads in progress
	// (get_run, get_value, read_blob, memo get) hold together: each
	// reserves an estimate of it and waits for room, in arrival order.
	// Default 128 MiB.
	MaxReadBytes int64
}

func (b *ReadBounds) defaults() {
	if !b.Live.Bounded() {
		b.Live = store.View{MaxValue: 1 << 10, MaxTotal: 64 << 10, MaxKeys: 200, MaxNotes: 50}
	}
	if !b.GetRun.Bounded() {
		b.GetRun = store.View{MaxValue: 64 << 10, MaxTotal: 1 << 20, MaxKeys: 10_000, MaxNotes: 1000}
	}
	if b.LiveText <= 0 {
		b.LiveText = 1 << 10
	}
	if b.LiveTags <= 0 {
		b.LiveTags = 50
	}
	if b.LiveLatest <= 0 {
		b.LiveLatest = 50
	}
	if b.MaxReadBytes <= 0 {
		b.MaxReadBytes = 128 << 20
	}
}

// readCost estimates the memory a read holds for a value of n encoded
// bytes: the bytes read, the decoded value, the reply being encoded and
// some slack.
func readCost(n int64) int64 { return 4*n + 4<<10 }

// viewCost estimates the memory a bounded read of a run holds: its values
// (readCost of MaxTotal) and the keys, markers and notes around them.
func viewCost(v store.View) int64 {
	return readCost(int64(v.MaxTotal)) + int64(v.MaxKeys)*4*512 + int64(v.MaxNotes)*256
}

// probeView reads a run's row, tags and artifacts with no values: what
// callers that only check a run exists or list its artifacts need.
var probeView = store.View{MaxValue: 1, MaxTotal: 1, MaxNotes: 1}

// runExists reports whether the store holds run id, at the cost of a
// bounded read.
func (s *Server) runExists(ctx context.Context, id string) error {
	_, err := s.st.ViewRun(ctx, id, probeView)
	return err
}

// view reads a run for its live state (ReadBounds.Live).
func (l *Live) view(ctx context.Context, id string) (*store.Run, error) {
	return l.s.st.ViewRun(ctx, id, l.s.opts.Bounds.Live)
}
