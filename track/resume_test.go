package track_test

import (
	"errors"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

// TestResumeRun: a run continued by a second client (a requeued job on
// another node) numbers its records after the run's last stored one
// (resume_run), so nothing it sends is taken for a replay: the series goes
// on unbroken and the run ends finished. A finished run is not resumed.
func TestResumeRun(t *testing.T) {
	ts := startServer(t, "", "", server.Options{})
	ctx := ctxT(t, 60*time.Second)
	const id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a99"
	opts := func() track.Options {
		return track.Options{ID: id, Project: "p", Addr: ts.addr, SpoolDir: t.TempDir(), NoMetadata: true, BatchSize: 300}
	}
	first, err := track.Start(ctx, opts())
	if err != nil {
		t.Fatal(err)
	}
	first.LogParam("omega", 2.0)
	first.SetStatus(track.StatusRunning)
	for i := range 500 {
		first.LogResult("x", float64(i), int64(i))
	}
	// The job is checkpointed and requeued: it stops without finishing.
	if err := first.End(ctx, track.StatusRunning, "requeued"); err != nil {
		t.Fatal(err)
	}

	o := opts()
	o.Resume = true
	second, err := track.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	second.LogParam("omega", 2.0) // the same params again: fine
	second.SetStatus(track.StatusLoaded)
	second.SetStatus(track.StatusRunning)
	for i := 500; i < 1000; i++ {
		second.LogResult("x", float64(i), int64(i))
	}
	if err := second.End(ctx, track.StatusFinished); err != nil {
		t.Fatalf("the resumed run's records: %v", err)
	}

	rd, err := track.Open(ctx, ts.addr, track.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	info, err := rd.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != store.StatusFinished {
		t.Fatalf("status %s", info.Status)
	}
	ser, err := rd.Series(ctx, id, "x", store.SeriesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if ser.Len != 1000 || len(ser.Step) != 1000 {
		t.Fatalf("the series has %d points, want 1000 (the second client's were dropped as replays?)", ser.Len)
	}
	for i := range ser.Step {
		if ser.Step[i] != int64(i) || ser.Value[i] != float64(i) || (i > 0 && ser.Seq[i] <= ser.Seq[i-1]) {
			t.Fatalf("point %d: step %d value %v seq %d", i, ser.Step[i], ser.Value[i], ser.Seq[i])
		}
	}

	// A finished run is not resumed; Start says so.
	_, err = track.Start(ctx, o)
	if !errors.Is(err, track.ErrResume) {
		t.Fatalf("resuming a finished run: %v", err)
	}
	t.Logf("resuming a finished run: %v", err)
}
