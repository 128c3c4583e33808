package main

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/syncstruct"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store/postgres/pgtest"
)

// startNodes starts n trackd nodes on one new PostgreSQL database and
// returns their ports.
func startNodes(t *testing.T, n int, args ...string) (string, []string, []*daemon) {
	t.Helper()
	u := pgtest.Database(t)
	ports := make([]string, n)
	nodes := make([]*daemon, n)
	var wg sync.WaitGroup
	for i := range nodes {
		ports[i] = freePort(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			nodes[i] = startTrackd(t, ports[i], t.TempDir(), append([]string{"--store", u}, args...)...)
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return u, ports, nodes
}

// TestLiveAcrossNodes: a run reporting to node A is live on node B: B's
// "runs" and run notifiers show A's results and progress, each within 1 s
// of A committing them (the median of 10 rounds; every round within 10 s,
// as the test machine may be loaded).
func TestLiveAcrossNodes(t *testing.T) {
	_, ports, nodes := startNodes(t, 2)
	ctx := ctxT(t, 90*time.Second)
	addrB := "127.0.0.1:" + ports[1]
	sub, err := syncstruct.NewSubscriber(addrB, server.RunsNotifier, syncstruct.SubscriberOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := sub.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	run, err := track.Start(ctx, track.Options{Project: "pg", Name: "live", Addr: "127.0.0.1:" + ports[0], SpoolDir: t.TempDir(), NoSource: true, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	// entry reads run's entry in B's "runs" replica.
	entry := func() (progress, x any) {
		sub.Read(func(tree any) {
			if e, ok := tree.(map[string]any)[run.ID()].(map[string]any); ok {
				progress = e["progress"]
				if l, ok := e["latest"].(map[string]any); ok {
					x = l["x"]
				}
			}
		})
		return
	}
	var lat []time.Duration
	for i := 1; i <= 10; i++ {
		run.LogResult("x", float64(i), int64(i))
		run.SetProgress(float64(10 * i))
		if err := run.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		committed := time.Now()
		for {
			p, x := entry()
			if p == float64(10*i) && x == float64(i) {
				break
			}
			if time.Since(committed) > 10*time.Second {
				t.Fatalf("round %d: node B shows progress %v, x %v 10 s after node A stored %d%%, x=%d", i, p, x, 10*i, i)
			}
			time.Sleep(5 * time.Millisecond)
		}
		lat = append(lat, time.Since(committed))
	}
	slices.Sort(lat)
	t.Logf("commit on A → B's runs notifier: median %v, max %v", lat[len(lat)/2], lat[len(lat)-1])
	if lat[len(lat)/2] > time.Second {
		t.Fatalf("median %v from A's commit to B's notifier; want ≤ 1 s (all: %v)", lat[len(lat)/2], lat)
	}

	// The run's own notifier on B: the recent points of x, and the final
	// status.
	rsub, err := syncstruct.NewSubscriber(addrB, server.RunNotifier(run.ID()), syncstruct.SubscriberOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rsub.Close()
	if err := rsub.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	run.LogResult("x", 11.0, 11)
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}
	for {
		var status any
		var steps []any
		rsub.Read(func(tree any) {
			m := tree.(map[string]any)
			status = m["status"]
			if s, ok := m["series"].(map[string]any)["x"].(map[string]any); ok {
				steps, _ = s["step"].([]any)
			}
		})
		if status == "finished" && len(steps) > 0 && steps[len(steps)-1] == int64(11) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("B's run notifier: status %v, steps %v", status, steps)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, d := range nodes {
		d.stop(t)
	}
}
