package server_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/sqlite"
)

// startOn starts a server over a store the test wraps.
func startOn(t testing.TB, wrap func(store.Store) store.Store, opts server.Options) *server.Server {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(ctx, wrap(st), opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() { srv.Close(); <-done; st.Close() })
	return srv
}

func ingest(t testing.TB, ctx context.Context, srv *server.Server, b store.Batch) {
	t.Helper()
	if ack, err := srv.Ingest(ctx, &b); err != nil || len(ack.Rejected) > 0 {
		t.Fatalf("ingest %s: %+v %v", b.Run, ack, err)
	}
}

func finished(run string) store.Batch {
	b := startRecords(run)
	b.Records = append(b.Records, store.Record{Seq: 3, Kind: store.KindStatus, Key: "finished", Time: time.Now().UnixNano()})
	return b
}

// listed returns the ids in "runs", sorted, and the encoded size of its
// tree (what a new dashboard receives).
func listed(t *testing.T, srv *server.Server) ([]string, int) {
	var ids []string
	size := 0
	srv.Live().Runs().Read(func(tree any) {
		for id := range tree.(map[string]any) {
			ids = append(ids, id)
		}
		b, err := store.EncodeValue(tree)
		if err != nil {
			t.Fatal(err)
		}
		size = len(b)
	})
	slices.Sort(ids)
	return ids, size
}

// runCounts returns the "server" notifier's runs counts.
func runCounts(srv *server.Server) (open, listedN int64, byStatus map[string]any) {
	srv.Live().Server().Read(func(tree any) {
		c := tree.(map[string]any)["runs"].(map[string]any)
		open, listedN = c["open"].(int64), c["listed"].(int64)
		byStatus = c["by_status"].(map[string]any)
	})
	return
}

// TestRunsViewBounded: however many runs are open, "runs" lists the newest
// RunsOpenInLive open and RunsInLive finished ones, its size stays the
// same, the "server" notifier counts every open run exactly, and runs
// leaving the list are replaced from the store.
func TestRunsViewBounded(t *testing.T) {
	srv := startOn(t, func(s store.Store) store.Store { return s }, server.Options{RunsOpenInLive: 3, RunsInLive: 2, LiveInterval: time.Hour, HeartbeatTimeout: time.Hour})
	ctx := ctxT(t)
	for i := range 6 {
		ingest(t, ctx, srv, finished(fmt.Sprintf("f%d", i)))
	}
	for i := range 40 {
		ingest(t, ctx, srv, startRecords(fmt.Sprintf("o%03d", i)))
	}
	srv.Live().Flush(ctx)
	ids, size40 := listed(t, srv)
	if want := []string{"f4", "f5", "o037", "o038", "o039"}; !slices.Equal(ids, want) {
		t.Fatalf("listed %v, want %v", ids, want)
	}
	if open, n, by := runCounts(srv); open != 40 || n != 5 || by["running"] != int64(40) || len(by) != 1 {
		t.Fatalf("counts: open %d, listed %d, by status %v", open, n, by)
	}

	for i := range 400 {
		ingest(t, ctx, srv, startRecords(fmt.Sprintf("o%03d", 100+i)))
	}
	srv.Live().Flush(ctx)
	ids, size440 := listed(t, srv)
	if want := []string{"f4", "f5", "o497", "o498", "o499"}; !slices.Equal(ids, want) {
		t.Fatalf("listed %v, want %v", ids, want)
	}
	if size440 != size40 {
		t.Errorf("runs snapshot: %d bytes with 40 open runs, %d with 440", size40, size440)
	}
	if open, n, by := runCounts(srv); open != 440 || n != 5 || by["running"] != int64(440) {
		t.Fatalf("counts: open %d, listed %d, by status %v", open, n, by)
	}
	// Finished runs beyond the list are forgotten; own notifiers exist for
	// the listed open runs only.
	if known := srv.Live().LiveRunsKnown(); known != 442 {
		t.Errorf("live state remembers %d runs, want 440 open + 2 finished", known)
	}
	var runNotifiers []string
	for _, name := range srv.Publisher().Names() {
		if strings.HasPrefix(name, "run/") {
			runNotifiers = append(runNotifiers, name)
		}
	}
	slices.Sort(runNotifiers)
	if want := []string{"run/o497", "run/o498", "run/o499"}; !slices.Equal(runNotifiers, want) {
		t.Errorf("run notifiers %v, want %v", runNotifiers, want)
	}

	// The newest open runs end: the next ones come in, read from the store.
	for _, id := range []string{"o497", "o498", "o499"} {
		b := finished(id)
		b.Records = b.Records[2:] // the start and running are stored
		ingest(t, ctx, srv, b)
	}
	srv.Live().Flush(ctx)
	ids, _ = listed(t, srv)
	if want := []string{"o494", "o495", "o496", "o498", "o499"}; !slices.Equal(ids, want) {
		t.Fatalf("listed %v, want %v", ids, want)
	}
	srv.Live().Runs().Read(func(tree any) {
		e := tree.(map[string]any)["o494"].(map[string]any)
		if e["project"] != "p" || e["name"] != "n" || e["status"] != "running" {
			t.Errorf("entry read from the store: %v", e)
		}
		if e := tree.(map[string]any)["o499"].(map[string]any); e["status"] != "finished" || e["end"] == nil {
			t.Errorf("finished entry: %v", e)
		}
	})
	if open, _, by := runCounts(srv); open != 437 || by["running"] != int64(437) {
		t.Fatalf("counts after 3 ended: open %d, by status %v", open, by)
	}
	// The rest is one query away.
	page, err := srv.Store().ListRuns(ctx, store.RunFilter{Status: []store.Status{store.StatusRunning}, Limit: 1000})
	if err != nil || len(page.Runs) != 437 {
		t.Fatalf("list_runs of the open runs: %d, %v", len(page.Runs), err)
	}
}

