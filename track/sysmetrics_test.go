package track_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

// TestSysMetrics: a run samples its process as sys.* series, one point
// per interval with the sample number as step; NoSysMetrics turns them off.
func TestSysMetrics(t *testing.T) {
	ts := startServer(t, "", "", server.Options{})
	ctx := ctxT(t, 60*time.Second)
	rd, err := track.Open(ctx, ts.addr, track.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()

	run, err := track.Start(ctx, track.Options{Addr: ts.addr, SpoolDir: t.TempDir(), NoSource: true, SysMetricsInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"sys.go.gc_cycles", "sys.go.gc_pause_ms", "sys.go.goroutines", "sys.go.heap_bytes"}
	if runtime.GOOS == "linux" {
		want = append(want, "sys.cpu.percent", "sys.rss_bytes")
	}
	// Wait (on the final condition, with ctx's deadline) for 3 samples of each.
	waitSysSeries(ctx, t, rd, run, want, 3)
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}
	for _, k := range want {
		s, err := rd.Series(ctx, run.ID(), k, store.SeriesQuery{})
		if err != nil {
			t.Fatal(err)
		}
		for i, step := range s.Step {
			if step != int64(i) || (i > 0 && s.Time[i] <= s.Time[i-1]) {
				t.Fatalf("%s: point %d at step %d, time %d", k, i, step, s.Time[i])
			}
			v := s.Value[i]
			if v < 0 || (k == "sys.go.goroutines" && v < 1) || (k == "sys.rss_bytes" && v < 1<<20) || (k == "sys.go.heap_bytes" && v < 1<<10) {
				t.Fatalf("%s = %v at point %d", k, v, i)
			}
		}
	}

	off, err := track.Start(ctx, track.Options{Addr: ts.addr, SpoolDir: t.TempDir(), NoSource: true, NoSysMetrics: true, SysMetricsInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	off.LogResult("x", 1.0, 0)
	// Long enough for dozens of samples had they been on.
	time.Sleep(50 * time.Millisecond)
	if err := off.End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}
	info, err := rd.GetRun(ctx, off.ID())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range info.Series {
		if strings.HasPrefix(s.Key, "sys.") {
			t.Fatalf("NoSysMetrics, yet %s", s.Key)
		}
	}
}
