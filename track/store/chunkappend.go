package store

import (
	"context"
	"fmt"
)

// How a series' points are cut in chunks as they come, for every backend.
//
// A chunk is one row holding its points encoded (chunk.go), so a point
// cannot be added to one without rewriting it whole. A live run sends a few
// points per batch; filling a tail chunk up to ChunkPoints, as the batches
// came, rewrote 2,000 points on average for each of them (a third of a
// small batch's ingest, and as many bytes written to the database's log).
// So small batches fill a tail chunk only up to TailChunkPoints; past that
// they start a new one, and once MergeChunks small chunks end the series
// they are merged into one (each point is then written about
// TailChunkPoints/(batch size) times in small chunks and once merged). A
// batch at least as large as the tail chunk still fills it up to
// ChunkPoints, since rewriting the tail costs no more than the batch.
// Reads do not mind chunks of any size.
const (
	// TailChunkPoints is how large small batches let a tail chunk grow.
	TailChunkPoints = 256
	// MergeChunks is how many small chunks (of at most TailChunkPoints
	// points) at a series' end are merged into one: at most ChunkPoints.
	MergeChunks = ChunkPoints / TailChunkPoints
)

// ChunkTx is the storage a series' chunks are kept in, within one write
// transaction: what AppendChunks needs of a backend.
type ChunkTx interface {
	// TailChunks returns the last (at most limit) chunks of the series
	// key, newest first.
	TailChunks(ctx context.Context, key string, limit int) ([]StoredChunk, error)
	// WriteChunk writes c as chunk id of the series key, or as a new chunk
	// when id is 0. A chunk rewritten keeps its first seq.
	WriteChunk(ctx context.Context, key string, id int64, c *Chunk) error
	// DeleteChunks deletes chunks of the series key by id.
	DeleteChunks(ctx context.Context, key string, ids []int64) error
}

// StoredChunk is a chunk as a backend keeps it: its id, point count and
// encoding.
type StoredChunk struct {
	ID   int64
	N    int
	Data []byte
}

// AppendChunks appends the points of c (all new, in seq order; c is
// consumed) to the chunks of the series key, which already has chunks when
// exists.
func AppendChunks(ctx context.Context, tx ChunkTx, key string, exists bool, c *Chunk) error {
	scalar := c.Scalar()
	if exists {
		tail, err := tx.TailChunks(ctx, key, 1)
		if err != nil {
			return err
		}
		if len(tail) == 1 {
			if take := tailTake(tail[0].N, c.Len()); take > 0 {
				t := emptyChunk(scalar)
				if err := DecodeChunk(tail[0].Data, t); err != nil {
					return fmt.Errorf("series %q: %w", key, err)
				}
				AppendPoints(t, c, 0, take)
				if err := tx.WriteChunk(ctx, key, tail[0].ID, t); err != nil {
					return err
				}
				CutFront(c, take)
			}
		}
	}
	created := false
	for c.Len() > 0 {
		take := min(ChunkPoints, c.Len())
		part := emptyChunk(scalar)
		AppendPoints(part, c, 0, take)
		if err := tx.WriteChunk(ctx, key, 0, part); err != nil {
			return err
		}
		CutFront(c, take)
		created = true
	}
	if !created {
		return nil
	}
	return mergeTail(ctx, tx, key, scalar)
}

// tailTake returns how many of k new points go into a tail chunk of n
// points (the rest start new chunks).
func tailTake(n, k int) int {
	if n < ChunkPoints && (n+k <= TailChunkPoints || k >= n) {
		return min(ChunkPoints-n, k)
	}
	return 0
}

// mergeTail merges the small chunks that end the series key into one,
// once there are MergeChunks of them.
func mergeTail(ctx context.Context, tx ChunkTx, key string, scalar bool) error {
	chunks, err := tx.TailChunks(ctx, key, MergeChunks)
	if err != nil {
		return err
	}
	small := 0
	for _, ch := range chunks {
		if ch.N > TailChunkPoints {
			break
		}
		small++
	}
	if small < MergeChunks {
		return nil
	}
	merged := emptyChunk(scalar)
	for i := small - 1; i >= 0; i-- { // oldest first
		if err := DecodeChunk(chunks[i].Data, merged); err != nil {
			return fmt.Errorf("series %q: %w", key, err)
		}
	}
	if err := tx.WriteChunk(ctx, key, chunks[small-1].ID, merged); err != nil {
		return err
	}
	ids := make([]int64, 0, small-1)
	for _, ch := range chunks[:small-1] {
		ids = append(ids, ch.ID)
	}
	return tx.DeleteChunks(ctx, key, ids)
}

// emptyChunk returns a chunk of no points, of scalars or of values.
func emptyChunk(scalar bool) *Chunk {
	c := &Chunk{}
	if !scalar {
		c.Values = [][]byte{}
	}
	return c
}
