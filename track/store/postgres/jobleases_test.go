package postgres

import (
	"github.com/sigoco/sigoco/track/store/postgres/pgtest"

	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestJobLeaseTakeover: a job followed by a live node is not taken by
// another; once its lease expired (the node died), nodes taking it at
// once get each job exactly once, and the old holder learns it lost them.
func TestJobLeaseTakeover(t *testing.T) {
	u := pgtest.Database(t)
	ctx := context.Background()
	const nodes = 4
	stores := make([]*Store, nodes+1)
	for i := range stores {
		st, err := Open(ctx, u, Options{BlobDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		stores[i] = st
	}
	dead := stores[nodes]
	var jobs []string
	for i := range 200 {
		jobs = append(jobs, fmt.Sprintf("job-%03d", i))
	}
	taken, err := dead.TakeJobs(ctx, jobs, time.Minute)
	if err != nil || len(taken) != len(jobs) {
		t.Fatalf("free leases: took %d of %d (%v)", len(taken), len(jobs), err)
	}
	if again, err := dead.TakeJobs(ctx, jobs[:3], time.Minute); err != nil || len(again) != 3 {
		t.Fatalf("its own leases: took %v (%v); want them renewed", again, err)
	}
	if lost, err := dead.RenewJobs(ctx, jobs); err != nil || len(lost) != 0 {
		t.Fatalf("renewing held leases: lost %v (%v)", lost, err)
	}
	if free, err := stores[0].Unfollowed(ctx, append([]string{"job-free"}, jobs...), time.Minute); err != nil || len(free) != 1 || free[0] != "job-free" {
		t.Fatalf("unfollowed: %v (%v); want only job-free", free, err)
	}
	if got, err := stores[0].TakeJobs(ctx, jobs, time.Minute); err != nil || len(got) != 0 {
		t.Fatalf("another node took %d live leases (%v)", len(got), err)
	}
	if err := stores[0].ReleaseJobs(ctx, jobs); err != nil {
		t.Fatal(err)
	}
	if lost, err := dead.RenewJobs(ctx, jobs); err != nil || len(lost) != 0 {
		t.Fatalf("a node released leases it does not hold: lost %v (%v)", lost, err)
	}

	// The holder dies: its leases were last renewed an hour ago.
	if _, err := dead.pool.Exec(ctx, `UPDATE job_leases SET heard = heard - 3600000000000`); err != nil {
		t.Fatal(err)
	}
	if free, err := stores[0].Unfollowed(ctx, jobs, time.Minute); err != nil || len(free) != len(jobs) {
		t.Fatalf("expired leases: %d unfollowed (%v); want %d", len(free), err, len(jobs))
	}
	got := make([][]string, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := slices.Clone(jobs)
			if i%2 == 1 {
				slices.Reverse(mine)
			}
			got[i], errs[i] = stores[i].TakeJobs(ctx, mine, time.Minute)
		}()
	}
	wg.Wait()
	owner := map[string]int{}
	for i := range nodes {
		if errs[i] != nil {
			t.Fatalf("node %d: %v", i, errs[i])
		}
		for _, j := range got[i] {
			if prev, dup := owner[j]; dup {
				t.Fatalf("job %s taken by nodes %d and %d", j, prev, i)
			}
			owner[j] = i
		}
	}
	if len(owner) != len(jobs) {
		t.Fatalf("%d of %d expired jobs taken", len(owner), len(jobs))
	}
	lost, err := dead.RenewJobs(ctx, jobs)
	if err != nil || len(lost) != len(jobs) {
		t.Fatalf("the old holder lost %d of %d (%v)", len(lost), len(jobs), err)
	}
	// Released leases are free at once.
	first := got[owner[jobs[0]]]
	if err := stores[owner[jobs[0]]].ReleaseJobs(ctx, first); err != nil {
		t.Fatal(err)
	}
	if again, err := dead.TakeJobs(ctx, first, time.Hour); err != nil || len(again) != len(first) {
		t.Fatalf("released leases: took %d of %d (%v)", len(again), len(first), err)
	}
}
