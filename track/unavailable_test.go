package track_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/sqlite"
)

// failingStore fails the first batches it is given as a full disk would.
type failingStore struct {
	store.Store
	fails atomic.Int32 // batches still to fail
	seen  atomic.Int32 // batches failed
}

func (s *failingStore) Ingest(ctx context.Context, b *store.Batch) (*store.Ack, error) {
	if s.fails.Add(-1) >= 0 {
		s.seen.Add(1)
		return nil, &store.UnavailableError{Err: errors.New("sqlite: commit: disk I/O error")}
	}
	return s.Store.Ingest(ctx, b)
}

// TestStorageUnavailableLosesNothing: batches the store cannot take (disk
// full, I/O error) are kept by the client, spooled and sent again; every
// result is stored exactly once and the client reports no error. Before,
// the client counted the batch refused and dropped it for good.
func TestStorageUnavailableLosesNothing(t *testing.T) {
	ctx := ctxT(t, 60*time.Second)
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() }) // after the server (cleanups run last first)
	fs := &failingStore{Store: st}
	fs.fails.Store(3)
	srv, err := server.New(ctx, fs, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := serve(t, srv)

	run, err := track.Start(ctx, track.Options{Project: "p", Addr: ts, SpoolDir: t.TempDir(), NoMetadata: true, BatchSize: 5000})
	if err != nil {
		t.Fatal(err)
	}
	const n = 30_000
	for i := range n {
		run.LogResult("x", float64(i), int64(i))
	}
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatalf("End: %v (the client took the storage failure for a refusal?)", err)
	}
	if fs.seen.Load() != 3 {
		t.Fatalf("%d batches failed, want 3", fs.seen.Load())
	}
	if s := run.Stats(); s.Spooled == 0 {
		t.Errorf("nothing was spooled: %+v", s)
	}
	ser, err := st.Series(ctx, run.ID(), "x", store.SeriesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if ser.Len != n {
		t.Fatalf("%d of %d results stored", ser.Len, n)
	}
	for i := range ser.Step {
		if ser.Step[i] != int64(i) {
			t.Fatalf("point %d has step %d", i, ser.Step[i])
		}
	}
	r, _ := st.GetRun(ctx, run.ID())
	if r.Status != store.StatusFinished {
		t.Fatalf("status %s", r.Status)
	}
}

// serve serves srv on a loopback port until the test ends and returns its
// address.
func serve(t *testing.T, srv *server.Server) string {
	t.Helper()
	return serveAt(t, srv, "127.0.0.1:0", nil)
}

// serveAt serves srv on addr; stop, if not nil, is set to a function that
// stops it before the test ends.
func serveAt(t *testing.T, srv *server.Server, addr string, stop *func()) string {
	t.Helper()
	var ln net.Listener
	var err error
	for i := 0; ; i++ {
		ln, err = net.Listen("tcp", addr)
		if err == nil || i > 50 {
			break
		}
		time.Sleep(50 * time.Millisecond) // the port of a server just stopped
	}
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(context.Background(), ln) }()
	var once sync.Once
	f := func() {
		once.Do(func() {
			srv.Close()
			ln.Close()
			<-done
		})
	}
	t.Cleanup(f)
	if stop != nil {
		*stop = f
	}
	return ln.Addr().String()
}

// TestLostRecordsLeaveNoGap: records a client numbered and lost for good
// (its spool full while the server was down) are not a gap the server
// refuses (store.SeqGapError, more than a batch): the client's later
// batches are shifted down by what it lost and stored.
func TestLostRecordsLeaveNoGap(t *testing.T) {
	ctx := ctxT(t, 60*time.Second)
	dir := t.TempDir()
	lim := store.Limits{MaxBatchRecords: 20_000}
	st, err := sqlite.Open(ctx, dir, sqlite.Options{Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv, err := server.New(ctx, st, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var stop func()
	addr := serveAt(t, srv, "127.0.0.1:0", &stop)
	run, err := track.Start(ctx, track.Options{Project: "p", Addr: addr, SpoolDir: t.TempDir(), NoMetadata: true, BatchSize: 5000, MaxSpoolBytes: 20_000})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	stop()
	const lost = 100_000 // five times the server's MaxBatchRecords
	for i := range lost {
		run.LogResult("x", float64(i), int64(i))
	}
	// Wait (on the condition, bounded by ctx) until the last batches were
	// given up (acknowledged as lost): the server is down and the spool
	// holds 20 kB, a few hundred points at most.
	for s := run.Stats(); s.Acked < s.Logged-1000; s = run.Stats() {
		if ctx.Err() != nil {
			t.Fatalf("stats %+v", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv2, err := server.New(ctx, st, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	serveAt(t, srv2, addr, nil)
	// Wait until what the spool held is replayed (the client retries on
	// its own), so that it has room for y whatever happens.
	for s := run.Stats(); s.Replayed < s.Spooled; s = run.Stats() {
		if ctx.Err() != nil {
			t.Fatalf("stats %+v", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := range 100 { // a spool frame of 4 kB: it fits
		run.LogResult("y", float64(i), int64(i))
	}
	err = run.End(ctx, track.StatusFinished)
	endErr := err
	if !errors.Is(err, track.ErrDropped) {
		t.Fatalf("End: %v, want the dropped records reported", err)
	}
	if strings.Contains(err.Error(), "past the run's last record") {
		t.Fatalf("End: %v", err)
	}
	r, err := st.GetRun(ctx, run.ID())
	if err != nil {
		t.Fatal(err)
	}
	ser, err := st.Series(ctx, run.ID(), "y", store.SeriesQuery{})
	if err != nil || ser.Len != 100 || r.Status != store.StatusFinished {
		t.Fatalf("after the loss: status %s, y %v %v; stats %+v; End: %v", r.Status, ser, err, run.Stats(), endErr)
	}
}
