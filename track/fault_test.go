package track_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

// freeAddr returns a loopback address nobody listens on (now).
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// downRun logs a run while no server listens at addr and ends it; it
// returns the run id. Everything is left in the spool.
func downRun(t *testing.T, addr, spool string, n int) string {
	ctx := ctxT(t, 30*time.Second)
	run, err := track.Start(ctx, track.Options{Project: "down", Name: "offline", Addr: addr, SpoolDir: spool, NoSource: true, FlushInterval: 5 * time.Millisecond, BatchSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	run.LogParam("a", 1)
	for i := range n {
		run.LogResult("x", float64(i), int64(i))
	}
	run.AddNote("written offline")
	run.LogArtifactReader("data.txt", strings.NewReader("offline artifact"))
	ectx := ctxT(t, 300*time.Millisecond)
	if err := run.End(ectx, track.StatusFinished); !errors.Is(err, track.ErrSpooled) {
		t.Fatalf("End with the server down: %v (want ErrSpooled)", err)
	}
	return run.ID()
}

func checkRun(t *testing.T, ts *testServer, id string, n int) {
	t.Helper()
	ctx := ctxT(t, 10*time.Second)
	r, err := ts.st.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != store.StatusFinished || r.Params["a"] != int64(1) || len(r.Notes) != 1 {
		t.Fatalf("run %+v", r)
	}
	s, err := ts.st.Series(ctx, id, "x", store.SeriesQuery{})
	if err != nil || len(s.Value) != n {
		t.Fatalf("series: %v, %d points, want %d", err, len(s.Value), n)
	}
	for i := range s.Value {
		if s.Value[i] != float64(i) || (i > 0 && s.Seq[i] <= s.Seq[i-1]) {
			t.Fatalf("point %d: %g seq %d", i, s.Value[i], s.Seq[i])
		}
	}
	if len(r.Artifacts) != 1 || !r.Artifacts[0].Present {
		t.Fatalf("artifacts %+v", r.Artifacts)
	}
}

func TestServerDownThenReplay(t *testing.T) {
	addr := freeAddr(t)
	spool := t.TempDir()
	id := downRun(t, addr, spool, 5000)
	ts := startServer(t, "", addr, server.Options{})
	ctx := ctxT(t, 30*time.Second)
	res, err := track.Replay(ctx, spool, track.ReplayOptions{Addr: ts.addr})
	if err != nil || len(res) != 1 || res[0].Err != nil || res[0].Blobs != 1 {
		t.Fatalf("replay: %v %+v", err, res)
	}
	checkRun(t, ts, id, 5000)
	// Replaying again (nothing left) changes nothing.
	if res, err := track.Replay(ctx, spool, track.ReplayOptions{Addr: ts.addr}); err != nil || len(res) != 0 {
		t.Fatalf("second replay: %v %+v", err, res)
	}
}

func TestNextStartReplaysSpool(t *testing.T) {
	addr := freeAddr(t)
	spool := t.TempDir()
	id := downRun(t, addr, spool, 300)
	ts := startServer(t, "", addr, server.Options{})
	ctx := ctxT(t, 30*time.Second)
	run, err := track.Start(ctx, track.Options{Addr: ts.addr, SpoolDir: spool, NoSource: true})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if r, err := ts.st.GetRun(ctx, id); err == nil && r.Status == store.StatusFinished && len(r.Artifacts) == 1 && r.Artifacts[0].Present {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the spool left behind was not replayed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}
	checkRun(t, ts, id, 300)
}

func TestTruncatedSpool(t *testing.T) {
	addr := freeAddr(t)
	spool := t.TempDir()
	id := downRun(t, addr, spool, 1000)
	path := filepath.Join(spool, id, track.SpoolFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()-7); err != nil { // the last frame cut short
		t.Fatal(err)
	}
	ts := startServer(t, "", addr, server.Options{})
	ctx := ctxT(t, 30*time.Second)
	res, err := track.Replay(ctx, spool, track.ReplayOptions{Addr: ts.addr})
	if err != nil || len(res) != 1 || !errors.Is(res[0].Err, track.ErrSpoolCorrupt) {
		t.Fatalf("replay of a cut spool: %v %+v", err, res)
	}
	t.Logf("replay: %v", res[0].Err)
	// Every complete frame arrived: the run exists with its first points.
	r, err := ts.st.GetRun(ctx, id)
	if err != nil || r.Params["a"] != int64(1) || r.Series[0].Len == 0 {
		t.Fatalf("run after a cut spool: %v %+v", err, r)
	}
}

func TestBadInputIsReported(t *testing.T) {
	ts := startServer(t, "", "", server.Options{})
	ctx := ctxT(t, 30*time.Second)
	run, err := track.Start(ctx, track.Options{Addr: ts.addr, SpoolDir: t.TempDir(), NoSource: true})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		log  func()
		want string
	}{
		{"param conflict", func() { run.LogParam("p", 1); run.LogParam("p", 2) }, "already"},
		{"long key", func() { run.LogParam(strings.Repeat("k", 1000), 1) }, "MaxKeyLen"},
		{"long result key", func() { run.LogResult(strings.Repeat("r", 300), 1.0, 0) }, "MaxKeyLen"},
		{"big value", func() { run.AddMetadata("blob", strings.Repeat("v", 2<<20)) }, "MaxValueSize"},
		{"bad progress", func() { run.SetProgress(150) }, "0–100"},
		{"unloggable value", func() { run.LogParam("ch", make(chan int)) }, "cannot log"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.log()
			run.LogParam("fine."+c.name, c.name) // logged beside it: kept
			err := run.Flush(ctx)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error with %q", err, c.want)
			}
			t.Log(err)
		})
	}
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}
	r, _ := ts.st.GetRun(ctx, run.ID())
	for _, c := range cases {
		if r.Params["fine."+c.name] != c.name {
			t.Errorf("the record beside %q was lost", c.name)
		}
	}
}

