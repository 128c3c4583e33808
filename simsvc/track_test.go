package simsvc_test

import (
	"bytes"
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/simsvc"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/sqlite"
)

// trackServer runs a tracking server (SQLite in a temporary directory) on
// a loopback port for the test's duration and returns its address and a
// reader on it.
func trackServer(t *testing.T) (string, *track.Reader) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(ctx, st, server.Options{})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		st.Close()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(context.Background(), ln) }()
	addr := ln.Addr().String()
	rd, err := track.Open(testCtx(t), addr, track.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		rd.Close()
		srv.Close()
		ln.Close()
		<-done
		st.Close()
	})
	return addr, rd
}

func trackOpts(t *testing.T, addr string) *track.Options {
	return &track.Options{Project: "simsvc", Addr: addr, SpoolDir: t.TempDir(), NoSource: true}
}

// getRun reads a run after the records logged so far are stored.
func getRun(t *testing.T, rd *track.Reader, run *track.Run) *track.RunInfo {
	t.Helper()
	ctx := testCtx(t)
	must(t, run.Flush(ctx))
	info, err := rd.GetRun(ctx, run.ID())
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// waitExposed polls the server until the run exposes name.
func waitExposed(t *testing.T, rd *track.Reader, id, name string) *track.RunInfo {
	t.Helper()
	ctx := testCtx(t)
	for {
		info, err := rd.GetRun(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if info.Exposed[name] != nil {
			return info
		}
		select {
		case <-ctx.Done():
			t.Fatalf("run %s never exposed %q", id, name)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitEnded polls the server until the run has been ended (track.Run.End:
// a final status, the end statistics, nothing exposed any more), while
// the service is still served: the server ends its run at finish and
// stop, not only at Close.
func waitEnded(t *testing.T, rd *track.Reader, id string) *track.RunInfo {
	t.Helper()
	ctx := testCtx(t)
	for {
		info, err := rd.GetRun(ctx, id)
		switch {
		case err != nil && !strings.Contains(err.Error(), "unknown run"): // not stored yet
			t.Fatal(err)
		case err == nil && info.Status.Final() && info.Metadata["end.wall_seconds"] != nil && len(info.Exposed) == 0:
			return info
		}
		select {
		case <-ctx.Done():
			t.Fatalf("run %s never ended (%v)", id, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestTracked drives a tracked service through its lifecycle and reads
// what the tracking server stored at each stage: status, step, progress,
// the exposed target (service functions through call_function), and the
// profiler report at finish.
func TestTracked(t *testing.T) {
	addr, rd := trackServer(t)
	srv, saddr := serve(t, newCounter(), simsvc.Options{Name: "counter", Steps: 4, Track: trackOpts(t, addr)})
	run := srv.Track()
	if run == nil {
		t.Fatal("Server.Track is nil with Options.Track")
	}
	ctx := testCtx(t)
	p := dial(t, saddr, simsvc.DialOptions{})

	must(t, run.Flush(ctx))
	info := waitExposed(t, rd, run.ID(), "counter")
	if info.Project != "simsvc" || info.Name != "counter" || info.Status != store.StatusRegistered {
		t.Fatalf("at start: project %q name %q status %q", info.Project, info.Name, info.Status)
	}
	if info.Metadata["simsvc.service"] != "counter" {
		t.Fatalf("metadata %v", info.Metadata)
	}
	var methods []string
	for _, m := range info.Exposed["counter"].Methods {
		methods = append(methods, m.Name)
	}
	for _, want := range []string{"call_function", "service_functions", "status", "step", "profiler_report"} {
		if !slices.Contains(methods, want) {
			t.Fatalf("exposed methods %v lack %q", methods, want)
		}
	}
	// Before init registers it, the service function is not available.
	if _, err := rd.CallExposed(ctx, run.ID(), "counter", "call_function", "add", 1.0); err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Fatalf("call_function before init: %v", err)
	}

	must(t, p.Run(ctx))
	if info := getRun(t, rd, run); info.Status != store.StatusLoaded {
		t.Fatalf("after run: %q", info.Status)
	}
	for done := false; !done; {
		var err error
		done, err = p.Init(ctx)
		must(t, err)
	}
	if info := getRun(t, rd, run); info.Status != store.StatusInitialized {
		t.Fatalf("after init: %q", info.Status)
	}
	// The service function registered at init, through the tracker.
	res, err := rd.CallExposed(ctx, run.ID(), "counter", "call_function", "add", 2.5)
	if err != nil || res != 2.5 {
		t.Fatalf("call_function add through the tracker: %v, %v", res, err)
	}
	if st, err := rd.CallExposed(ctx, run.ID(), "counter", "status"); err != nil || st != "SIM_INITIALIZED" {
		t.Fatalf("status through the tracker: %v, %v", st, err)
	}
	if _, err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if info := getRun(t, rd, run); info.Status != store.StatusStarted {
		t.Fatalf("after start: %q", info.Status)
	}
	must(t, p.Step(ctx))
	if info := getRun(t, rd, run); info.Status != store.StatusRunning || info.Step != 1 || info.Progress != 25 {
		t.Fatalf("after 1 step: %q step %d progress %v", info.Status, info.Step, info.Progress)
	}
	for range 3 {
		must(t, p.Step(ctx))
	}
	must(t, p.Finish(ctx))
	// The run ends in the background, the service still served.
	if info := waitEnded(t, rd, run.ID()); info.Status != store.StatusFinished {
		t.Fatalf("after finish: %q %q", info.Status, info.Message)
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	must(t, srv.Shutdown(sctx))
	info, err = rd.GetRun(ctx, run.ID())
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != store.StatusFinished || info.Step != 4 || info.Progress != 100 || info.End == 0 {
		t.Fatalf("at the end: %q step %d progress %v end %v", info.Status, info.Step, info.Progress, info.End)
	}
	if len(info.Exposed) != 0 {
		t.Fatalf("still exposed after the end: %v", info.Exposed)
	}
	arts := map[string]store.Artifact{}
	for _, a := range info.Artifacts {
		arts[a.Name] = a
	}
	rep, ok := arts["profiler_report.txt"]
	if !ok || !rep.Present || arts["cpu.pprof"].Size == 0 {
		t.Fatalf("artifacts %+v", info.Artifacts)
	}
	var b bytes.Buffer
	if _, err := rd.Artifact(ctx, rep.Sha256, &b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `CPU profile of service "counter"`) {
		t.Fatalf("profiler report:\n%s", b.String())
	}
}

// TestTrackedEnds: the status the run ends with, for each way the
// simulation ends.
func TestTrackedEnds(t *testing.T) {
	addr, rd := trackServer(t)
	cases := []struct {
		name    string
		failAt  int
		end     func(ctx context.Context, p *simsvc.Proxy, srv *simsvc.Server) error
		status  store.Status
		message string
	}{
		{"finish", 0, func(ctx context.Context, p *simsvc.Proxy, _ *simsvc.Server) error { return p.Finish(ctx) }, store.StatusFinished, ""},
		{"stop", 0, func(ctx context.Context, p *simsvc.Proxy, _ *simsvc.Server) error { return p.Stop(ctx, true) }, store.StatusStopped, ""},
		{"stop-complete", 0, func(ctx context.Context, p *simsvc.Proxy, _ *simsvc.Server) error { return p.Stop(ctx, false) }, store.StatusFinished, ""},
		{"fail-then-stop", 2, func(ctx context.Context, p *simsvc.Proxy, _ *simsvc.Server) error { return p.Stop(ctx, true) }, store.StatusFailed, "step: diverged at step 2"},
		{"close", 0, func(context.Context, *simsvc.Proxy, *simsvc.Server) error { return nil }, store.StatusStopped, "simsvc: the server closed before the simulation ended (status SIM_RUNNING)"},
		{"fail-then-close", 2, func(context.Context, *simsvc.Proxy, *simsvc.Server) error { return nil }, store.StatusFailed, "step: diverged at step 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCounter()
			c.failAt = tc.failAt
			srv, saddr := serve(t, c, simsvc.Options{Name: "counter", Track: trackOpts(t, addr)})
			run := srv.Track()
			ctx := testCtx(t)
			p := dial(t, saddr, simsvc.DialOptions{})
			must(t, p.Run(ctx))
			for done := false; !done; {
				var err error
				done, err = p.Init(ctx)
				must(t, err)
			}
			if _, err := p.Start(ctx); err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= 2; i++ {
				if err := p.Step(ctx); (err != nil) != (i == tc.failAt) {
					t.Fatalf("step %d: %v", i, err)
				}
			}
			must(t, tc.end(ctx, p, srv))
			if tc.name != "close" && tc.name != "fail-then-close" {
				if info := waitEnded(t, rd, run.ID()); info.Status != tc.status {
					t.Fatalf("before Close: %q, want %q", info.Status, tc.status)
				}
			}
			srv.Close() // ends the run, waiting for the server
			info, err := rd.GetRun(ctx, run.ID())
			if err != nil {
				t.Fatal(err)
			}
			if info.Status != tc.status || info.Message != tc.message || info.End == 0 {
				t.Fatalf("ended %q %q (end %v), want %q %q", info.Status, info.Message, info.End, tc.status, tc.message)
			}
			var names []string
			for _, a := range info.Artifacts {
				names = append(names, a.Name)
			}
			if !slices.Contains(names, "profiler_report.txt") {
				t.Fatalf("artifacts %v", names)
			}
		})
	}
}

// TestTrackedSpawn: a spawned child with SpawnOptions.Track records its
// run there (ServeChild reads EnvTrack), and the run has ended, finished,
// when Proxy.Close returns.
func TestTrackedSpawn(t *testing.T) {
	addr, rd := trackServer(t)
	cmd := childCmd(t, "serve")
	cmd.Dir = t.TempDir() // outside the module tree: no source snapshot
	cmd.Env = append(cmd.Env, "XDG_CACHE_HOME="+t.TempDir(), "HOME="+t.TempDir())
	ctx := testCtx(t)
	p, err := simsvc.Spawn(ctx, cmd, simsvc.SpawnOptions{Track: addr})
	if err != nil {
		t.Fatal(err)
	}
	must(t, simsvc.Execute(ctx, p, simsvc.ExecOptions{Steps: 3}, func(int) error { return p.Step(ctx) }))
	page, err := rd.ListRuns(ctx, store.RunFilter{Text: "counter"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Runs) != 1 {
		t.Fatalf("runs %+v", page.Runs)
	}
	r := page.Runs[0]
	if r.Name != "counter" || r.Status != store.StatusFinished || r.Step != 3 {
		t.Fatalf("the child's run: %q %q step %d", r.Name, r.Status, r.Step)
	}
}

// TestTrackAndRecorder: the two options exclude each other.
func TestTrackAndRecorder(t *testing.T) {
	_, err := simsvc.NewServer(newCounter(), simsvc.Options{Track: &track.Options{}, Recorder: &recorder{}})
	if err == nil || !strings.Contains(err.Error(), "exclude") {
		t.Fatalf("NewServer: %v", err)
	}
}
