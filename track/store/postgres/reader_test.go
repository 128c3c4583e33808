package postgres

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/postgres/pgtest"
)

// TestReadAfterBackendsEnded: the database ends every connection of the
// store (a restart, a failover); the pool still holds them, idle. The next
// reads are tried again on new connections and succeed.
func TestReadAfterBackendsEnded(t *testing.T) {
	s := openStore(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := s.Ingest(ctx, startBatch(runID)); err != nil {
		t.Fatal(err)
	}
	killer, err := Open(ctx, pgtest.Database(t), Options{BlobDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer killer.Close()
	var dbName string
	if err := s.pool.QueryRow(ctx, `SELECT current_database()`).Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 5; round++ {
		// Fill the pool with idle connections.
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() { defer wg.Done(); s.GetRun(ctx, runID) }()
		}
		wg.Wait()
		var n int
		if err := killer.pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, dbName).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("no backend ended")
		}
		if _, err := s.GetRun(ctx, runID); err != nil {
			t.Fatalf("round %d, %d backends ended: GetRun: %v", round, n, err)
		}
		if _, err := s.ListRuns(ctx, store.RunFilter{}); err != nil {
			t.Fatalf("round %d: ListRuns: %v", round, err)
		}
	}
}