// TestZeroValues: zeros are values (a regression: omitempty turned a param
// of 0 into nil and a progress of 0 into an error).
func TestZeroValues(t *testing.T) {
	ts := startServer(t, "", "", server.Options{})
	ctx := ctxT(t, 30*time.Second)
	run, err := track.Start(ctx, track.Options{Addr: ts.addr, SpoolDir: t.TempDir(), NoSource: true})
	if err != nil {
		t.Fatal(err)
	}
	run.LogParams(map[string]any{"zero": 0, "f": 0.0, "s": "", "b": false})
	run.SetProgress(0)
	run.LogResult("v", []float64{}, 0)
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}
	r, _ := ts.st.GetRun(ctx, run.ID())
	if r.Params["zero"] != int64(0) || r.Params["f"] != 0.0 || r.Params["s"] != "" || r.Params["b"] != false {
		t.Fatalf("params %#v", r.Params)
	}
}

// TestSlowServerSpills: with a small MaxQueued, a simulation logging faster
// than batches go out spills its backlog to the spool; every result
// accepted arrives once, in order (results logged while the queue is full
// are dropped and reported).
func TestSlowServerSpills(t *testing.T) {
	ts := startServer(t, "", "", server.Options{})
	ctx := ctxT(t, 60*time.Second)
	run, err := track.Start(ctx, track.Options{Addr: ts.addr, SpoolDir: t.TempDir(), NoMetadata: true, MaxQueued: 20000, BatchSize: 500, FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	const n = 40_000
	for i := range n {
		run.LogResult("x", float64(i), int64(i))
		if i%3000 == 0 {
			time.Sleep(2 * time.Millisecond) // stay under MaxQueued between two sender wake-ups
		}
	}
	err = run.End(ctx, track.StatusFinished)
	st := run.Stats()
	t.Logf("stats %+v", st)
	if err != nil && !errors.Is(err, track.ErrDropped) {
		t.Fatal(err)
	}
	s, err := ts.st.Series(ctx, run.ID(), "x", store.SeriesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(s.Seq); i++ {
		if s.Seq[i] <= s.Seq[i-1] || s.Value[i] <= s.Value[i-1] {
			t.Fatalf("out of order at %d", i)
		}
	}
	if want := st.Logged - 3; int64(len(s.Value)) != want { // start, registered, finished
		t.Fatalf("%d points stored, %d accepted", len(s.Value), want)
	}
	if st.Spooled == 0 {
		t.Skip("the server kept up: nothing to spill on this machine")
	}
}
