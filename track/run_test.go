package track_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/syncstruct"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

type steer struct{ rate float64 }

// SetRate changes the rate.
func (s *steer) SetRate(r float64) float64 { s.rate = r; return r }

func TestRunEndToEnd(t *testing.T) {
	ts := startServer(t, "", "", server.Options{})
	ctx := ctxT(t, 30*time.Second)
	spool := t.TempDir()
	run, err := track.Start(ctx, track.Options{Project: "p", Name: "e2e", Addr: ts.addr, SpoolDir: spool, NoSource: true})
	if err != nil {
		t.Fatal(err)
	}
	run.LogParams(map[string]any{"omega": 2.0, "n": 10, "label": "x", "grid": []int{1, 2, 3}})
	run.SetStatus(track.StatusRunning)
	for i := range 1000 {
		run.LogResult("x", float64(i), int64(i))
	}
	run.LogResult("profile", []float64{1, 2, 3}, 7)
	run.AddNote("hello")
	run.AddTag("t1")
	run.SetProgress(50)
	run.Logger().Info("a log line", "k", 1)
	f := filepath.Join(t.TempDir(), "out.txt")
	os.WriteFile(f, []byte("artifact content"), 0o644)
	run.LogArtifact(f)
	st := &steer{}
	if err := run.Expose("ctl", st); err != nil {
		t.Fatal(err)
	}
	if err := run.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rd, err := track.Open(ctx, ts.addr, track.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	// The exposed object appears once its connection is up.
	for {
		info, err := rd.GetRun(ctx, run.ID())
		if err != nil {
			t.Fatal(err)
		}
		if info.Exposed["ctl"] != nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the exposed object never appeared")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// ... and in the run's live state, with its methods.
	name, err := rd.Watch(ctx, run.ID())
	if err != nil {
		t.Fatal(err)
	}
	sub, err := syncstruct.NewSubscriber(ts.addr, name, syncstruct.SubscriberOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for {
		var methods []any
		sub.Read(func(tree any) {
			m, _ := tree.(map[string]any)
			ex, _ := m["exposed"].(map[string]any)
			ctl, _ := ex["ctl"].(map[string]any)
			methods, _ = ctl["methods"].([]any)
		})
		if len(methods) == 1 && methods[0].(map[string]any)["name"] == "set_rate" {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("live exposed state: %v", sub.Copy())
		}
		time.Sleep(20 * time.Millisecond)
	}
	res, err := rd.CallExposed(ctx, run.ID(), "ctl", "set_rate", 3.5)
	if err != nil || res != 3.5 {
		t.Fatalf("call_exposed: %v %v", res, err)
	}
	run.LogParam("omega", 3.0) // conflict
	if err := run.Flush(ctx); !strings.Contains(fmtErr(err), "omega") {
		t.Fatalf("the param conflict was not reported: %v", err)
	}
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}
	info, err := rd.GetRun(ctx, run.ID())
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != store.StatusFinished || info.Params["omega"] != 2.0 || info.Progress != 100 || len(info.Notes) != 1 || len(info.Artifacts) != 1 || !info.Artifacts[0].Present { // finished: progress 100 (store/rules.go), whatever was reported
		t.Fatalf("run %+v", info.Run)
	}
	if info.Metadata["go.version"] == nil || info.Metadata["end.wall_seconds"] == nil {
		t.Fatalf("metadata %v", info.Metadata)
	}
	ser, err := rd.Series(ctx, run.ID(), "x", store.SeriesQuery{})
	if err != nil || len(ser.Value) != 1000 {
		t.Fatalf("series %v %d", err, len(ser.Value))
	}
	var sb strings.Builder
	if _, err := rd.Artifact(ctx, info.Artifacts[0].Sha256, &sb); err != nil || sb.String() != "artifact content" {
		t.Fatalf("artifact %q %v", sb.String(), err)
	}
	// Logs arrive shortly after (the sink commits every 50 ms).
	for {
		lp, err := rd.Logs(ctx, store.LogQuery{Run: run.ID()})
		if err != nil {
			t.Fatal(err)
		}
		if len(lp.Logs) > 0 {
			if lp.Logs[0].Message != "a log line" {
				t.Fatalf("log %+v", lp.Logs[0])
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatal("no log arrived")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(spool, run.ID())); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the spool directory of a delivered run is left: %v", err)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestProfileArtifact: a CPU profile is attached at End, and so is the
// source snapshot of the module tree the program runs from. The tree is a
// small one made here (and the snapshot bounded): from the package
// directory it would be a tar.gz of the whole repository, which under
// -race on a loaded machine took longer than the test's 30 s.
func TestProfileArtifact(t *testing.T) {
	git, gitErr := exec.LookPath("git")
	if gitErr == nil {
		bi, _ := debug.ReadBuildInfo()
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+bi.Main.Path+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"init", "-q"}, {"add", "go.mod"}} {
			if out, err := exec.Command(git, append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
				t.Fatalf("git %v: %v: %s", args, err, out)
			}
		}
		t.Chdir(dir)
	}
	ts := startServer(t, "", "", server.Options{})
	ctx := ctxT(t, 30*time.Second)
	run, err := track.Start(ctx, track.Options{Addr: ts.addr, SpoolDir: t.TempDir(), CPUProfile: true, MaxSourceBytes: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		run.LogResult("x", float64(i), int64(i))
	}
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}
	r, _ := ts.st.GetRun(ctx, run.ID())
	var names []string
	for _, a := range r.Artifacts {
		names = append(names, a.Name)
	}
	if !slices.Contains(names, "cpu.pprof") {
		t.Fatalf("artifacts %v", names)
	}
	if gitErr == nil && !slices.Contains(names, "source.tar.gz") {
		t.Fatalf("artifacts %v, want source.tar.gz", names)
	}
}

// TestEndDoesNotWaitForSource: a source snapshot that takes long (a large
// tree on a loaded machine) does not keep the final status from the
// server: End gives it half of its deadline, then abandons it.
func TestEndDoesNotWaitForSource(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("skipping: no git, so no source snapshot")
	}
	bi, _ := debug.ReadBuildInfo()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+bi.Main.Path+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "go.mod"}} {
		if out, err := exec.Command(git, append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	t.Chdir(dir)
	track.SetTestHookSourceFile(func(ctx context.Context) { <-ctx.Done() }) // never finishes by itself
	t.Cleanup(func() { track.SetTestHookSourceFile(nil) })
	ts := startServer(t, "", "", server.Options{})
	run, err := track.Start(ctxT(t, 30*time.Second), track.Options{Addr: ts.addr, SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	run.LogResult("x", 1, 0)
	if err := run.End(ctxT(t, 6*time.Second), track.StatusFinished); err != nil {
		t.Fatalf("End: %v", err)
	}
	r, err := ts.st.GetRun(ctxT(t, 10*time.Second), run.ID())
	if err != nil || r.Status != store.StatusFinished {
		t.Fatalf("run %+v, %v; want finished", r.Status, err)
	}
}
