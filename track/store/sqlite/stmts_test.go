package sqlite

import (
	"context"
	"testing"

	"github.com/sigoco/sigoco/track/store"
)

// TestIngestPreparedStatements: the statements of a live run's batches
// are prepared after the first one, and every later batch runs prepared
// statements only; the series holds every point.
func TestIngestPreparedStatements(t *testing.T) {
	ctx := context.Background()
	s := openWithRun(t)
	seq := int64(2)
	ingest := func() {
		t.Helper()
		ack, err := s.Ingest(ctx, &store.Batch{Run: runID, Points: points(seq, 10)})
		if err != nil || len(ack.Rejected) > 0 {
			t.Fatalf("ingest: %v %+v", err, ack)
		}
		seq += 10
	}
	ingest()
	ingest() // prepares what the first two batches ran unprepared
	s.stmts.mu.Lock()
	prepared := len(s.stmts.ready)
	s.stmts.mu.Unlock()
	if prepared == 0 {
		t.Fatal("no statement prepared after three batches")
	}
	for range 5 {
		ingest()
		s.stmts.mu.Lock()
		missed := len(s.stmts.missed)
		s.stmts.mu.Unlock()
		if missed > 0 {
			t.Fatalf("a batch of the same shape ran %d statements unprepared", missed)
		}
	}
	ser, err := s.Series(ctx, runID, "x", store.SeriesQuery{})
	if err != nil || ser.Len != seq-2 {
		t.Fatalf("series: %v, %d points, want %d", err, ser.Len, seq-2)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ingest(ctx, &store.Batch{Run: runID, Points: points(seq, 10)}); err == nil {
		t.Fatal("ingest after Close succeeded")
	}
}
