package main

import (
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/postgres/pgtest"
)

// TestPostgresStore: two trackd nodes started together on one PostgreSQL
// database (--store) migrate it once; a run reported to node A is read,
// complete, from node B, and `trackd export --store` reads it from the
// database.
func TestPostgresStore(t *testing.T) {
	u := pgtest.Database(t)
	portA, portB := freePort(t), freePort(t)
	var a, b *daemon
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a = startTrackd(t, portA, t.TempDir(), "--store", u) }()
	go func() { defer wg.Done(); b = startTrackd(t, portB, t.TempDir(), "--store", u) }()
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	ctx := ctxT(t, 60*time.Second)
	run, err := track.Start(ctx, track.Options{Project: "pg", Addr: "127.0.0.1:" + portA, SpoolDir: t.TempDir(), NoSource: true, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	run.LogParam("omega", 1.5)
	const n = 20_000
	for i := range n {
		run.LogResult("x", float64(i), int64(i))
	}
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatalf("%v; stats %+v", err, run.Stats())
	}
	rd, err := track.Open(ctx, "127.0.0.1:"+portB, track.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	s, err := rd.Series(ctx, run.ID(), "x", store.SeriesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Value) != n {
		t.Fatalf("node B reads %d results, want %d", len(s.Value), n)
	}
	for i, v := range s.Value {
		if v != float64(i) {
			t.Fatalf("result %d is %g", i, v)
		}
	}
	rd.Close()
	a.stop(t)
	b.stop(t)
	out, err := exec.Command(trackdBin, "--store", u, "export", run.ID()).Output()
	if err != nil || !strings.Contains(string(out), `"omega": 1.5`) || !strings.Contains(string(out), `"status": "finished"`) {
		t.Fatalf("trackd export --store: %v\n%.500s", err, out)
	}
}

// TestStoreFlagRefused: a --store that is neither sqlite nor a PostgreSQL
// URL is bad usage (exit 2), and the message does not repeat what follows
// the scheme (it may hold a password).
func TestStoreFlagRefused(t *testing.T) {
	cmd := exec.Command(trackdBin, "--store", "mysql://u:secret@db/x", "export", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 2 || strings.Contains(string(out), "secret") || !strings.Contains(string(out), "--store") {
		t.Fatalf("trackd --store mysql://…: %v\n%s", err, out)
	}
}
