package main

import (
	"bytes"
	"net"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/store"
)

// startTrackdLimited is startTrackd under a file-size limit (ulimit -f, in
// the shell's blocks): SQLite's writes past it fail with an I/O error.
func startTrackdLimited(t *testing.T, port, data, blocks string) *daemon {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", `ulimit -f "$1" && shift && exec "$@"`, "sh", blocks, trackdBin, "--port", port, "--data", data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, stderr: &stderr}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second)
		if err == nil {
			c.Close()
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("trackd did not start: %v\n%s", err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStorageFullLosesNothing: trackd's data directory fills up mid-run (a
// file-size limit): its answer, an I/O error, is "unavailable", so the
// client keeps and spools the batches; once trackd runs again with room,
// every result is stored exactly once and the run ends finished. Before,
// the client took the error for a refusal and dropped the batches for good.
func TestStorageFullLosesNothing(t *testing.T) {
	ctx := ctxT(t, 120*time.Second)
	port, data := freePort(t), t.TempDir()
	addr := "127.0.0.1:" + port
	limited := startTrackdLimited(t, port, data, "4096") // 2 MiB (dash) or 4 MiB (bash)
	run, err := track.Start(ctx, track.Options{Project: "full", Addr: addr, SpoolDir: t.TempDir(), NoMetadata: true, BatchSize: 20_000, MaxQueued: 2_000_000})
	if err != nil {
		t.Fatal(err)
	}
	const n = 600_000
	for i := range n {
		run.LogResult("x", float64(i)*1.000001, int64(i))
	}
	// Wait (on the condition, bounded by ctx) until the client spooled:
	// the server could not store.
	for s := run.Stats(); s.Spooled == 0; s = run.Stats() {
		if ctx.Err() != nil || s.Acked == s.Logged {
			t.Fatalf("nothing spooled (every batch stored or dropped); stats %+v\n%s", s, limited.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if limited.cmd.Process.Signal(syscall.Signal(0)) != nil {
		t.Fatalf("trackd died at the file-size limit instead of answering:\n%s", limited.stderr)
	}
	if s := run.Stats(); s.Errors != 0 {
		t.Fatalf("the client counted errors (refusals?): %+v", s)
	}
	limited.cmd.Process.Signal(syscall.SIGTERM)
	limited.cmd.Wait()
	t.Logf("limited trackd:\n%s", limited.stderr)

	startTrackd(t, port, data) // room again, on the same data directory
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatalf("End: %v", err)
	}
	rd, err := track.Open(ctx, addr, track.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	info, err := rd.GetRun(ctx, run.ID())
	if err != nil {
		t.Fatal(err)
	}
	ser, err := rd.Series(ctx, run.ID(), "x", store.SeriesQuery{MaxPoints: 10})
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != store.StatusFinished || ser.Len != n {
		t.Fatalf("status %s, %d of %d results stored", info.Status, ser.Len, n)
	}
}
