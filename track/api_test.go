package track_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

func TestContextAndNilRun(t *testing.T) {
	if track.FromContext(context.Background()) != nil {
		t.Fatal("a run from an empty context")
	}
	var r *track.Run // every method of a nil run does nothing
	r.LogParam("a", 1)
	r.LogResult("x", 1.0, 0)
	r.AddNote("n")
	r.Count("c")
	r.Timed("t")()
	r.Logger().Info("nothing")
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, "", "", server.Options{})
	ctx := ctxT(t, 30*time.Second)
	run, err := track.Start(ctx, track.Options{Addr: ts.addr, SpoolDir: t.TempDir(), NoSource: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := track.FromContext(track.NewContext(ctx, run)); got != run {
		t.Fatal("NewContext/FromContext lost the run")
	}
	run.End(ctx, track.StatusFinished)
	if err := run.End(ctx, track.StatusFinished); !errors.Is(err, track.ErrEnded) {
		t.Fatalf("second End: %v", err)
	}
}

func TestReaderAPI(t *testing.T) {
	ts := startServer(t, "", "", server.Options{})
	ctx := ctxT(t, 30*time.Second)
	var ids []string
	for i := range 5 {
		run, err := track.Start(ctx, track.Options{Project: "api", Name: fmt.Sprint("run ", i), Addr: ts.addr, SpoolDir: t.TempDir(), NoSource: true})
		if err != nil {
			t.Fatal(err)
		}
		run.LogParam("i", i)
		run.AddTag("even")
		if i%2 == 1 {
			run.RemoveTag("even")
		}
		solve := track.Counted(run, "solve", func(x float64) float64 { return x * 2 })
		for range 3 {
			solve(1)
		}
		run.Count("calls")
		log := run.Logger()
		log.Debug("not forwarded") // below the default level
		log.Info("info")
		log.Warn("warn")
		f := filepath.Join(t.TempDir(), "result.txt")
		os.WriteFile(f, []byte(fmt.Sprint(i)), 0o644)
		run.LogResultFile("", f)
		status := track.StatusFinished
		if i == 4 {
			status = track.StatusFailed
		}
		if err := run.End(ctx, status, "done"); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, run.ID())
	}
	rd, err := track.Open(ctx, ts.addr, track.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	// Paging, newest first.
	var got []string
	f := store.RunFilter{Project: "api", Limit: 2}
	for {
		page, err := rd.ListRuns(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Runs {
			got = append(got, r.ID)
		}
		if page.Next == "" {
			break
		}
		f.After = page.Next
	}
	if len(got) != 5 || got[0] != ids[4] || got[4] != ids[0] {
		t.Fatalf("pages %v, ids %v", got, ids)
	}
	for _, c := range []struct {
		f    store.RunFilter
		want int
	}{
		{store.RunFilter{Project: "api", Tags: []string{"even"}}, 3},
		{store.RunFilter{Project: "api", Status: []store.Status{store.StatusFailed}}, 1},
		{store.RunFilter{Project: "api", Params: []store.ParamFilter{{Key: "i", Eq: 3}}}, 1},
		{store.RunFilter{Project: "api", Params: []store.ParamFilter{{Key: "i", Min: ptr(1.0), Max: ptr(2.0)}}}, 2},
		{store.RunFilter{Project: "api", Text: "RUN 2"}, 1},
		{store.RunFilter{Project: "api", Since: store.TimeOf(time.Now().Add(time.Hour))}, 0},
	} {
		page, err := rd.ListRuns(ctx, c.f)
		if err != nil || len(page.Runs) != c.want {
			t.Errorf("filter %+v: %v, %d runs, want %d", c.f, err, len(page.Runs), c.want)
		}
	}
	info, err := rd.GetRun(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	solve, _ := info.Counts["solve"].(map[string]any)
	if solve["calls"] != int64(3) || len(info.Artifacts) != 1 || !info.Artifacts[0].Result || info.Message != "done" {
		t.Fatalf("run %+v", info.Run)
	}
	// Logs: the level filter and paging.
	var logs []store.LogEntry
	for ctx.Err() == nil {
		page, err := rd.Logs(ctx, store.LogQuery{Run: ids[0]})
		if err != nil {
			t.Fatal(err)
		}
		if logs = page.Logs; len(logs) == 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(logs) != 2 {
		t.Fatalf("logs %+v", logs)
	}
	warn, err := rd.Logs(ctx, store.LogQuery{Run: ids[0], MinLevel: int(slog.LevelWarn)})
	if err != nil || len(warn.Logs) != 1 || warn.Logs[0].Message != "warn" {
		t.Fatalf("warnings: %v %+v", err, warn)
	}
	first, err := rd.Logs(ctx, store.LogQuery{Run: ids[0], Limit: 1})
	if err != nil || len(first.Logs) != 1 || first.Next == 0 {
		t.Fatalf("first page: %v %+v", err, first)
	}
	second, err := rd.Logs(ctx, store.LogQuery{Run: ids[0], After: first.Next, Limit: 1})
	if err != nil || len(second.Logs) != 1 || second.Logs[0].Message != "warn" {
		t.Fatalf("second page: %v %+v", err, second)
	}
	// Notes and tags from a reader; delete.
	if err := rd.AddNote(ctx, ids[1], "checked"); err != nil {
		t.Fatal(err)
	}
	if err := rd.AddTag(ctx, ids[1], "reviewed"); err != nil {
		t.Fatal(err)
	}
	if err := rd.DeleteRun(ctx, ids[2]); err != nil {
		t.Fatal(err)
	}
	if _, err := rd.GetRun(ctx, ids[2]); err == nil {
		t.Fatal("a deleted run is still there")
	}
	info, _ = rd.GetRun(ctx, ids[1])
	if len(info.Notes) != 1 || len(info.Tags) != 1 || info.Tags[0] != "reviewed" {
		t.Fatalf("after edits: %+v", info.Run)
	}
}

func ptr[T any](v T) *T { return &v }
