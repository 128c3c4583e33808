package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/sqlite"
)

// TestDriveTracked runs the driver with --track against a real tracking
// server (SQLite in a temporary directory, loopback) and reads the run
// the service recorded.
func TestDriveTracked(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
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
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() { srv.Close(); ln.Close(); <-done; st.Close() })
	addr := ln.Addr().String()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Dir = t.TempDir() // outside the module tree: no source snapshot
	cmd.Env = append(os.Environ(), "SIMSERVICE_TEST_SERVE=1", "GORACE=atexit_sleep_ms=0", "XDG_CACHE_HOME="+t.TempDir())
	var out bytes.Buffer
	if err := drive(ctx, cmd, addr, &out); err != nil {
		t.Fatalf("drive: %v\n%s", err, out.String())
	}
	rd, err := track.Open(ctx, addr, track.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	page, err := rd.ListRuns(ctx, store.RunFilter{Project: "simservice"})
	if err != nil || len(page.Runs) != 1 {
		t.Fatalf("runs: %+v, %v", page, err)
	}
	info, err := rd.GetRun(ctx, page.Runs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "heat" || info.Status != store.StatusFinished || info.Step != steps || info.Progress != 100 {
		t.Fatalf("run %q: %q step %d progress %v", info.Name, info.Status, info.Step, info.Progress)
	}
	if info.Params["size"] != int64(size) && info.Params["size"] != float64(size) {
		t.Fatalf("params %v", info.Params)
	}
	var names []string
	for _, a := range info.Artifacts {
		names = append(names, a.Name)
	}
	if !slices.Contains(names, "profiler_report.txt") || !slices.Contains(names, "cpu.pprof") {
		t.Fatalf("artifacts %v", names)
	}
	s, err := rd.Series(ctx, info.ID, "centre_temperature", store.SeriesQuery{})
	if err != nil || s.Len != steps/10 {
		t.Fatalf("centre_temperature: %+v, %v", s, err)
	}
	d, err := rd.Series(ctx, info.ID, "diffusivity", store.SeriesQuery{})
	if err != nil || d.Len != 1 {
		t.Fatalf("diffusivity: %+v, %v", d, err)
	}
}
