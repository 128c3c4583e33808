package track_test

import (
	"testing"
	"time"

	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/server"
)

// TestLogResultDoesNotAllocate: a scalar result costs no allocation in the
// caller (the sender is kept idle so that only LogResult is counted).
func TestLogResultDoesNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	ts := startServer(t, "", "", server.Options{})
	ctx := ctxT(t, 30*time.Second)
	run, err := track.Start(ctx, track.Options{Addr: ts.addr, SpoolDir: t.TempDir(), NoSource: true, FlushInterval: time.Hour, HeartbeatInterval: time.Hour, BatchSize: 10_000_000, NoMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	defer run.End(ctx, track.StatusFinished)
	x := 0.5
	var step int64
	for range 100_000 { // grow the queue's columns first
		run.LogResult("x", x, step)
		step++
	}
	n := testing.AllocsPerRun(10_000, func() {
		x += 1.5
		run.LogResult("x", x, step)
		step++
	})
	if n > 0.01 {
		t.Fatalf("LogResult(float64) allocates %.3f times per call", n)
	}
	m := testing.AllocsPerRun(10_000, func() {
		run.LogResult("n", int(step), step)
		step++
	})
	if m > 0.01 {
		t.Fatalf("LogResult(int) allocates %.3f times per call", m)
	}
}
