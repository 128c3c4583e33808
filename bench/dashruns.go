package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

// dash.runs: the runs table paging through 10,000 runs stored in SQLite,
// sorted by start time (newest first), a page of 100 with two columns (a
// param and a latest metric) and the exact total, as the dashboard asks for
// it (tracker.query_runs over rpc: the top level, parent = "", each row
// counting its children), warm cache: every page is read once
// before the pages are timed.
func init() { register("dash.runs", benchRunsPage) }

func benchRunsPage(cfg config) ([]result, error) {
	const runs, page = 10_000, 100
	tmp, err := os.MkdirTemp("", "bench-runs")
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
	t0 := time.Now().UnixNano()
	for i := range runs {
		b := &store.Batch{Run: fmt.Sprintf("bench-runs-%05d", i), Records: []store.Record{
			{Seq: 1, Kind: store.KindStart, Key: "bench", Value: fmt.Sprintf("run %d", i), Time: t0 + int64(i)*1e6},
			{Seq: 2, Kind: store.KindParam, Key: "lr", Value: float64(i%100) / 1000},
			{Seq: 3, Kind: store.KindParam, Key: "seed", Value: int64(i)},
			{Seq: 4, Kind: store.KindTag, Key: "sweep"},
			{Seq: 5, Kind: store.KindStatus, Key: "finished"},
		}, Points: store.Points{Keys: []string{"loss"}, Key: []int64{0}, Seq: []int64{6}, Step: []int64{1}, Time: []int64{t0}, Value: []float64{1 / float64(i+1)}}}
		if _, err := ts.st.Ingest(ctx, b); err != nil {
			return nil, err
		}
	}
	c, err := rpc.Dial(ctx, ts.addr, server.TargetName, rpc.ClientOptions{})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	pages := runs / page
	if cfg.quick {
		pages = 20
	}
	read := func(off int) (time.Duration, error) {
		q := store.RunQuery{Filter: `parent = ""`, Sort: "-start", Columns: []string{"params.lr", "metrics.loss"}, Offset: off, Limit: page}
		var t store.RunTable
		start := time.Now()
		if err := c.CallInto(ctx, &t, "query_runs", q); err != nil {
			return 0, err
		}
		d := time.Since(start)
		if t.Total != runs || len(t.Runs) != page {
			return 0, fmt.Errorf("page at %d: total %d, %d runs", off, t.Total, len(t.Runs))
		}
		return d, nil
	}
	for p := range pages { // warm the cache
		if _, err := read(p * page * (runs / page / pages)); err != nil {
			return nil, err
		}
	}
	var ms []float64
	for p := range pages {
		d, err := read(p * page * (runs / page / pages))
		if err != nil {
			return nil, err
		}
		ms = append(ms, float64(d.Microseconds())/1000)
	}
	slices.Sort(ms)
	return []result{
		{"dash.runs_page_ms", ms[len(ms)/2], "ms"},
		{"dash.runs_page.max_ms", ms[len(ms)-1], "ms"},
	}, nil
}
