package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sigoco/sigoco/memo"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/jobs"
	"github.com/sigoco/sigoco/track/store"
)

// TestClientsFailOver: besides the sender, the clients given two nodes'
// addresses (A,B) move to B when A is killed (kill -9): a reader, the jobs
// client, memo's track storage, and the log forwarder of a run (a record
// logged after A died reaches the database through B).
func TestClientsFailOver(t *testing.T) {
	solvers := filepath.Join(t.TempDir(), "solvers.toml")
	if err := os.WriteFile(solvers, []byte("[[solver]]\nname = \"s\"\nversion = \"1\"\ncommand = [\"/bin/true\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, ports, nodes := startNodes(t, 2, "--solvers", solvers)
	ctx := ctxT(t, 90*time.Second)
	addrs := "127.0.0.1:" + ports[0] + ",127.0.0.1:" + ports[1]
	run, err := track.Start(ctx, track.Options{Project: "fo", Addr: addrs, SpoolDir: t.TempDir(), NoSource: true, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer run.End(ctx, track.StatusFailed) // ends its log forwarder on a failure
	run.Logger().Info("before")
	if err := run.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rd, err := track.Open(ctx, addrs, track.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	jc, err := jobs.Dial(ctx, addrs, jobs.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer jc.Close()
	mem, err := memo.OpenTrack(ctx, addrs, memo.TrackOptions{Project: "fo"})
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	if err := mem.Save(ctx, &memo.Entry{Key: memo.Key{Name: "m", Params: "1"}, Value: "v", Computed: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := rd.GetRun(ctx, run.ID()); err != nil {
		t.Fatal(err)
	}
	if _, err := jc.ListJobs(ctx, jobs.JobFilter{}); err != nil {
		t.Fatal(err)
	}
	// Logs are acknowledged when queued and stored within 50 ms (best
	// effort, docs/protocol-log.md): wait until "before" is stored so
	// that killing A cannot take it with it.
	waitLog(ctx, t, rd, run.ID(), "before")

	nodes[0].cmd.Process.Kill() // every client's connection is to A
	nodes[0].cmd.Wait()

	if info, err := rd.GetRun(ctx, run.ID()); err != nil || info.ID != run.ID() {
		t.Fatalf("reader after A died: %v", err)
	}
	if _, err := jc.ListJobs(ctx, jobs.JobFilter{}); err != nil {
		t.Fatalf("jobs client after A died: %v", err)
	}
	if e, err := mem.Load(ctx, memo.Key{Name: "m", Params: "1"}); err != nil || e.Value != "v" {
		t.Fatalf("memo after A died: %+v, %v", e, err)
	}
	run.Logger().Info("after")
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatalf("%v; stats %+v", err, run.Stats())
	}
	if msgs := waitLog(ctx, t, rd, run.ID(), "after"); !slices.Contains(msgs, "before") {
		t.Fatalf("logs %q", msgs)
	}
	rd.Close()
	nodes[1].stop(t)
}

// waitLog waits until the run's stored logs hold msg and returns them all.
func waitLog(ctx context.Context, t *testing.T, rd *track.Reader, run, msg string) []string {
	t.Helper()
	for {
		p, err := rd.Logs(ctx, store.LogQuery{Run: run})
		if err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, l := range p.Logs {
			msgs = append(msgs, l.Message)
		}
		if slices.Contains(msgs, msg) {
			return msgs
		}
		if ctx.Err() != nil {
			t.Fatalf("%q never reached the store: logs %q", msg, msgs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
