package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/wire/auth"
)

//go:generate go run github.com/sigoco/sigoco/cmd/sigoco-gen -type Tracker

// Tracker is the rpc target "tracker". Its methods are called by their
// snake_case names (log_batch, list_runs, ...); docs/tracking.md lists them.
type Tracker struct {
	s *Server
}

// LogBatch stores a batch of one run and returns its acknowledgement once
// it is committed. The scalar points travel as packed columns beside the
// batch (keys names them by index).
func (t *Tracker) LogBatch(ctx context.Context, b store.Batch, keys []string, key, seq, step, tm []int64, value []float64) (*store.Ack, error) {
	b.Points = store.Points{Keys: keys, Key: key, Seq: seq, Step: step, Time: tm, Value: value}
	ack, err := t.s.Ingest(ctx, &b) // a batch for no run leaves nothing behind
	if err != nil {
		return nil, err
	}
	ack.HeartbeatMs = max(t.s.opts.HeartbeatTimeout.Milliseconds()/4, 1)
	return ack, nil
}

// Heartbeat tells the server that a run is alive.
func (t *Tracker) Heartbeat(ctx context.Context, run string) error {
	if _, err := t.s.mayWrite(ctx, run, "keep alive"); err != nil {
		return err
	}
	if !t.s.live.known(run) {
		if err := t.s.runExists(ctx, run); err != nil {
			return err
		}
	}
	t.s.alive(ctx, run)
	return nil
}

// ResumeRun lets a process continue a run another process started (a
// requeued job, a restarted simulation, a client after a crash): it returns
// the run's last stored record number, and the process numbers its records
// from the next one (records numbered from 1 again would all be taken for
// replays and dropped). The run's status starts again at registered; a run
// whose status is final is not resumed (store.ErrResumeFinal).
//
// Only the run's owner, an admin or a holder of the run's write
// credential resumes it; the process then gets a credential of its own
// with run_credential when it kept none.
func (t *Tracker) ResumeRun(ctx context.Context, run string) (int64, error) {
	if _, err := t.s.mayWrite(ctx, run, "resume"); err != nil {
		return 0, err // (a run that does not exist: the store says so)
	}
	last, err := t.s.st.ResumeRun(ctx, run)
	if err != nil {
		return 0, err
	}
	t.s.live.edited(ctx, run)
	return last, nil
}

// ListRuns returns a page of runs matching the filter, newest first.
func (t *Tracker) ListRuns(ctx context.Context, f store.RunFilter) (*store.RunPage, error) {
	return t.s.st.ListRuns(ctx, f)
}

// GetRun returns a run with its params, metadata, notes, tags, latest
// values, series, artifacts, counts and exposed objects, within the
// server's bounds (Options.Bounds.GetRun: by default values over 64 KiB,
// or beyond 1 MiB in all, are markers {"__truncated__": true, "type",
// "size", "len"}, and omitted counts what was left out); get_value
// returns a full value.
func (t *Tracker) GetRun(ctx context.Context, id string) (*track.RunInfo, error) {
	v := t.s.opts.Bounds.GetRun
	release, err := t.s.reads.acquire(ctx, viewCost(v))
	if err != nil {
		return nil, err
	}
	defer release()
	r, err := t.s.st.ViewRun(ctx, id, v)
	if err != nil {
		return nil, err
	}
	return &track.RunInfo{Run: *r, Exposed: t.s.expose.describe(id)}, nil
}

// GetValue returns one value of a run in full: a param (kind "param"), a
// metadata entry ("meta"), a count ("count") or a series' latest value
// ("result"). Reads of large values wait for each other
// (Options.Bounds.MaxReadBytes).
func (t *Tracker) GetValue(ctx context.Context, run, kind, key string) (any, error) {
	n, err := t.s.st.RunValueSize(ctx, run, store.Kind(kind), key)
	if err != nil {
		return nil, err
	}
	release, err := t.s.reads.acquire(ctx, readCost(n))
	if err != nil {
		return nil, err
	}
	defer release()
	b, err := t.s.st.RunValue(ctx, run, store.Kind(kind), key)
	if err != nil {
		return nil, err
	}
	return store.DecodeValue(b)
}

// MaxSeriesPoints bounds max_points of a series query.
const MaxSeriesPoints = 200_000

// seriesSizer is a store that tells a series' length without reading it
// (the SQLite store does).
type seriesSizer interface {
	SeriesLen(ctx context.Context, run, key string) (int64, bool, error)
}

