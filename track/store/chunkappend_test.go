package store

import (
	"context"
	"slices"
	"testing"
)

// memChunks is a ChunkTx in memory: the chunks of one series in seq order.
type memChunks struct {
	next    int64
	chunks  []StoredChunk
	written int // points encoded by WriteChunk, all told
}

func (m *memChunks) TailChunks(_ context.Context, _ string, limit int) ([]StoredChunk, error) {
	var out []StoredChunk
	for i := len(m.chunks) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, m.chunks[i])
	}
	return out, nil
}

func (m *memChunks) WriteChunk(_ context.Context, _ string, id int64, c *Chunk) error {
	m.written += c.Len()
	ch := StoredChunk{ID: id, N: c.Len(), Data: c.AppendEncoded(nil)}
	if id == 0 {
		m.next++
		ch.ID = m.next
		m.chunks = append(m.chunks, ch)
		return nil
	}
	for i := range m.chunks {
		if m.chunks[i].ID == id {
			m.chunks[i] = ch
		}
	}
	return nil
}

func (m *memChunks) DeleteChunks(_ context.Context, _ string, ids []int64) error {
	m.chunks = slices.DeleteFunc(m.chunks, func(ch StoredChunk) bool { return slices.Contains(ids, ch.ID) })
	return nil
}

func (m *memChunks) add(t *testing.T, seq *int64, n int) {
	t.Helper()
	c := &Chunk{}
	for range n {
		c.Seq, c.Step, c.Time, c.Value = append(c.Seq, *seq), append(c.Step, *seq), append(c.Time, *seq), append(c.Value, float64(*seq))
		*seq++
	}
	if err := AppendChunks(context.Background(), m, "x", len(m.chunks) > 0, c); err != nil {
		t.Fatal(err)
	}
}

// check decodes every chunk and checks the points 1..seq-1 are there in
// order, each chunk within ChunkPoints.
func (m *memChunks) check(t *testing.T, seq int64) {
	t.Helper()
	var all Chunk
	for _, ch := range m.chunks {
		if ch.N < 1 || ch.N > ChunkPoints {
			t.Fatalf("a chunk of %d points", ch.N)
		}
		if err := DecodeChunk(ch.Data, &all); err != nil {
			t.Fatal(err)
		}
	}
	if int64(all.Len()) != seq-1 {
		t.Fatalf("%d points stored, want %d", all.Len(), seq-1)
	}
	for i, s := range all.Seq {
		if s != int64(i)+1 || all.Value[i] != float64(s) {
			t.Fatalf("point %d: seq %d value %v", i, s, all.Value[i])
		}
	}
}

// TestAppendChunksSmallBatches: a series fed 10 points a batch keeps few
// chunks (small ones merged), and rewrites far fewer points than filling
// one tail chunk to ChunkPoints did (about ChunkPoints/2 per batch).
func TestAppendChunksSmallBatches(t *testing.T) {
	m := &memChunks{}
	seq := int64(1)
	const batches = 2000
	for range batches {
		m.add(t, &seq, 10)
	}
	m.check(t, seq)
	if max := (batches*10)/ChunkPoints + MergeChunks + 1; len(m.chunks) > max {
		t.Fatalf("%d chunks for %d points, want at most %d", len(m.chunks), batches*10, max)
	}
	if perBatch := m.written / batches; perBatch > 2*TailChunkPoints {
		t.Fatalf("%d points written per batch of 10", perBatch)
	}
	t.Logf("%d chunks, %d points written per batch of 10", len(m.chunks), m.written/batches)
}

// TestAppendChunksTail: how a batch meets the tail chunk.
func TestAppendChunksTail(t *testing.T) {
	m := &memChunks{}
	seq := int64(1)
	m.add(t, &seq, 2000) // one chunk of 2000: a large tail (as stored before small tails)
	m.add(t, &seq, 10)   // small batch: a new chunk, the tail is not rewritten
	if len(m.chunks) != 2 || m.chunks[0].N != 2000 || m.chunks[1].N != 10 {
		t.Fatalf("after a small batch: %+v", sizes(m.chunks))
	}
	m.add(t, &seq, 20) // fits the small tail
	if len(m.chunks) != 2 || m.chunks[1].N != 30 {
		t.Fatalf("small tail not filled: %v", sizes(m.chunks))
	}
	m.add(t, &seq, 5000) // larger than the tail: fills it to ChunkPoints, then new chunks
	if got := sizes(m.chunks); !slices.Equal(got, []int{2000, ChunkPoints, 5030 - ChunkPoints}) {
		t.Fatalf("after a large batch: %v", got)
	}
	m.check(t, seq)
}

func sizes(chunks []StoredChunk) []int {
	var n []int
	for _, ch := range chunks {
		n = append(n, ch.N)
	}
	return n
}
