package storetest

import (
	"context"
	"testing"

	"github.com/sigoco/sigoco/track/store"
)

// testStreamSeries: store.StreamSeries reads every point once, in seq
// order, over  of chunks, with its time; values series too.
func testStreamSeries(t *testing.T, e *env) {
	p, ok := e.s.(store.ChunkPager)
	if !ok {
		t.Fatalf("%T does not page chunks (store.ChunkPager)", e.s)
	}
	b := start(runA, "p", "n")
	const total = 3*store.ChunkPoints + 5
	p = onePerPage{p} // every chunk on a page of its own: the paging is exercised
	b.Points = points("x", 2, 1000)
	e.ingestClean(b)
	for seq := int64(1002); seq < total+2; {
		n := min(store.ChunkPoints+5, int(total+2-seq))
		e.ingestClean(&store.Batch{Run: runA, Points: points("x", seq, n)})
		seq += int64(n)
	}
	var got int
	err := store.StreamSeries(e.ctx, p, runA, "x", func(c *store.Chunk) error {
		for i := range c.Seq {
			want := int64(got) + 2
			if c.Seq[i] != want || c.Step[i] != want || c.Value[i] != float64(c.Time[i]) {
				t.Fatalf("point %d: seq %d step %d time %d value %v", got, c.Seq[i], c.Step[i], c.Time[i], c.Value[i])
			}
			got++
		}
		return nil
	})
	if err != nil || got != total {
		t.Fatalf("streamed %d of %d points: %v", got, total, err)
	}
	e.ingestClean(withRecords(&store.Batch{Run: runA}, total+2,
		store.Record{Kind: store.KindResult, Key: "v", Value: []any{"a", int64(1)}, Step: 7},
		store.Record{Kind: store.KindResult, Key: "v", Value: map[string]any{"b": 2.5}, Step: 8}))
	var vals []any
	err = store.StreamSeries(e.ctx, p, runA, "v", func(c *store.Chunk) error {
		if c.Scalar() {
			t.Fatalf("values series streamed as scalars")
		}
		for i, raw := range c.Values {
			v, err := store.DecodeValue(raw)
			if err != nil {
				return err
			}
			if c.Step[i] != int64(7+len(vals)) {
				t.Fatalf("values point %d at step %d", len(vals), c.Step[i])
			}
			vals = append(vals, v)
		}
		return nil
	})
	if err != nil || len(vals) != 2 {
		t.Fatalf("values series: %v %v", vals, err)
	}
	// An unknown series streams nothing.
	n := 0
	if err := store.StreamSeries(e.ctx, p, runA, "nope", func(c *store.Chunk) error { n += c.Len(); return nil }); err != nil || n != 0 {
		t.Fatalf("unknown series: %d points, %v", n, err)
	}
}

// onePerPage hands out one chunk per page whatever the limit asked.
type onePerPage struct{ store.ChunkPager }

func (o onePerPage) SeriesChunks(ctx context.Context, run, key string, after int64, limit int) ([][]byte, int64, error) {
	return o.ChunkPager.SeriesChunks(ctx, run, key, after, 1)
}
