package postgres

import (
	"context"
	"testing"

	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/postgres/pgtest"
)

// BenchmarkIngest50k: batches of 50,000 scalar points of one series into
// the test server (fsync off: the figure is the store's work, not the
// disk's).
func BenchmarkIngest50k(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, pgtest.Database(b), Options{BlobDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Ingest(ctx, startBatch(runID)); err != nil {
		b.Fatal(err)
	}
	seq := int64(2)
	b.ResetTimer()
	for range b.N {
		if _, err := s.Ingest(ctx, pointBatch(runID, seq, 50_000)); err != nil {
			b.Fatal(err)
		}
		seq += 50_000
	}
	b.ReportMetric(float64(b.N)*50_000/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkSeries1MDownsampled reads a series of a million points
// downsampled to 1,000 (the chunks' summaries).
func BenchmarkSeries1MDownsampled(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, pgtest.Database(b), Options{BlobDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Ingest(ctx, startBatch(runID)); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 1_000_000; i += 100_000 {
		if _, err := s.Ingest(ctx, pointBatch(runID, int64(2+i), 100_000)); err != nil {
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
