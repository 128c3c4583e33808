package store

import (
	"context"
	"errors"
	"fmt"
)

// SeriesLen returns the number of points of a series and whether it is
// scalar, without reading them (an error wrapping ErrNotFound if
// there is no such series).
func (rd *Reader) SeriesLen(ctx context.Context, run, key string) (int64, bool, error) {
	if !StorableText(key) || !StorableText(run) { // nothing is stored under it (text.go)
		return 0, false, fmt.Errorf("%w: run %s has no series %q", ErrNotFound, run, key)
	}
	var scalar bool
	var n int64
	err := rd.q.QueryRow(ctx, `SELECT scalar, n FROM series WHERE run = ? AND key = ?`, run, key).Scan(&scalar, &n)
	if errors.Is(err, ErrNoRows) {
		return 0, false, fmt.Errorf("%w: run %s has no series %q", ErrNotFound, run, key)
	}
	if err != nil {
		return 0, false, rd.fail(err)
	}
	return n, scalar, nil
}

// Series implements Store.
func (rd *Reader) Series(ctx context.Context, run, key string, q SeriesQuery) (*Series, error) {
	if !StorableText(run) {
		return nil, fmt.Errorf("%w %q", ErrUnknownRun, run)
	}
	var scalar bool
	var n int64
	err := ErrNoRows // nothing is stored under a key that is not text (text.go)
	if StorableText(key) {
		err = rd.q.QueryRow(ctx, `SELECT scalar, n FROM series WHERE run = ? AND key = ?`, run, key).Scan(&scalar, &n)
	}
	if errors.Is(err, ErrNoRows) {
		if err := rd.exists(ctx, run); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: run %s has no series %q", ErrNotFound, run, key)
	}
	if err != nil {
		return nil, rd.fail(err)
	}
	ranged := q.MinStep != 0 || q.MaxStep != 0
	if q.MaxPoints > 0 && n > int64(q.MaxPoints) {
		return rd.downsampled(ctx, run, key, scalar, n, q)
	}
	sql := `SELECT data FROM chunks WHERE run = ? AND key = ?`
	args := []any{run, key}
	if ranged {
		sql += ` AND max_step >= ? AND min_step <= ?`
		args = append(args, q.MinStep, q.MaxStep)
	}
	sql += ` ORDER BY first_seq`
	rows, err := rd.q.Query(ctx, sql, args...)
	if err != nil {
		return nil, rd.fail(err)
	}
	defer rows.Close()
	var c Chunk
	if !scalar {
		c.Values = [][]byte{}
	}
	c.Seq = make([]int64, 0, n)
	c.Step = make([]int64, 0, n)
	c.Time = make([]int64, 0, n)
	if scalar {
		c.Value = make([]float64, 0, n)
	}
	var data []byte
	for rows.Next() {
		data = data[:0]
		if err := rows.Scan(&data); err != nil {
			return nil, rd.fail(err)
		}
		if !scalar {
			data = append([]byte(nil), data...) // values alias the chunk
		}
		if err := DecodeChunk(data, &c); err != nil {
			return nil, fmt.Errorf("%s: series %q of run %s: %w", rd.d.Name, key, run, err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, rd.fail(err)
	}
	if ranged {
		FilterSteps(&c, q.MinStep, q.MaxStep)
	}
	out := &Series{Run: run, Key: key, Len: n}
	if q.MaxPoints > 0 && c.Len() > q.MaxPoints {
		c = Downsample(&c, q.MaxPoints)
		out.Downsampled = true
	}
	out.Seq, out.Step, out.Time = c.Seq, c.Step, c.Time
	if scalar {
		out.Value = c.Value
	} else {
		out.Values = make([]any, len(c.Values))
		for i, b := range c.Values {
			if out.Values[i], err = DecodeValue(b); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// bucketPoint is a point kept by streaming downsampling.
type bucketPoint struct {
	seq, step, time int64
	value           float64
	raw             []byte
	set             bool
}

// buckets keeps the minimum and maximum point of each step bucket (the
// first and last for a non-scalar series).
type buckets struct {
	lo         int64
	width      float64
	scalar     bool
	mins, maxs []bucketPoint
}

func newBuckets(lo, hi int64, n int, scalar bool) *buckets {
	return &buckets{lo: lo, width: float64(hi-lo+1) / float64(n), scalar: scalar, mins: make([]bucketPoint, n), maxs: make([]bucketPoint, n)}
}

func (bk *buckets) feed(p bucketPoint) {
	b := min(int(float64(p.step-bk.lo)/bk.width), len(bk.mins)-1)
	mn, mx := &bk.mins[b], &bk.maxs[b]
	if bk.scalar {
		if !mn.set || p.value < mn.value {
			*mn = p
		}
		if !mx.set || p.value > mx.value {
			*mx = p
		}
		return
	}
	if !mn.set {
		*mn = p // first
	}
	*mx = p // last
}

// feedChunk feeds c's points with steps in [lo, hi]; a non-scalar
// point keeps its value's bytes, so c's data must not be reused.
func (bk *buckets) feedChunk(c *Chunk, lo, hi int64) {
	for i, st := range c.Step {
		if st < lo || st > hi {
			continue
		}
		p := bucketPoint{seq: c.Seq[i], step: st, time: c.Time[i], set: true}
		if bk.scalar {
			p.value = c.Value[i]
		} else {
			p.raw = c.Values[i]
		}
		bk.feed(p)
	}
}

// appendTo appends the kept points to out, in sequence order.
func (bk *buckets) appendTo(out *Series) error {
	add := func(p *bucketPoint) error {
		out.Seq = append(out.Seq, p.seq)
		out.Step = append(out.Step, p.step)
		out.Time = append(out.Time, p.time)
		if bk.scalar {
			out.Value = append(out.Value, p.value)
			return nil
		}
		v, err := DecodeValue(p.raw)
		out.Values = append(out.Values, v)
		return err
	}
	for b := range bk.mins {
		a, z := &bk.mins[b], &bk.maxs[b]
		if !a.set {
			continue
		}
		if a.seq > z.seq {
			a, z = z, a
		}
		if err := add(a); err != nil {
			return err
		}
		if z.seq != a.seq {
			if err := add(z); err != nil {
				return err
			}
		}
	}
	return nil
}

// chunkBlob is one chunk row: its id and its data (or summary) column.
type chunkBlob struct {
	id   int64
	data []byte
}

// scanChunks scans rows (id, blob) in a goroutine, so that reading the
// chunks (the backend) and decoding them overlap. The caller drains
// blobs, then reads scanErr once; stop (deferred) ends the scan early
// and waits until rows are closed.
func scanChunks(rows Rows) (blobs <-chan chunkBlob, scanErr <-chan error, stop func()) {
	out := make(chan chunkBlob, 8)
	errc := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(out)
		defer rows.Close()
		for rows.Next() {
			var b chunkBlob
			if err := rows.Scan(&b.id, &b.data); err != nil {
				errc <- err
				return
			}
			select {
			case out <- b:
			case <-done:
				return
			}
		}
		errc <- rows.Err()
	}()
	return out, errc, func() {
		close(done)
		for range out { // let the scanner finish and close the rows
		}
	}
}

// downsampled reads a series chunk by chunk, keeping only the minimum and
// maximum of each bucket (first and last for non-scalar series), so memory
// stays at one chunk plus the buckets.
func (rd *Reader) downsampled(ctx context.Context, run, key string, scalar bool, n int64, q SeriesQuery) (*Series, error) {
	lo, hi := q.MinStep, q.MaxStep
	if lo == 0 && hi == 0 {
		if err := rd.q.QueryRow(ctx, `SELECT min(min_step), max(max_step) FROM chunks WHERE run = ? AND key = ?`, run, key).Scan(&lo, &hi); err != nil {
			return nil, rd.fail(err)
		}
	}
	nb := max(q.MaxPoints/2, 1)
	bk := newBuckets(lo, hi, nb, scalar)
	// With many blocks per bucket, read the chunk summaries instead of
	// the points (chunks without one are decoded).
	useSummary := scalar && q.MinStep == 0 && q.MaxStep == 0 && n/int64(nb) >= 4*SummaryBlock
	col := "data"
	if useSummary {
		col = "summary"
	}
	rows, err := rd.q.Query(ctx, `SELECT id, `+col+` FROM chunks WHERE run = ? AND key = ? AND max_step >= ? AND min_step <= ? ORDER BY first_seq`, run, key, lo, hi)
	if err != nil {
		return nil, rd.fail(err)
	}
	blobs, scanErr, stop := scanChunks(rows)
	defer stop()
	var c Chunk
	var entries []SummaryEntry
	for bl := range blobs {
		data := bl.data
		if useSummary {
			if data != nil {
				if entries, err = DecodeSummary(data, entries[:0]); err != nil {
					return nil, fmt.Errorf("%s: series %q of run %s: %w", rd.d.Name, key, run, err)
				}
				for _, e := range entries {
					bk.feed(bucketPoint{seq: e.Min.Seq, step: e.Min.Step, time: e.Min.Time, value: e.Min.Value, set: true})
					bk.feed(bucketPoint{seq: e.Max.Seq, step: e.Max.Step, time: e.Max.Time, value: e.Max.Value, set: true})
				}
				continue
			}
			if err := rd.q.QueryRow(ctx, `SELECT data FROM chunks WHERE id = ?`, bl.id).Scan(&data); err != nil {
				return nil, rd.fail(err)
			}
		}
		c.Seq, c.Step, c.Time, c.Value = c.Seq[:0], c.Step[:0], c.Time[:0], c.Value[:0]
		if !scalar {
			c.Values = [][]byte{}
		}
		if err := DecodeChunk(data, &c); err != nil {
			return nil, fmt.Errorf("%s: series %q of run %s: %w", rd.d.Name, key, run, err)
		}
		bk.feedChunk(&c, lo, hi) // data is not reused
	}
	if err := <-scanErr; err != nil {
		return nil, rd.fail(err)
	}
	out := &Series{Run: run, Key: key, Len: n, Downsampled: true}
	if err := bk.appendTo(out); err != nil {
		return nil, err
	}
	return out, nil
}