// Series returns the points of a series, downsampled to max_points (at
// most MaxSeriesPoints) when set (min and max per bucket). A read
// reserves an estimate of its memory from the read budget
// (Options.Bounds.MaxReadBytes): a long series is read alone.
func (t *Tracker) Series(ctx context.Context, run, key string, q store.SeriesQuery) (*store.Series, error) {
	q.MaxPoints = min(q.MaxPoints, MaxSeriesPoints)
	if ss, ok := t.s.st.(seriesSizer); ok {
		n, scalar, err := ss.SeriesLen(ctx, run, key)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if q.MaxPoints > 0 {
			n = min(n, int64(q.MaxPoints))
		}
		per := int64(64) // seq, step, time, value: read, then encoded
		if !scalar {
			// Non-scalar values: the latest one's size stands for each.
			if size, err := t.s.st.RunValueSize(ctx, run, store.KindResult, key); err == nil {
				per += readCost(size)
			}
		}
		release, err := t.s.reads.acquire(ctx, n*per)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	return t.s.st.Series(ctx, run, key, q)
}

// Logs returns a page of a run's log records.
func (t *Tracker) Logs(ctx context.Context, q store.LogQuery) (*store.LogPage, error) {
	return t.s.st.Logs(ctx, q)
}

// AddNote adds a note to a run (from a reader or the dashboard).
func (t *Tracker) AddNote(ctx context.Context, run, text string) error {
	return t.edit(ctx, run, store.Record{Kind: store.KindNote, Value: text})
}

// AddTag tags a run.
func (t *Tracker) AddTag(ctx context.Context, run, tag string) error {
	return t.edit(ctx, run, store.Record{Kind: store.KindTag, Key: tag})
}

// RemoveTag removes a tag from a run.
func (t *Tracker) RemoveTag(ctx context.Context, run, tag string) error {
	return t.edit(ctx, run, store.Record{Kind: store.KindUntag, Key: tag})
}

func (t *Tracker) edit(ctx context.Context, run string, r store.Record) error {
	if err := store.CheckClientRecord(&r); err != nil {
		return err // the jobs' tags are the server's (Edit does not check)
	}
	if _, err := t.s.mayWrite(ctx, run, "edit"); err != nil {
		return err
	}
	r.Time = time.Now().UnixNano()
	if err := t.s.st.Edit(ctx, run, []store.Record{r}); err != nil {
		return err
	}
	t.s.live.edited(ctx, run)
	return nil
}

// DeleteRun deletes a run and its records (artifact contents are kept:
// other runs may share them).
func (t *Tracker) DeleteRun(ctx context.Context, id string) error {
	if _, err := t.s.mayWrite(ctx, id, "delete"); err != nil {
		return err
	}
	if err := t.s.st.DeleteRun(ctx, id); err != nil {
		return err
	}
	t.s.forgetOwner(id)
	t.s.live.deleted(id)
	return nil
}

// ExportRun returns a run with all its series and logs as a JSON document.
// An export holds the whole run in memory: at most two run at once (each
// reserves half the read budget, Options.Bounds.MaxReadBytes).
func (t *Tracker) ExportRun(ctx context.Context, id string) (string, error) {
	b, err := t.s.export(ctx, id)
	return string(b), err
}

// export builds a run's export within the read budget: an export holds the
// whole run in memory, so it reserves half the budget (at most two at once).
// The rpc method and GET /runs/{id}/export.json both read through it.
func (s *Server) export(ctx context.Context, id string) ([]byte, error) {
	release, err := s.reads.acquire(ctx, s.opts.Bounds.MaxReadBytes/2)
	if err != nil {
		return nil, err
	}
	defer release()
	return Export(ctx, s.st, id)
}

// Watch makes sure the run's own notifier ("run/ID") is published, for a
// finished run too, and returns its name. It stays for RunLinger after the
// last Watch.
func (t *Tracker) Watch(ctx context.Context, run string) (string, error) {
	return t.s.live.watch(ctx, run)
}

// BlobState tells how much of an artifact's content the server holds.
func (t *Tracker) BlobState(ctx context.Context, sha256 string) (store.BlobState, error) {
	return t.s.st.BlobState(ctx, sha256)
}

// WriteBlob writes a chunk of an artifact's content at offset (the bytes
// received so far) and returns the new count.
func (t *Tracker) WriteBlob(ctx context.Context, sha256 string, offset int64, data []byte) (int64, error) {
	if err := t.s.checkFree(); err != nil { // see freespace.go
		return 0, err
	}
	return t.s.writeBlob(ctx, sha256, offset, data) // within the upload quotas: uploads.go
}

// CommitBlob checks an uploaded artifact against its sha256 and keeps it.
func (t *Tracker) CommitBlob(ctx context.Context, sha256 string) (int64, error) {
	n, err := t.s.commitBlob(ctx, sha256)
	if err == nil {
		t.s.live.blobCommitted(sha256)
	}
	return n, err
}

// MaxReadBlob bounds one ReadBlob.
const MaxReadBlob = 4 << 20

// ReadBlob reads up to n bytes (at most 4 MiB) of an artifact's content
// from offset; fewer at the end.
func (t *Tracker) ReadBlob(ctx context.Context, sha256 string, offset, n int64) ([]byte, error) {
	f, size, err := t.s.st.OpenBlob(ctx, sha256)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if offset < 0 || offset > size {
		return nil, fmt.Errorf("%w: offset %d of a %d-byte artifact", rpc.ErrValue, offset, size)
	}
	n = min(n, MaxReadBlob, size-offset)
	release, err := t.s.reads.acquire(ctx, 2*n)
	if err != nil {
		return nil, err
	}
	defer release()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// CallExposed calls method of the object name that run exposes, over the
// connection the run opened, and returns its result.
func (t *Tracker) CallExposed(ctx context.Context, run, name, method string, args []any, kwargs map[string]any) (any, error) {
	claim, err := t.s.mayWrite(ctx, run, "call the exposed objects of")
	if err == nil && claim != "" {
		// The run is not stored (yet): nobody owns it, so nobody but an
		// admin may call what is exposed under its id.
		err = fmt.Errorf("%w: run %q is not stored yet; only an admin may call objects exposed on it", auth.ErrForbidden, truncate(run, 64))
	}
	if err != nil && !t.s.expose.granted(ctx, run, name) {
		return nil, err
	}
	if v, ok, err := t.s.forwardExposed(ctx, run, name, method, args, kwargs); ok { // on another node (remote.go)
		return v, err
	}
	return t.s.expose.call(ctx, run, name, method, args, kwargs)
}
