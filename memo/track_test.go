package memo

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/sqlite"
)

// startTrackd runs a tracking server with the memo target over SQLite in
// a temporary directory, on loopback.
func startTrackd(t *testing.T, mopts server.MemoOptions) (string, *sqlite.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(ctx, st, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := server.NewMemo(srv, mopts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.AddTarget(server.MemoTargetName, m); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() { srv.Close(); <-done; st.Close() })
	return ln.Addr().String(), st
}

func openTrack(t *testing.T, addr, project string) *TrackStorage {
	t.Helper()
	s, err := OpenTrack(testCtx(t), addr, TrackOptions{Project: project, LeaseTTL: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestTrackConstants(t *testing.T) {
	if TrackTarget != server.MemoTargetName || trackEnvAddr != track.EnvAddr || trackDefaultAddr != track.DefaultAddr {
		t.Fatal("memo's copies of the tracking server's names differ from track's")
	}
}

func TestTrackStorageRoundTrip(t *testing.T) {
	addr, _ := startTrackd(t, server.MemoOptions{})
	ctx := testCtx(t)
	s := openTrack(t, addr, "p")
	computed := time.Date(2026, 12, 3, 9, 0, 0, 123456789, time.UTC)
	for _, v := range []any{
		[]float64{1, 4, 9},
		map[string]any{"a": int64(1), "b": "x"},
		"text",
	} {
		key := Key{"m", fmt.Sprintf("%q", fmt.Sprint(v))}
		if _, err := s.Load(ctx, key); !errors.Is(err, ErrNotFound) {
			t.Fatalf("absent: %v", err)
		}
		if err := s.Save(ctx, &Entry{Key: key, Value: v, Computed: computed, Duration: 1500 * time.Millisecond, Run: "run-1"}); err != nil {
			t.Fatal(err)
		}
		e, err := s.Load(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if !e.Computed.Equal(computed) || e.Duration != 1500*time.Millisecond || e.Run != "run-1" || e.Key != key {
			t.Fatalf("entry %+v", e)
		}
		if ok, err := s.Exists(ctx, key); !ok || err != nil {
			t.Fatalf("exists: %v %v", ok, err)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.Exists(ctx, key); ok {
			t.Fatal("deleted entry exists")
		}
	}
	// Projects are apart.
	q := openTrack(t, addr, "q")
	s.Save(ctx, &Entry{Key: Key{"m", "1"}, Value: int64(1), Computed: computed})
	if _, err := q.Load(ctx, Key{"m", "1"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another project's entry: %v", err)
	}
}

// TestTrackTwoCaches: two caches (two goroutines, two connections) share
// entries through the server; the second waits on the lease and gets the
// first one's value instead of computing it.
func TestTrackTwoCaches(t *testing.T) {
	addr, _ := startTrackd(t, server.MemoOptions{})
	ctx := testCtx(t)
	var calls atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	mk := func(run string) func(context.Context, int) ([]float64, error) {
		c := New(Options{Storage: openTrack(t, addr, "p"), Run: run})
		return Func1(c, "poly", func(ctx context.Context, a int) ([]float64, error) {
			if calls.Add(1) == 1 {
				close(started)
			}
			<-release
			return []float64{float64(a), float64(a * a)}, nil
		})
	}
	f1, f2 := mk("run-1"), mk("run-2")
	type res struct {
		v   []float64
		err error
	}
	r1 := make(chan res, 1)
	go func() { v, err := f1(ctx, 3); r1 <- res{v, err} }()
	<-started
	r2 := make(chan res, 1)
	go func() { v, err := f2(ctx, 3); r2 <- res{v, err} }()
	once.Do(func() { close(release) })
	a, b := <-r1, <-r2
	if a.err != nil || b.err != nil {
		t.Fatal(a.err, b.err)
	}
	if calls.Load() != 1 || fmt.Sprint(a.v) != "[3 9]" || fmt.Sprint(b.v) != "[3 9]" {
		t.Fatalf("computed %d times; %v %v", calls.Load(), a.v, b.v)
	}
	// A third cache gets the entry, with the run that computed it.
	e, err := New(Options{Storage: openTrack(t, addr, "p")}).opts.Storage.Load(ctx, Key{"poly", "3"})
	if err != nil || e.Run != "run-1" {
		t.Fatalf("%+v %v", e, err)
	}
}

func TestTrackCorruptEntryRecomputed(t *testing.T) {
	addr, st := startTrackd(t, server.MemoOptions{})
	ctx := testCtx(t)
	s := openTrack(t, addr, "p")
	mk := store.MemoKey{Project: "p", Name: "f", Params: "1"}
	for name, e := range map[string]store.MemoEntry{
		"bad crc":     {Project: mk.Project, Name: mk.Name, Params: mk.Params, Value: []byte{0x01}, CRC: 7},
		"not msgpack": {Project: mk.Project, Name: mk.Name, Params: mk.Params, Value: []byte{0xc1}, CRC: crc32.Checksum([]byte{0xc1}, castagnoli)},
		"truncated":   {Project: mk.Project, Name: mk.Name, Params: mk.Params, Value: []byte{0x92, 0x01}, CRC: crc32.Checksum([]byte{0x92, 0x01}, castagnoli)},
	} {
		if err := st.PutMemo(ctx, &e); err != nil { // behind the server's back
			t.Fatal(err)
		}
		_, err := s.Load(ctx, Key{"f", "1"})
		var ce *CorruptError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "tracking server") {
			t.Fatalf("%s: %v", name, err)
		}
		c := New(Options{Storage: s})
		f := Func1(c, "f", func(ctx context.Context, a int) (int, error) { return 10 * a, nil })
		if v, err := f(ctx, 1); err != nil || v != 10 {
			t.Fatalf("%s: recomputed %v %v", name, v, err)
		}
		if e, err := s.Load(ctx, Key{"f", "1"}); err != nil || e.Value != int64(10) {
			t.Fatalf("%s: overwritten %+v %v", name, e, err)
		}
	}
}

func TestTrackRefusesBadValues(t *testing.T) {
	addr, _ := startTrackd(t, server.MemoOptions{MaxValueSize: 1000})
	ctx := testCtx(t)
	s := openTrack(t, addr, "p")
	if s.MaxValueSize() != 1000 {
		t.Fatalf("limit %d", s.MaxValueSize())
	}
	// Client side: refused before sending, with the sizes.
	err := s.Save(ctx, &Entry{Key: Key{"big", "1"}, Value: make([]float64, 1000), Computed: time.Now()})
	if !errors.Is(err, ErrValue) || !strings.Contains(err.Error(), "over the tracking server's limit of 1000") {
		t.Fatalf("oversized: %v", err)
	}
	c := New(Options{Storage: s})
	big := Func1(c, "big", func(ctx context.Context, n int) ([]float64, error) { return make([]float64, n), nil })
	if _, err := big(ctx, 1000); !errors.Is(err, ErrValue) || !strings.Contains(err.Error(), "not stored") {
		t.Fatalf("cache with an oversized value: %v", err)
	}
	// Server side, for clients that do not check.
	rc, err := rpc.Dial(ctx, addr, server.MemoTargetName, rpc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	mk := store.MemoKey{Project: "p", Name: "x", Params: ""}
	for name, tc := range map[string]struct {
		e    store.MemoEntry
		want string
	}{
		"oversized":   {store.MemoEntry{Project: mk.Project, Name: mk.Name, Params: mk.Params, Value: make([]byte, 2000)}, "over the limit MaxValueSize = 1000"},
		"bad crc":     {store.MemoEntry{Project: mk.Project, Name: mk.Name, Params: mk.Params, Value: []byte{0x01}, CRC: 1}, "CRC-32C mismatch"},
		"not msgpack": {store.MemoEntry{Project: mk.Project, Name: mk.Name, Params: mk.Params, Value: []byte{0xc1}, CRC: crc32.Checksum([]byte{0xc1}, castagnoli)}, "not one msgpack value"},
		"trailing":    {store.MemoEntry{Project: mk.Project, Name: mk.Name, Params: mk.Params, Value: []byte{1, 2}, CRC: crc32.Checksum([]byte{1, 2}, castagnoli)}, "bytes after the value"},
		"no project":  {store.MemoEntry{Name: "x", Value: []byte{1}, CRC: crc32.Checksum([]byte{1}, castagnoli)}, "empty memo project"},
		"long params": {store.MemoEntry{Project: "p", Name: "x", Params: strings.Repeat("1", store.MaxMemoParams+1), Value: []byte{1}, CRC: crc32.Checksum([]byte{1}, castagnoli)}, "MaxMemoParams"},
	} {
		err := rc.CallInto(ctx, nil, "put", tc.e)
		var re *rpc.RemoteError
		if !errors.As(err, &re) || !strings.Contains(re.Message, tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	if ok, err := s.Exists(ctx, Key{"x", ""}); ok || err != nil {
		t.Fatalf("a refused value was stored: %v %v", ok, err)
	}
}

// TestTrackLeaseExpires: a holder that stops renewing (it died) blocks
// others only until its lease expires.
func TestTrackLeaseExpires(t *testing.T) {
	addr, _ := startTrackd(t, server.MemoOptions{})
	ctx := testCtx(t)
	rc, err := rpc.Dial(ctx, addr, server.MemoTargetName, rpc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var tok string
	mk := store.MemoKey{Project: "p", Name: "slow", Params: "1"}
	if err := rc.CallInto(ctx, &tok, "lock", mk, int64(300), int64(0)); err != nil || tok == "" {
		t.Fatalf("lock: %q %v", tok, err)
	}
	s := openTrack(t, addr, "p")
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = s.Lock(short, Key{"slow", "1"})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lock held by another: %v, want to wait", err)
	}
	unlock, err := s.Lock(ctx, Key{"slow", "1"}) // after the 300 ms lease expired
	if err != nil {
		t.Fatal(err)
	}
	var held bool
	if err := rc.CallInto(ctx, &held, "renew", mk, tok, int64(300)); err != nil || held {
		t.Fatalf("the expired holder renewed: %v %v", held, err)
	}
	unlock()
	unlock() // idempotent
	if err := rc.CallInto(ctx, &tok, "lock", mk, int64(300), int64(0)); err != nil || tok == "" {
		t.Fatalf("lock after unlock: %q %v", tok, err)
	}
}

func TestTrackGetAllSkipsStored(t *testing.T) {
	addr, _ := startTrackd(t, server.MemoOptions{})
	ctx := testCtx(t)
	var calls atomic.Int32
	mk := func() *Cache {
		c := New(Options{Storage: openTrack(t, addr, "p"), Quiet: true})
		Func2(c, "g", func(ctx context.Context, a, b int) (int, error) { calls.Add(1); return a + b, nil })
		c.Declare("g", Product([]any{1, 2}, []any{3, 4})...)
		return c
	}
	if r, err := mk().GetAll(ctx); err != nil || r.Computed != 4 {
		t.Fatalf("%+v %v", r, err)
	}
	if r, err := mk().GetAll(ctx); err != nil || r.Skipped != 4 || calls.Load() != 4 {
		t.Fatalf("second machine: %+v %v (calls %d)", r, err, calls.Load())
	}
}

// TestTrackProcesses: two processes share one computation through the
// server, and a third process gets a hit.
func TestTrackProcesses(t *testing.T) {
	addr, _ := startTrackd(t, server.MemoOptions{})
	dir := t.TempDir()
	t.Setenv("MEMO_ADDR", addr)
	a := helper(t, "track", dir)
	waitFile(t, filepath.Join(dir, "started")) // a computes and holds the lease
	b := helper(t, "track", dir)               // b must wait for a's value
	os.WriteFile(filepath.Join(dir, "release"), nil, 0o644)
	a.wait(t)
	b.wait(t)
	want := "value from pid " + strconv.Itoa(a.cmd.Process.Pid)
	if a.out.String() != want || b.out.String() != want {
		t.Fatalf("a printed %q, b %q; want both %q", a.out.String(), b.out.String(), want)
	}
	c := helper(t, "track", dir)
	c.wait(t)
	count, _ := os.ReadFile(filepath.Join(dir, "count"))
	if string(count) != "x" || c.out.String() != want {
		t.Fatalf("computed %d times across processes, want once; third printed %q", len(count), c.out.String())
	}
}

// TestTrackRedials: a lost connection is redialled by the next call.
func TestTrackRedials(t *testing.T) {
	addr, _ := startTrackd(t, server.MemoOptions{})
	ctx := testCtx(t)
	s := openTrack(t, addr, "p")
	if err := s.Save(ctx, &Entry{Key: Key{"m", "1"}, Value: "v", Computed: time.Now()}); err != nil {
		t.Fatal(err)
	}
	cl, err := s.c.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cl.Close()
	if e, err := s.Load(ctx, Key{"m", "1"}); err != nil || e.Value != "v" {
		t.Fatalf("after the connection was lost: %+v %v", e, err)
	}
	s.Close()
	if _, err := s.Load(ctx, Key{"m", "1"}); !errors.Is(err, ErrTrackClosed) {
		t.Fatalf("closed: %v", err)
	}
}

// TestTrackLeaseRenewed: a live holder keeps its lease past LeaseTTL.
func TestTrackLeaseRenewed(t *testing.T) {
	addr, _ := startTrackd(t, server.MemoOptions{})
	ctx := testCtx(t)
	s, err := OpenTrack(ctx, addr, TrackOptions{Project: "p", LeaseTTL: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	unlock, err := s.Lock(ctx, Key{"slow", "1"})
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	time.Sleep(3 * time.Second) // two lease lifetimes
	rc, err := rpc.Dial(ctx, addr, server.MemoTargetName, rpc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var tok string
	if err := rc.CallInto(ctx, &tok, "lock", store.MemoKey{Project: "p", Name: "slow", Params: "1"}, int64(1000), int64(0)); err != nil || tok != "" {
		t.Fatalf("took a renewed lease: %q %v", tok, err)
	}
}
