package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/sqlite"
)

// The track suite (issue 13's targets):
//
//	track.log.ns                      median cost of one LogResult (≤ 500 ns)
//	track.log.allocs                  allocations per scalar LogResult (0)
//	track.ingest.results_per_s        results logged and acknowledged durable on loopback (≥ 500,000/s)
//	track.replay.results_per_s        a spool of results replayed (≥ ingest)
//	track.series.1m_downsampled.ms    a 1,000,000-point series read with max_points=1000 (≤ 50 ms)
//
// The server is in the same process, over a real SQLite file in a
// temporary directory (synchronous=normal).
func init() { register("track", benchTrack) }

type trackServer struct {
	addr string
	st   *sqlite.Store
	stop func()
}

func startTrackServer(dir, addr string) (*trackServer, error) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		return nil, err
	}
	srv, err := server.New(ctx, st, server.Options{})
	if err != nil {
		st.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		srv.Close()
		st.Close()
		return nil, err
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ctx, ln) }()
	return &trackServer{addr: ln.Addr().String(), st: st, stop: func() { srv.Close(); <-done; st.Close() }}, nil
}

// measureIngest starts a run with opts, logs n results as fast as
// possible, flushes (every batch committed) and ends it; it returns the
// results per second and the run's id.
func measureIngest(ctx context.Context, opts track.Options, n int) (float64, string, error) {
	run, err := track.Start(ctx, opts)
	if err != nil {
		return 0, "", err
	}
	t0 := time.Now()
	for i := range n {
		run.LogResult("x", float64(i%1000), int64(i))
	}
	if err := run.Flush(ctx); err != nil {
		return 0, "", err
	}
	perSec := float64(n) / time.Since(t0).Seconds()
	return perSec, run.ID(), run.End(ctx, track.StatusFinished)
}

func benchTrack(cfg config) ([]result, error) {
	n := 1_000_000
	if cfg.quick {
		n = 200_000
	}
	tmp, err := os.MkdirTemp("", "bench-track")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	ts, err := startTrackServer(tmp+"/data", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer ts.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out []result

	// LogResult cost, in the simulation's goroutine, with the sender live.
	run, err := track.Start(ctx, track.Options{Project: "bench", Addr: ts.addr, SpoolDir: tmp + "/spool", NoMetadata: true})
	if err != nil {
		return nil, err
	}
	const rounds, batch = 200, 1000
	per := make([]float64, rounds)
	var step int64
	for i := range per {
		t0 := time.Now()
		for range batch {
			run.LogResult("x", float64(step)*0.5, step)
			step++
		}
		per[i] = float64(time.Since(t0).Nanoseconds()) / batch
		if i%20 == 19 {
			run.Flush(ctx) // keep the queue short, as a simulation logging at a sane rate does
		}
	}
	slices.Sort(per)
	out = append(out, result{"track.log.ns", per[len(per)/2], "ns"})
	if err := run.End(ctx, track.StatusFinished); err != nil {
		return nil, err
	}
	// Allocations, counted process-wide, so with the sender kept idle.
	run, err = track.Start(ctx, track.Options{Project: "bench", Addr: ts.addr, SpoolDir: tmp + "/spool", NoMetadata: true,
		FlushInterval: time.Hour, HeartbeatInterval: time.Hour, BatchSize: 1 << 30})
	if err != nil {
		return nil, err
	}
	for i := range 100_000 { // grow the queue first
		run.LogResult("x", float64(i), int64(i))
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for i := range 10000 {
		run.LogResult("x", float64(i)*0.5, int64(i))
	}
	runtime.ReadMemStats(&m1)
	out = append(out, result{"track.log.allocs", float64(m1.Mallocs-m0.Mallocs) / 10000, "allocs/op"})
	if err := run.End(ctx, track.StatusFinished); err != nil {
		return nil, err
	}

	// Ingest: n results logged as fast as possible, then Flush.
	perSec, ingestID, err := measureIngest(ctx, track.Options{Project: "bench", Name: "ingest", Addr: ts.addr, SpoolDir: tmp + "/spool", NoMetadata: true}, n)
	if err != nil {
		return nil, err
	}
	out = append(out, result{"track.ingest.results_per_s", perSec, "results/s"})

	// Replay: n results spooled with no server, then replayed.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	down := ln.Addr().String()
	ln.Close()
	run, err = track.Start(ctx, track.Options{Project: "bench", Name: "replay", Addr: down, SpoolDir: tmp + "/spool2", NoMetadata: true})
	if err != nil {
		return nil, err
	}
	for i := range n {
		run.LogResult("x", float64(i), int64(i))
	}
	ectx, ecancel := context.WithTimeout(ctx, time.Second)
	run.End(ectx, track.StatusFinished)
	ecancel()
	t0 := time.Now()
	res, err := track.Replay(ctx, tmp+"/spool2", track.ReplayOptions{Addr: ts.addr})
	if err != nil {
		return nil, err
	}
	if len(res) != 1 || res[0].Err != nil {
		return nil, fmt.Errorf("replay: %+v", res)
	}
	out = append(out, result{"track.replay.results_per_s", float64(n) / time.Since(t0).Seconds(), "results/s"})

	// A 1,000,000-point series read downsampled to 1000 points.
	rd, err := track.Open(ctx, ts.addr, track.OpenOptions{})
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	seriesRun := ingestID
	if n < 1_000_000 {
		// Quick mode: add points until the series has a million.
		run, err = track.Start(ctx, track.Options{Project: "bench", Name: "series", Addr: ts.addr, SpoolDir: tmp + "/spool", NoMetadata: true})
		if err != nil {
			return nil, err
		}
		for i := range 1_000_000 {
			run.LogResult("x", float64(i%1000), int64(i))
		}
		if err := run.End(ctx, track.StatusFinished); err != nil {
			return nil, err
		}
		seriesRun = run.ID()
	}
	times := make([]float64, 7)
	for i := range times {
		t0 := time.Now()
		s, err := rd.Series(ctx, seriesRun, "x", store.SeriesQuery{MaxPoints: 1000})
		if err != nil {
			return nil, err
		}
		times[i] = float64(time.Since(t0).Microseconds()) / 1000
		if s.Len != 1_000_000 || len(s.Value) > 1000 {
			return nil, fmt.Errorf("series of %d points, %d returned", s.Len, len(s.Value))
		}
	}
	slices.Sort(times)
	out = append(out, result{"track.series.1m_downsampled.ms", times[len(times)/2], "ms"})
	return out, nil
}
