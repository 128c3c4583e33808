package server

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigoco/sigoco/logfwd"
	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/wire/auth"
)

// Log sink bounds.
const (
	logQueueMax   = 20000    // records waiting to be stored; more are dropped and counted
	logQueueBytes = 64 << 20 // and their size (a record may be 4 MiB: 20,000 of them would be 80 GB)
	logFlushEvery = 50 * time.Millisecond
)

// logSink is the slog.Handler the logfwd server re-emits records into: each
// record's source (the forwarder's Source, a run id for track's Logger) is
// its run. Records are queued and stored in batches by run, one transaction
// per flush; the forwarder has its acknowledgement when the record is
// queued, so a server killed in the next 50 ms loses it (logs are
// best-effort, results and params are not).
type logSink struct {
	s     *Server
	attrs []slog.Attr
	group string

	q *logQueue
}

type logQueue struct {
	refused atomic.Uint64 // records for a run the forwarder's identity may not write (owner.go)
	mu      sync.Mutex    // guards pending, bytes and dropped
	pending []store.LogEntry
	bytes   int64 // the size of pending (logEntrySize)
	dropped uint64
	wake    chan struct{}

	// waiting holds records of runs whose first batch has not been stored
	// yet (a run's log forwarder may connect before its sender); used by
	// flush only. They wait up to logWaitMax.
	waiting []store.LogEntry
}

// logWaitMax is how long records of a run not (yet) stored are kept.
const logWaitMax = 30 * time.Second

func newLogSink(s *Server) *logSink {
	return &logSink{s: s, q: &logQueue{wake: make(chan struct{}, 1)}}
}

func (h *logSink) Enabled(context.Context, slog.Level) bool { return true }

func (h *logSink) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &c
}

func (h *logSink) WithGroup(name string) slog.Handler {
	c := *h
	c.group = name
	return &c
}

func attrValue(v slog.Value) any {
	v = v.Resolve()
	switch v.Kind() {
	case slog.KindGroup:
		m := map[string]any{}
		for _, a := range v.Group() {
			m[a.Key] = attrValue(a.Value)
		}
		return m
	case slog.KindInt64:
		return v.Int64()
	case slog.KindUint64:
		return int64(v.Uint64())
	case slog.KindFloat64:
		return v.Float64()
	case slog.KindBool:
		return v.Bool()
	case slog.KindString:
		return v.String()
	default:
		return v.String()
	}
}

func (h *logSink) Handle(ctx context.Context, r slog.Record) error {
	e := store.LogEntry{Time: store.TimeOf(r.Time), Level: int(r.Level), Message: r.Message}
	if src, ok := logfwd.ForwardedSource(ctx); ok {
		e.Run = src
	}
	add := func(a slog.Attr) bool {
		switch a.Key {
		case logfwd.SourceKey:
			if e.Run == "" {
				e.Run = a.Value.String()
			}
			return true
		case logfwd.LoggerKey:
			e.Logger = a.Value.String()
			return true
		}
		if e.Attrs == nil {
			e.Attrs = map[string]any{}
		}
		e.Attrs[a.Key] = attrValue(a.Value)
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	if e.Run == "" {
		return nil
	}
	if _, ok := auth.FromContext(ctx); ok {
		if _, err := h.s.mayWrite(ctx, e.Run, "log to"); err != nil {
			h.q.refused.Add(1) // another's run (owner.go): dropped, counted
			return nil
		}
	}
	q := h.q
	q.mu.Lock()
	size := logEntrySize(&e)
	if len(q.pending) >= logQueueMax || q.bytes+size > logQueueBytes {
		q.dropped++
		q.mu.Unlock()
		return nil
	}
	q.pending = append(q.pending, e)
	q.bytes += size
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

// run stores queued records until ctx ends.
func (h *logSink) run(ctx context.Context) {
	t := time.NewTicker(logFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h.flush(ctx)
	}
}

// flush stores everything queued.
func (h *logSink) flush(ctx context.Context) {
	q := h.q
	q.mu.Lock()
	batch := q.pending
	q.pending, q.bytes = nil, 0
	dropped := q.dropped
	q.dropped = 0
	q.mu.Unlock()
	defer func() {
		if dropped > 0 {
			h.s.log.Warn("track: log records dropped (queue full, or their run never appeared)", "dropped", dropped)
		}
	}()
	batch = append(q.waiting, batch...)
	q.waiting = nil
	known := map[string]bool{}
	ready := batch[:0:0]
	var waitBytes int64
	for _, e := range batch {
		ok, seen := known[e.Run]
		if !seen {
			ok = h.s.live.stored(e.Run)
			if !ok {
				ok = h.s.runExists(ctx, e.Run) == nil
			}
			known[e.Run] = ok
		}
		switch {
		case ok:
			ready = append(ready, e)
		case time.Since(e.Time.Go()) < logWaitMax && len(q.waiting) < logQueueMax && waitBytes+logEntrySize(&e) <= logQueueBytes:
			q.waiting = append(q.waiting, e)
			waitBytes += logEntrySize(&e)
		default:
			dropped++
		}
	}
	batch = ready
	if len(batch) == 0 {
		return
	}
	if _, err := h.s.st.AppendLogs(ctx, batch); err != nil {
		h.s.log.Warn("track: storing logs", "records", len(batch), "err", err)
		h.s.live.storeFailed(err)
		return
	}
	h.s.publishLogs(ctx, batch)
}

// publishLogs adds stored log records to their runs' live log tails.
// A registered run that logs is running, as with its first result (the
// store's "active" edit).
func (s *Server) publishLogs(ctx context.Context, batch []store.LogEntry) {
	byRun := map[string][]store.LogEntry{}
	for _, e := range batch {
		byRun[e.Run] = append(byRun[e.Run], e)
	}
	for run, es := range byRun {
		s.live.logs(run, es)
		if s.live.logged(run) {
			if err := s.st.Edit(ctx, run, []store.Record{{Kind: store.KindStatus, Key: "active"}}); err != nil {
				s.log.Warn("track: marking a logging run running", "run", run, "err", err)
			}
		}
	}
}

// logEntrySize is the memory a queued log record holds, roughly: its
// texts and the decoded size of its attributes.
func logEntrySize(e *store.LogEntry) int64 {
	return int64(len(e.Message)+len(e.Logger)+len(e.Run)) + 128 + pyon.SizeOf(e.Attrs)
}
