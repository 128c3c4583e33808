package track_test

import (
	"context"
	"errors"
	"net"
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		srv.Close()
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}