// blockingStore holds the batches of chosen runs in Ingest until released.
type blockingStore struct {
	store.Store
	hold    map[string]bool
	entered chan string
	release chan struct{}
	fail    atomic.Pointer[error] // returned by every Ingest while set
}

func (s *blockingStore) Ingest(ctx context.Context, b *store.Batch) (*store.Ack, error) {
	if err := s.fail.Load(); err != nil {
		return nil, *err
	}
	if s.hold[b.Run] {
		s.entered <- b.Run
		<-s.release
	}
	return s.Store.Ingest(ctx, b)
}

// TestPendingRunNotPruned: a run whose first batch is still being stored
// is neither counted as a finished run (it pushed a finished run out of
// "runs") nor forgotten (a second batch of it then ran beside the first).
func TestPendingRunNotPruned(t *testing.T) {
	bs := &blockingStore{hold: map[string]bool{"a0": true, "z9": true}, entered: make(chan string), release: make(chan struct{})}
	srv := startOn(t, func(s store.Store) store.Store { bs.Store = s; return bs }, server.Options{RunsInLive: 2, LiveInterval: time.Hour, HeartbeatTimeout: time.Hour})
	ctx := ctxT(t)
	ingest(t, ctx, srv, finished("a1"))
	ingest(t, ctx, srv, finished("a2"))
	var wg sync.WaitGroup
	for _, id := range []string{"a0", "z9"} {
		wg.Add(1)
		go func() { defer wg.Done(); ingest(t, ctx, srv, startRecords(id)) }()
		select {
		case <-bs.entered:
		case <-ctx.Done():
			t.Fatal("the batch never reached the store")
		}
	}
	srv.Live().Flush(ctx)
	srv.Live().Flush(ctx)
	if ids, _ := listed(t, srv); !slices.Equal(ids, []string{"a1", "a2"}) {
		t.Errorf("with two runs being stored, runs lists %v, want [a1 a2]", ids)
	}
	for _, id := range []string{"a0", "z9"} {
		if !srv.Live().Known(id) {
			t.Errorf("run %s was forgotten while its first batch was being stored", id)
		}
	}
	close(bs.release)
	wg.Wait()
	srv.Live().Flush(ctx)
	if ids, _ := listed(t, srv); !slices.Equal(ids, []string{"a0", "a1", "a2", "z9"}) {
		t.Errorf("once stored, runs lists %v", ids)
	}
	if open, _, by := runCounts(srv); open != 2 || by["running"] != int64(2) {
		t.Errorf("counts: open %d, by status %v", open, by)
	}
}

// storage returns the "server" notifier's storage state.
func storage(srv *server.Server) map[string]any {
	var m map[string]any
	srv.Live().Server().Read(func(tree any) { m = tree.(map[string]any)["storage"].(map[string]any) })
	return m
}

