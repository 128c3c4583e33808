package sqlite

import (
	"context"
	"testing"

	"github.com/sigoco/sigoco/track/store"
)

func BenchmarkSeries1MDownsampled(b *testing.B) {
	ctx := context.Background()
	s := openWithRun(b)
	for i := 0; i < 1_000_000; i += 100_000 {
		bt := &store.Batch{Run: runID, Points: points(int64(2+i), 100_000)}
		if _, err := s.Ingest(ctx, bt); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		ser, err := s.Series(ctx, runID, "x", store.SeriesQuery{MaxPoints: 1000})
		if err != nil || len(ser.Value) > 1000 || ser.Len != 1_000_000 {
			b.Fatal(err, len(ser.Value))
		}
	}
}

func BenchmarkIngest50k(b *testing.B) {
	ctx := context.Background()
	s := openWithRun(b)
	seq := int64(2)
	b.ResetTimer()
	for range b.N {
		bt := &store.Batch{Run: runID, Points: points(seq, 50_000)}
		seq += 50_000
		if _, err := s.Ingest(ctx, bt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*50_000/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkIngestSmall: the batches of a live run, a few points each
// (a run logging 100 results/s sends about ten per batch).
func BenchmarkIngestSmall(b *testing.B) {
	ctx := context.Background()
	s := openWithRun(b)
	seq := int64(2)
	b.ReportAllocs()
	for b.Loop() {
		bt := &store.Batch{Run: runID, Points: points(seq, 10)}
		seq += 10
		if _, err := s.Ingest(ctx, bt); err != nil {
			b.Fatal(err)
		}
	}
}

// openWithRun opens a store in a temporary directory (closed at the end of
// the test) holding the run runID.
func openWithRun(tb testing.TB) *Store {
	tb.Helper()
	ctx := context.Background()
	s, err := Open(ctx, tb.TempDir(), Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	if _, err := s.Ingest(ctx, startBatch(runID)); err != nil {
		tb.Fatal(err)
	}
	return s
}
