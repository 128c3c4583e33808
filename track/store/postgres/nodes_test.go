package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/postgres/pgtest"
)

const runID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"

// TestMigrateTogether: nodes starting together on an empty database
// migrate it once (the advisory lock), and all of them open.
func TestMigrateTogether(t *testing.T) {
	u := pgtest.Database(t)
	ctx := context.Background()
	const nodes = 4
	stores := make([]*Store, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(ctx, u, Options{BlobDir: t.TempDir()})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	v, err := stores[0].Version(ctx)
	if err != nil || v != SchemaVersion {
		t.Fatalf("schema version %d, %v; want %d", v, err, SchemaVersion)
	}
	var rows int
	if err := stores[0].pool.QueryRow(ctx, `SELECT count(*) FROM sigoco_schema`).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("sigoco_schema has %d rows (%v); want 1", rows, err)
	}
	// Opening again migrates nothing and keeps the data.
	if _, err := stores[1].Ingest(ctx, startBatch(runID)); err != nil {
		t.Fatal(err)
	}
	again, err := Open(ctx, u, Options{BlobDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if _, err := again.GetRun(ctx, runID); err != nil {
		t.Fatal(err)
	}
}

func startBatch(run string) *store.Batch {
	return &store.Batch{Run: run, Records: []store.Record{
		{Seq: 1, Kind: store.KindStart, Key: "proj", Value: "first", Time: time.Now().UnixNano()},
	}}
}

func pointBatch(run string, seq0 int64, n int) *store.Batch {
	b := &store.Batch{Run: run, Points: store.Points{Keys: []string{"x"}}}
	p := &b.Points
	for i := 0; i < n; i++ {
		p.Key = append(p.Key, 0)
		p.Seq = append(p.Seq, seq0+int64(i))
		p.Step = append(p.Step, seq0+int64(i))
		p.Time = append(p.Time, int64(i))
		p.Value = append(p.Value, float64(seq0+int64(i)))
	}
	return b
}

// TestExactlyOnceAcrossNodes: a client failing over between two nodes
// replays its batches to both, concurrently; every record is stored once.
func TestExactlyOnceAcrossNodes(t *testing.T) {
	u := pgtest.Database(t)
	ctx := context.Background()
	a, err := Open(ctx, u, Options{BlobDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, u, Options{BlobDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := a.Ingest(ctx, startBatch(runID)); err != nil {
		t.Fatal(err)
	}
	const batches, per = 30, 500
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for _, node := range []*Store{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < batches; i++ {
				if _, err := node.Ingest(ctx, pointBatch(runID, 2+int64(i*per), per)); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	s, err := b.Series(ctx, runID, "x", store.SeriesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len != batches*per || len(s.Seq) != batches*per {
		t.Fatalf("series holds %d points (%d read); want %d", s.Len, len(s.Seq), batches*per)
	}
	for i, seq := range s.Seq {
		if seq != int64(2+i) || s.Value[i] != float64(seq) {
			t.Fatalf("point %d: seq %d value %v", i, seq, s.Value[i])
		}
	}
	r, err := a.GetRun(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	if r.HighSeq != 1+batches*per {
		t.Fatalf("high seq %d; want %d", r.HighSeq, 1+batches*per)
	}
}

// TestUnavailable: failures of the database, not of the records, are
// unavailable (the client keeps its records and retries).
func TestUnavailable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "40001"}, true}, // serialization_failure
		{&pgconn.PgError{Code: "40P01"}, true}, // deadlock_detected
		{&pgconn.PgError{Code: "53100"}, true}, // disk_full
		{&pgconn.PgError{Code: "57P01"}, true}, // admin_shutdown
		{&pgconn.PgError{Code: "08006"}, true}, // connection_failure
		{&pgconn.PgError{Code: "23505"}, false},
		{&pgconn.PgError{Code: "22021"}, false},
		{store.ErrBadRecord, false},
	} {
		got := errors.Is(unavailable(fmt.Errorf("postgres: %w", c.err)), store.ErrUnavailable)
		if got != c.want {
			t.Errorf("%v: unavailable %v, want %v", c.err, got, c.want)
		}
	}
	// A database that is not there.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := openStore(t, Options{})
	s.pool.Close()
	if _, err := s.Ingest(ctx, startBatch(runID)); err == nil {
		t.Fatal("ingest on a closed pool succeeded")
	}
}

// TestBackendKilled: the database ends the store's connections while
// batches are applied (pg_terminate_backend, as a restart or a failover
// does); every failure is unavailable, the client retries its batch, and
// every record is stored once.
func TestBackendKilled(t *testing.T) {
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
	stop := make(chan struct{})
	// The killer strikes again only after a batch got through since its
	// last strike: on a loaded machine a batch may take longer than the
	// 100 ms between strikes, and the test would then retry until its
	// deadline instead of testing anything.
	progress := make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	killed := 0
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			select {
			case <-stop:
				return
			case <-progress:
			}
			var n int
			if err := killer.pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1`, dbName).Scan(&n); err == nil {
				killed += n
			}
		}
	}()
	const batches, per = 100, 300
	failures := 0
	for i := 0; i < batches; i++ {
		for {
			_, err := s.Ingest(ctx, pointBatch(runID, 2+int64(i*per), per))
			if err == nil {
				select {
				case progress <- struct{}{}:
				default:
				}
				break
			}
			if !errors.Is(err, store.ErrUnavailable) {
				close(stop)
				wg.Wait()
				t.Fatalf("batch %d: %v (not unavailable)", i, err)
			}
			failures++
			if ctx.Err() != nil {
				t.Fatal(err)
			}
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d backends terminated, %d batches retried", killed, failures)
	sr, err := s.Series(ctx, runID, "x", store.SeriesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sr.Seq) != batches*per {
		t.Fatalf("%d points stored, want %d", len(sr.Seq), batches*per)
	}
	for i, seq := range sr.Seq {
		if seq != int64(2+i) {
			t.Fatalf("point %d has seq %d", i, seq)
		}
	}
}
