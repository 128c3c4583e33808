package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"time"

	"github.com/sigoco/sigoco/syncstruct"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store/postgres"
	"github.com/sigoco/sigoco/track/store/postgres/pgtest"
)

// The PostgreSQL part of the track suite (issue 24):
//
//	track.pg.ingest.results_per_s     results logged and committed through one node (≥ 500,000/s)
//	track.pg.cross_node_ms.median     a result committed through node A → the mod on node B's
//	track.pg.cross_node_ms.p99          "runs" subscriber (median ≤ 200 ms)
//
// Both nodes are servers in this process, each with its own store (its
// own connection pool and LISTEN connection) on one database of the
// PostgreSQL server SIGOCO_PG_URL names, or of a throwaway cluster started
// as the tests do (pgtest; fsync off). Without PostgreSQL the suite says so
// on stderr and reports nothing.
func init() { register("trackpg", benchTrackPG) }

type pgNode struct {
	addr string
	stop func()
}

func startPGNode(ctx context.Context, url, blobs string) (*pgNode, error) {
	st, err := postgres.Open(ctx, url, postgres.Options{BlobDir: blobs})
	if err != nil {
		return nil, err
	}
	srv, err := server.New(ctx, st, server.Options{})
	if err != nil {
		st.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		st.Close()
		return nil, err
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ctx, ln) }()
	return &pgNode{addr: ln.Addr().String(), stop: func() { srv.Close(); <-done; st.Close() }}, nil
}

func benchTrackPG(cfg config) ([]result, error) {
	pg, err := pgtest.Start()
	if err != nil {
		if os.Getenv("CI") == "true" {
			return nil, fmt.Errorf("no PostgreSQL server: %w", err)
		}
		fmt.Fprintf(os.Stderr, "bench: trackpg: skipped, no PostgreSQL server: %v\n", err)
		return nil, nil
	}
	defer pg.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	url, drop, err := pg.NewDatabase(ctx)
	if err != nil {
		return nil, err
	}
	defer drop()
	tmp, err := os.MkdirTemp("", "bench-trackpg")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	a, err := startPGNode(ctx, url, tmp+"/blobs")
	if err != nil {
		return nil, err
	}
	defer a.stop()
	b, err := startPGNode(ctx, url, tmp+"/blobs")
	if err != nil {
		return nil, err
	}
	defer b.stop()
	var out []result

	n, rounds := 1_000_000, 200
	if cfg.quick {
		n, rounds = 200_000, 40
	}
	// Ingest through node A: n results logged as fast as possible, then
	// Flush (every batch committed).
	perSec, _, err := measureIngest(ctx, track.Options{Project: "bench", Name: "pg-ingest", Addr: a.addr, SpoolDir: tmp + "/spool", NoMetadata: true, NoSource: true}, n)
	if err != nil {
		return nil, err
	}
	out = append(out, result{"track.pg.ingest.results_per_s", perSec, "results/s"})

	// Cross-node: one result at a time through A, until B's "runs"
	// subscriber shows it.
	sub, err := syncstruct.NewSubscriber(b.addr, server.RunsNotifier, syncstruct.SubscriberOptions{})
	if err != nil {
		return nil, err
	}
	defer sub.Close()
	if err := sub.WaitSynced(ctx); err != nil {
		return nil, err
	}
	run, err := track.Start(ctx, track.Options{Project: "bench", Name: "pg-cross", Addr: a.addr, SpoolDir: tmp + "/spool", NoMetadata: true, NoSource: true})
	if err != nil {
		return nil, err
	}
	defer run.End(ctx, track.StatusFinished)
	latest := func() any {
		var x any
		sub.Read(func(tree any) {
			if e, ok := tree.(map[string]any)[run.ID()].(map[string]any); ok {
				if l, ok := e["latest"].(map[string]any); ok {
					x = l["x"]
				}
			}
		})
		return x
	}
	lat := make([]float64, 0, rounds)
	for i := range rounds {
		v := float64(i + 1)
		run.LogResult("x", v, int64(i))
		if err := run.Flush(ctx); err != nil {
			return nil, err
		}
		committed := time.Now()
		for latest() != v {
			if time.Since(committed) > 30*time.Second {
				return nil, fmt.Errorf("cross-node: result %d not on node B after 30 s", i)
			}
			time.Sleep(200 * time.Microsecond)
		}
		lat = append(lat, float64(time.Since(committed).Microseconds())/1000)
	}
	slices.Sort(lat)
	out = append(out,
		result{"track.pg.cross_node_ms.median", lat[len(lat)/2], "ms"},
		result{"track.pg.cross_node_ms.p99", lat[min(len(lat)-1, len(lat)*99/100)], "ms"})
	return out, nil
}
