package store

import (
	"context"
	"fmt"
)

// ChunkPager is a store that hands out a series' stored chunks a page at
// a time (both backends do): what StreamSeries reads through.
type ChunkPager interface {
	// SeriesLen returns the number of points of a series and whether it
	// is scalar (an error wrapping ErrNotFound if there is no such series).
	SeriesLen(ctx context.Context, run, key string) (int64, bool, error)
	// SeriesChunks returns the encoded chunks of a series whose first seq
	// is above afterSeq, at most limit of them, in seq order, with the
	// first seq of the last one (the next page's afterSeq).
	SeriesChunks(ctx context.Context, run, key string, afterSeq int64, limit int) (chunks [][]byte, lastFirstSeq int64, err error)
}

// streamPage is how many chunks (of up to ChunkPoints points) one query
// of StreamSeries reads: a page of at most 64k points, read in a short
// query so no read transaction stays open while a slow client is fed.
const streamPage = 16

// StreamSeries reads every point of a series in seq order, one decoded
// chunk at a time, and hands each chunk to fn (which must not keep it:
// its slices are reused). Memory stays at one page of chunks whatever the
// series' length. A chunk stored after the stream started may or may not
// be seen; a point is never seen twice.
func StreamSeries(ctx context.Context, p ChunkPager, run, key string, fn func(c *Chunk) error) error {
	var after int64 = -1 << 62
	var c Chunk
	for {
		page, last, err := p.SeriesChunks(ctx, run, key, after, streamPage)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		for _, data := range page {
			c.Seq, c.Step, c.Time, c.Value = c.Seq[:0], c.Step[:0], c.Time[:0], c.Value[:0]
			c.Values = nil
			if len(data) > 0 && data[0] == chunkValues {
				c.Values = [][]byte{}
			}
			if err := DecodeChunk(data, &c); err != nil {
				return fmt.Errorf("store: series %q of run %s: %w", key, run, err)
			}
			if err := fn(&c); err != nil {
				return err
			}
		}
		after = last
	}
}