// waitStorage waits until the storage state is state.
func waitStorage(t *testing.T, ctx context.Context, srv *server.Server, state string) map[string]any {
	t.Helper()
	for {
		m := storage(srv)
		if m["state"] == state {
			return m
		}
		select {
		case <-ctx.Done():
			t.Fatalf("storage state %v, want %s", m, state)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestStorageState: the "server" notifier tells whether writes go in:
// free space below MinFree is "low", a write the store failed as
// unavailable makes it "unavailable" with the error.
func TestStorageState(t *testing.T) {
	var free atomic.Int64
	free.Store(10 << 30)
	bs := &blockingStore{}
	srv := startOn(t, func(s store.Store) store.Store { bs.Store = s; return bs },
		server.Options{MinFree: 1 << 30, FreeSpace: func() (int64, error) { return free.Load(), nil }, LiveInterval: 10 * time.Millisecond})
	ctx := ctxT(t)
	m := waitStorage(t, ctx, srv, server.StorageOK)
	if m["free_bytes"] != int64(10<<30) || m["min_free"] != int64(1<<30) || m["errors"] != int64(0) || m["last_error_time"] != nil {
		t.Fatalf("storage %v", m)
	}
	ingest(t, ctx, srv, startRecords("r1"))
	free.Store(100 << 20)
	if m := waitStorage(t, ctx, srv, server.StorageLow); m["free_bytes"] != int64(100<<20) {
		t.Fatalf("storage %v", m)
	}
	// The server's own low-space refusal is not a store failure.
	b := startRecords("r2")
	if _, err := srv.Ingest(ctx, &b); !errors.Is(err, server.ErrLowSpace) {
		t.Fatalf("new run below the watermark: %v", err)
	}
	free.Store(10 << 30)
	waitStorage(t, ctx, srv, server.StorageOK)

	var fail error = &store.UnavailableError{Err: errors.New("disk I/O error")}
	bs.fail.Store(&fail)
	b = store.Batch{Run: "r1", Records: []store.Record{{Seq: 3, Kind: store.KindNote, Value: "x", Time: 1}}}
	if _, err := srv.Ingest(ctx, &b); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("ingest on a failing store: %v", err)
	}
	m = waitStorage(t, ctx, srv, server.StorageUnavailable)
	if m["errors"] != int64(1) || !strings.Contains(m["last_error"].(string), "disk I/O error") || m["last_error_time"] == nil {
		t.Fatalf("storage %v", m)
	}
}

// TestRefresh: a run changed in the store behind the server's back (by
// another server on the same database) shows once Refresh reads it again,
// and leaves the live state once deleted there.
func TestRefresh(t *testing.T) {
	srv := startOn(t, func(s store.Store) store.Store { return s }, server.Options{LiveInterval: time.Hour})
	ctx := ctxT(t)
	st := srv.Store()
	entry := func() map[string]any {
		var e map[string]any
		srv.Live().Runs().Read(func(tree any) { e, _ = tree.(map[string]any)["x1"].(map[string]any) })
		return e
	}
	refresh := func() {
		t.Helper()
		if err := srv.Live().Refresh(ctx, "x1"); err != nil {
			t.Fatal(err)
		}
		srv.Live().Flush(ctx)
	}
	b := startRecords("x1")
	if _, err := st.Ingest(ctx, &b); err != nil {
		t.Fatal(err)
	}
	refresh()
	if e := entry(); e["status"] != "running" || e["name"] != "n" {
		t.Fatalf("after Refresh: %v", e)
	}
	if open, _, _ := runCounts(srv); open != 1 {
		t.Fatalf("open %d", open)
	}
	if err := st.Edit(ctx, "x1", []store.Record{{Kind: store.KindTag, Key: "remote", Time: 1}}); err != nil {
		t.Fatal(err)
	}
	b = store.Batch{Run: "x1", Records: []store.Record{{Seq: 3, Kind: store.KindStatus, Key: "finished", Time: time.Now().UnixNano()}}}
	if _, err := st.Ingest(ctx, &b); err != nil {
		t.Fatal(err)
	}
	refresh()
	if e := entry(); e["status"] != "finished" || !slices.Contains(e["tags"].([]any), any("remote")) || e["end"] == nil {
		t.Fatalf("after Refresh: %v", e)
	}
	if open, _, _ := runCounts(srv); open != 0 {
		t.Fatalf("open %d", open)
	}
	if err := st.DeleteRun(ctx, "x1"); err != nil {
		t.Fatal(err)
	}
	refresh()
	if e := entry(); e != nil || srv.Live().Known("x1") {
		t.Fatalf("deleted in the store, still live: %v", e)
	}
}
