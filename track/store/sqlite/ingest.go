package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sigoco/sigoco/track/store"
)

// maxRejected bounds the rejections one Ack lists; further ones are counted
// in the message of the last.
const maxRejected = 100

// runRow is the mutable part of a run that a batch changes.
type runRow struct {
	exists   bool
	status   store.Status
	message  string
	crashed  bool
	progress float64
	step     int64
	update   int64
	end      int64
	highSeq  int64
}

type ingest struct {
	s    *Store
	tx   *sql.Tx
	ctx  context.Context
	run  string
	row  runRow
	ack  *store.Ack
	nrej int
}

func (in *ingest) reject(seq int64, err error) {
	in.nrej++
	if len(in.ack.Rejected) < maxRejected {
		in.ack.Rejected = append(in.ack.Rejected, store.Rejected{Seq: seq, Error: err.Error()})
	}
}

// Ingest implements store.Store.
func (s *Store) Ingest(ctx context.Context, b *store.Batch) (*store.Ack, error) {
	if err := s.checkBatchShape(b); err != nil {
		return nil, err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	defer tx.Rollback()
	in := &ingest{s: s, tx: tx, ctx: ctx, run: b.Run, ack: &store.Ack{Run: b.Run}}
	if err := in.loadRun(); err != nil {
		return nil, err
	}
	if !in.row.exists {
		if len(b.Records) == 0 || b.Records[0].Kind != store.KindStart {
			return nil, fmt.Errorf("%w %q: its first batch must start with the run's start record", store.ErrUnknownRun, b.Run)
		}
	}
	minSeq := int64(-1)
	maxSeq := in.row.highSeq
	note := func(seq int64) bool { // true: the record is new
		if seq <= in.row.highSeq {
			in.ack.Skipped++
			return false
		}
		if minSeq < 0 || seq < minSeq {
			minSeq = seq
		}
		maxSeq = max(maxSeq, seq)
		return true
	}
	for i := range b.Records {
		r := &b.Records[i]
		if !note(r.Seq) {
			continue
		}
		if err := store.CheckClientRecord(r); err != nil {
			in.reject(r.Seq, err) // the server writes these with Edit
			continue
		}
		if err := in.record(r); err != nil {
			if isFatal(err) {
				return nil, err
			}
			in.reject(r.Seq, err)
			continue
		}
		in.ack.Applied++
	}
	if err := in.points(&b.Points, note); err != nil {
		return nil, err
	}
	if minSeq > in.row.highSeq+1 {
		in.ack.Gap = minSeq - in.row.highSeq - 1
		s.log.Warn("sqlite: records missing before a batch", "run", b.Run, "missing", in.ack.Gap, "high_seq", in.row.highSeq)
	}
	if in.nrej > len(in.ack.Rejected) && len(in.ack.Rejected) > 0 {
		last := &in.ack.Rejected[len(in.ack.Rejected)-1]
		last.Error += fmt.Sprintf(" (and %d more records rejected)", in.nrej-len(in.ack.Rejected))
	}
	in.ack.Prev = in.row.highSeq
	in.row.highSeq = maxSeq
	if in.ack.Applied > 0 {
		in.row.update = time.Now().UnixNano()
	}
	if err := in.saveRun(); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: commit: %w", err)
	}
	in.ack.HighSeq = maxSeq
	return in.ack, nil
}

// fatalError marks a database failure, which aborts the whole batch (as
// opposed to a record's fault, which rejects that record).
type fatalError struct{ err error }

func (e *fatalError) Error() string { return "sqlite: " + e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

func fatal(err error) error {
	if err == nil {
		return nil
	}
	return &fatalError{err}
}

func isFatal(err error) bool {
	var f *fatalError
	return errors.As(err, &f)
}

func (s *Store) checkBatchShape(b *store.Batch) error {
	if err := store.CheckRunID(b.Run); err != nil {
		return err // no such id enters the store: ids may name directories (jobs)
	}
	p := &b.Points
	n := p.Len()
	if len(p.Key) != n || len(p.Step) != n || len(p.Time) != n || len(p.Value) != n {
		return fmt.Errorf("%w: point columns of different lengths (seq %d, key %d, step %d, time %d, value %d)",
			store.ErrBadRecord, n, len(p.Key), len(p.Step), len(p.Time), len(p.Value))
	}
	if total := n + len(b.Records); total > s.limits.MaxBatchRecords {
		return &store.LimitError{Limit: "MaxBatchRecords", Item: "batch", Size: int64(total), Max: int64(s.limits.MaxBatchRecords)}
	}
	for i, k := range p.Key {
		if k < 0 || k >= int64(len(p.Keys)) {
			return fmt.Errorf("%w: point %d names key %d of %d", store.ErrBadRecord, i, k, len(p.Keys))
		}
	}
	return nil
}

func (in *ingest) loadRun() error {
	r := &in.row
	var crashed int
	err := in.tx.QueryRowContext(in.ctx, `SELECT status, message, crashed, progress, step, update_time, end_time, high_seq FROM runs WHERE id = ?`, in.run).
		Scan(&r.status, &r.message, &crashed, &r.progress, &r.step, &r.update, &r.end, &r.highSeq)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fatal(err)
	}
	r.exists, r.crashed = true, crashed != 0
	return nil
}

func (in *ingest) saveRun() error {
	if !in.row.exists {
		return nil
	}
	r := &in.row
	_, err := in.tx.ExecContext(in.ctx, `UPDATE runs SET status = ?, message = ?, crashed = ?, progress = ?, step = ?, update_time = ?, end_time = ?, high_seq = ? WHERE id = ?`,
		r.status, r.message, b2i(r.crashed), r.progress, r.step, r.update, r.end, r.highSeq, in.run)
	return fatal(err)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (in *ingest) record(r *store.Record) error {
	lim := in.s.limits
	if !in.row.exists && r.Kind != store.KindStart {
		return fmt.Errorf("%w %q", store.ErrUnknownRun, in.run)
	}
	switch r.Kind {
	case store.KindStart:
		if in.row.exists {
			return nil // a restarted client announcing itself again
		}
		name, _ := r.Value.(string)
		if err := lim.CheckKey("project", r.Key); err != nil {
			return err
		}
		if len(name) > lim.MaxKeyLen {
			return &store.LimitError{Limit: "MaxKeyLen", Item: "run name", Size: int64(len(name)), Max: int64(lim.MaxKeyLen)}
		}
		now := time.Now().UnixNano()
		_, err := in.tx.ExecContext(in.ctx, `INSERT INTO runs (id, project, name, status, start_time, update_time) VALUES (?, ?, ?, ?, ?, ?)`,
			in.run, r.Key, name, store.StatusRegistered, r.Time, now)
		if err != nil {
			return fatal(err)
		}
		in.row = runRow{exists: true, status: store.StatusRegistered, update: now}
		return nil
	case store.KindParam:
		return in.param(r)
	case store.KindMeta:
		if err := lim.CheckKey("metadata key", r.Key); err != nil {
			return err
		}
		v, err := in.value("metadata "+r.Key, r.Value)
		if err != nil {
			return err
		}
		_, err = in.tx.ExecContext(in.ctx, `INSERT INTO metadata (run, key, value) VALUES (?, ?, ?) ON CONFLICT (run, key) DO UPDATE SET value = excluded.value`, in.run, r.Key, v)
		return fatal(err)
	case store.KindResult:
		return in.valueResult(r)
	case store.KindNote:
		text, ok := r.Value.(string)
		if !ok {
			return fmt.Errorf("%w: a note must be text, not %T", store.ErrBadRecord, r.Value)
		}
		if len(text) > lim.MaxValueSize {
			return &store.LimitError{Limit: "MaxValueSize", Item: "note", Size: int64(len(text)), Max: int64(lim.MaxValueSize)}
		}
		_, err := in.tx.ExecContext(in.ctx, `INSERT INTO notes (run, time, text) VALUES (?, ?, ?)`, in.run, r.Time, text)
		return fatal(err)
	case store.KindTag:
		if err := lim.CheckKey("tag", r.Key); err != nil {
			return err
		}
		_, err := in.tx.ExecContext(in.ctx, `INSERT OR IGNORE INTO tags (run, tag) VALUES (?, ?)`, in.run, r.Key)
		return fatal(err)
	case store.KindUntag:
		_, err := in.tx.ExecContext(in.ctx, `DELETE FROM tags WHERE run = ? AND tag = ?`, in.run, r.Key)
		return fatal(err)
	case store.KindStatus:
		if r.Key == string(store.StatusCrashed) { // set by the server only (Edit)
			in.row.crashed = true
			return nil
		}
		st := store.Status(r.Key)
		if !st.Valid() {
			return fmt.Errorf("%w: unknown status %q", store.ErrBadRecord, r.Key)
		}
		in.row.status, in.row.crashed = st, false
		in.row.message, _ = r.Value.(string)
		if len(in.row.message) > lim.MaxValueSize {
			in.row.message = in.row.message[:lim.MaxValueSize]
		}
		if st.Final() {
			in.row.end = r.Time
		}
		return nil
	case store.KindProgress:
		p, ok := store.ScalarOf(r.Value)
		if !ok || p < 0 || p > 100 || p != p {
			return fmt.Errorf("%w: progress %v is not a number in 0–100", store.ErrBadRecord, r.Value)
		}
		in.row.progress = p
		return nil
	case store.KindStep:
		in.row.step = r.Step
		return nil
	case store.KindArtifact:
		return in.artifact(r)
	case store.KindCount:
		if err := lim.CheckKey("count name", r.Key); err != nil {
			return err
		}
		v, err := in.value("count "+r.Key, r.Value)
		if err != nil {
			return err
		}
		_, err = in.tx.ExecContext(in.ctx, `INSERT INTO counts (run, name, value) VALUES (?, ?, ?) ON CONFLICT (run, name) DO UPDATE SET value = excluded.value`, in.run, r.Key, v)
		return fatal(err)
	}
	return fmt.Errorf("%w: unknown record kind %q", store.ErrBadRecord, r.Kind)
}

func (in *ingest) value(what string, v any) ([]byte, error) {
	b, err := store.EncodeValue(v)
	if err != nil {
		return nil, err
	}
	return b, in.s.limits.CheckValue(what, b)
}

func (in *ingest) param(r *store.Record) error {
	if err := in.s.limits.CheckKey("param key", r.Key); err != nil {
		return err
	}
	v, err := in.value("param "+r.Key, r.Value)
	if err != nil {
		return err
	}
	var old []byte
	err = in.tx.QueryRowContext(in.ctx, `SELECT value FROM params WHERE run = ? AND key = ?`, in.run, r.Key).Scan(&old)
	switch {
	case err == nil:
		if string(old) == string(v) {
			return nil
		}
		ov, _ := store.DecodeValue(old)
		return &store.ConflictError{Key: r.Key, Old: store.ValueText(ov), New: store.ValueText(r.Value)}
	case !errors.Is(err, sql.ErrNoRows):
		return fatal(err)
	}
	var n int
	if err := in.tx.QueryRowContext(in.ctx, `SELECT count(*) FROM params WHERE run = ?`, in.run).Scan(&n); err != nil {
		return fatal(err)
	}
	if n >= in.s.limits.MaxKeysPerRun {
		return &store.LimitError{Limit: "MaxKeysPerRun", Item: "params of the run", Size: int64(n + 1), Max: int64(in.s.limits.MaxKeysPerRun)}
	}
	var num any
	if f, ok := store.ScalarOf(r.Value); ok {
		num = f
	} else if bv, ok := r.Value.(bool); ok {
		num = float64(b2i(bv))
	}
	_, err = in.tx.ExecContext(in.ctx, `INSERT INTO params (run, key, value, num) VALUES (?, ?, ?, ?)`, in.run, r.Key, v, num)
	return fatal(err)
}

func (in *ingest) artifact(r *store.Record) error {
	if err := in.s.limits.CheckKey("artifact name", r.Key); err != nil {
		return err
	}
	m, ok := r.Value.(map[string]any)
	if !ok {
		return fmt.Errorf("%w: artifact %q without its description", store.ErrBadRecord, r.Key)
	}
	sha, _ := m["sha256"].(string)
	if !validSha(sha) {
		return fmt.Errorf("%w: artifact %q: %q is not a sha256 in hex", store.ErrBadRecord, r.Key, sha)
	}
	size, _ := store.ScalarOf(m["size"])
	ct, _ := m["content_type"].(string)
	res, _ := m["result"].(bool)
	_, err := in.tx.ExecContext(in.ctx, `INSERT INTO artifacts (run, name, sha256, size, content_type, result, time) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (run, name) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size, content_type = excluded.content_type, result = max(artifacts.result, excluded.result), time = excluded.time`,
		in.run, r.Key, sha, int64(size), ct, b2i(res), r.Time)
	return fatal(err)
}

// seriesState is a series row plus its tail chunk.
type seriesState struct {
	exists bool
	scalar bool
	n      int64
}

func (in *ingest) series(key string) (seriesState, error) {
	var st seriesState
	var scalar int
	err := in.tx.QueryRowContext(in.ctx, `SELECT scalar, n FROM series WHERE run = ? AND key = ?`, in.run, key).Scan(&scalar, &st.n)
	if errors.Is(err, sql.ErrNoRows) {
		var count int
		if err := in.tx.QueryRowContext(in.ctx, `SELECT count(*) FROM series WHERE run = ?`, in.run).Scan(&count); err != nil {
			return st, fatal(err)
		}
		if count >= in.s.limits.MaxKeysPerRun {
			return st, &store.LimitError{Limit: "MaxKeysPerRun", Item: "series of the run", Size: int64(count + 1), Max: int64(in.s.limits.MaxKeysPerRun)}
		}
		return st, nil
	}
	if err != nil {
		return st, fatal(err)
	}
	st.exists, st.scalar = true, scalar != 0
	return st, nil
}

// appendSeries appends the points of c (all new, in seq order) to a series:
// the tail chunk is filled up to store.ChunkPoints, then new chunks follow.
func (in *ingest) appendSeries(key string, st seriesState, c *store.Chunk) error {
	if st.exists {
		var id int64
		var n int
		var data []byte
		err := in.tx.QueryRowContext(in.ctx, `SELECT id, n, data FROM chunks WHERE run = ? AND key = ? ORDER BY first_seq DESC LIMIT 1`, in.run, key).Scan(&id, &n, &data)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fatal(err)
		}
		if err == nil && n < store.ChunkPoints {
			var tail store.Chunk
			if !c.Scalar() {
				tail.Values = [][]byte{}
			}
			if err := store.DecodeChunk(data, &tail); err != nil {
				return fatal(fmt.Errorf("series %q of run %s: %w", key, in.run, err))
			}
			take := min(store.ChunkPoints-n, c.Len())
			appendPoints(&tail, c, 0, take)
			if err := in.writeChunk(key, id, &tail); err != nil {
				return err
			}
			cutFront(c, take)
		}
	} else {
		if _, err := in.tx.ExecContext(in.ctx, `INSERT INTO series (run, key, scalar, n) VALUES (?, ?, ?, 0)`, in.run, key, b2i(c.Scalar())); err != nil {
			return fatal(err)
		}
	}
	for c.Len() > 0 {
		take := min(store.ChunkPoints, c.Len())
		var part store.Chunk
		if !c.Scalar() {
			part.Values = [][]byte{}
		}
		appendPoints(&part, c, 0, take)
		if err := in.writeChunk(key, 0, &part); err != nil {
			return err
		}
		cutFront(c, take)
	}
	return nil
}

func appendPoints(dst, src *store.Chunk, from, to int) {
	dst.Seq = append(dst.Seq, src.Seq[from:to]...)
	dst.Step = append(dst.Step, src.Step[from:to]...)
	dst.Time = append(dst.Time, src.Time[from:to]...)
	if src.Scalar() {
		dst.Value = append(dst.Value, src.Value[from:to]...)
	} else {
		dst.Values = append(dst.Values, src.Values[from:to]...)
	}
}

func cutFront(c *store.Chunk, n int) {
	c.Seq, c.Step, c.Time = c.Seq[n:], c.Step[n:], c.Time[n:]
	if c.Scalar() {
		c.Value = c.Value[n:]
	} else {
		c.Values = c.Values[n:]
	}
}

// writeChunk writes c as chunk id (0: a new chunk).
func (in *ingest) writeChunk(key string, id int64, c *store.Chunk) error {
	data := c.AppendEncoded(nil)
	var summary []byte
	if c.Scalar() {
		summary = c.AppendSummary(nil)
	}
	minStep, maxStep := slices.Min(c.Step), slices.Max(c.Step)
	var err error
	if id == 0 {
		_, err = in.tx.ExecContext(in.ctx, `INSERT INTO chunks (run, key, first_seq, last_seq, min_step, max_step, n, data, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			in.run, key, c.Seq[0], c.Seq[len(c.Seq)-1], minStep, maxStep, c.Len(), data, summary)
	} else {
		_, err = in.tx.ExecContext(in.ctx, `UPDATE chunks SET last_seq = ?, min_step = ?, max_step = ?, n = ?, data = ?, summary = ? WHERE id = ?`,
			c.Seq[len(c.Seq)-1], minStep, maxStep, c.Len(), data, summary, id)
	}
	return fatal(err)
}

// finishSeries records the new length and latest value of a series.
func (in *ingest) finishSeries(key string, n int64, step, t int64, latest []byte) error {
	if _, err := in.tx.ExecContext(in.ctx, `UPDATE series SET n = ? WHERE run = ? AND key = ?`, n, in.run, key); err != nil {
		return fatal(err)
	}
	_, err := in.tx.ExecContext(in.ctx, `INSERT INTO latest (run, key, step, time, value) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (run, key) DO UPDATE SET step = excluded.step, time = excluded.time, value = excluded.value`, in.run, key, step, t, latest)
	return fatal(err)
}

// points stores the scalar points of a batch, grouped by key.
func (in *ingest) points(p *store.Points, note func(int64) bool) error {
	if p.Len() == 0 {
		return nil
	}
	if !in.row.exists {
		return fmt.Errorf("%w %q", store.ErrUnknownRun, in.run)
	}
	byKey := make([][]int32, len(p.Keys))
	for i := range p.Seq {
		if !note(p.Seq[i]) {
			continue
		}
		k := p.Key[i]
		byKey[k] = append(byKey[k], int32(i))
	}
	for k, idx := range byKey {
		if len(idx) == 0 {
			continue
		}
		key := p.Keys[k]
		if err := in.s.limits.CheckKey("result key", key); err != nil {
			in.reject(p.Seq[idx[0]], fmt.Errorf("%w (%d points)", err, len(idx)))
			continue
		}
		st, err := in.series(key)
		if err != nil {
			if isFatal(err) {
				return err
			}
			in.reject(p.Seq[idx[0]], fmt.Errorf("%w (%d points)", err, len(idx)))
			continue
		}
		if st.exists && !st.scalar {
			in.reject(p.Seq[idx[0]], fmt.Errorf("%w: series %q holds non-scalar values; %d scalar points refused", store.ErrBadRecord, key, len(idx)))
			continue
		}
		if room := in.s.limits.MaxSeriesLen - st.n; int64(len(idx)) > room {
			over := idx[max(room, 0):]
			in.reject(p.Seq[over[0]], &store.LimitError{Limit: "MaxSeriesLen", Item: fmt.Sprintf("series %q (%d points refused)", key, len(over)), Size: st.n + int64(len(idx)), Max: in.s.limits.MaxSeriesLen})
			idx = idx[:max(room, 0)]
			if len(idx) == 0 {
				continue
			}
		}
		c := &store.Chunk{Seq: make([]int64, len(idx)), Step: make([]int64, len(idx)), Time: make([]int64, len(idx)), Value: make([]float64, len(idx))}
		for j, i := range idx {
			c.Seq[j], c.Step[j], c.Time[j], c.Value[j] = p.Seq[i], p.Step[i], p.Time[i], p.Value[i]
		}
		last := idx[len(idx)-1]
		latest, _ := store.EncodeValue(p.Value[last])
		if err := in.appendSeries(key, st, c); err != nil {
			return err
		}
		if err := in.finishSeries(key, st.n+int64(len(idx)), p.Step[last], p.Time[last], latest); err != nil {
			return err
		}
		in.ack.Applied += len(idx)
	}
	return nil
}

// valueResult stores one non-scalar result (or a scalar sent as a record).
func (in *ingest) valueResult(r *store.Record) error {
	if err := in.s.limits.CheckKey("result key", r.Key); err != nil {
		return err
	}
	st, err := in.series(r.Key)
	if err != nil {
		return err
	}
	if st.n >= in.s.limits.MaxSeriesLen {
		return &store.LimitError{Limit: "MaxSeriesLen", Item: fmt.Sprintf("series %q", r.Key), Size: st.n + 1, Max: in.s.limits.MaxSeriesLen}
	}
	if f, ok := store.ScalarOf(r.Value); ok && (!st.exists || st.scalar) {
		c := &store.Chunk{Seq: []int64{r.Seq}, Step: []int64{r.Step}, Time: []int64{r.Time}, Value: []float64{f}}
		latest, _ := store.EncodeValue(f)
		if err := in.appendSeries(r.Key, st, c); err != nil {
			return err
		}
		return in.finishSeries(r.Key, st.n+1, r.Step, r.Time, latest)
	}
	if st.exists && st.scalar {
		return fmt.Errorf("%w: series %q holds scalars; refusing a %T", store.ErrBadRecord, r.Key, r.Value)
	}
	v, err := in.value("result "+r.Key, r.Value)
	if err != nil {
		return err
	}
	c := &store.Chunk{Seq: []int64{r.Seq}, Step: []int64{r.Step}, Time: []int64{r.Time}, Values: [][]byte{v}}
	if err := in.appendSeries(r.Key, st, c); err != nil {
		return err
	}
	return in.finishSeries(r.Key, st.n+1, r.Step, r.Time, v)
}

// Edit implements store.Store.
func (s *Store) Edit(ctx context.Context, run string, recs []store.Record) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	defer tx.Rollback()
	in := &ingest{s: s, tx: tx, ctx: ctx, run: run, ack: &store.Ack{Run: run}}
	if err := in.loadRun(); err != nil {
		return err
	}
	if !in.row.exists {
		return fmt.Errorf("%w %q", store.ErrUnknownRun, run)
	}
	for i := range recs {
		r := &recs[i]
		switch r.Kind {
		case store.KindNote, store.KindTag, store.KindUntag, store.KindStatus, store.KindMeta:
		default:
			return fmt.Errorf("%w: %q records cannot be edited", store.ErrBadRecord, r.Kind)
		}
		if r.Kind == store.KindStatus && r.Key != string(store.StatusCrashed) && r.Key != "alive" {
			return fmt.Errorf("%w: only the run itself sets its status", store.ErrBadRecord)
		}
		if r.Kind == store.KindStatus && r.Key == "alive" {
			in.row.crashed = false
			continue
		}
		if r.Time == 0 {
			r.Time = time.Now().UnixNano()
		}
		if err := in.record(r); err != nil {
			return err
		}
	}
	in.row.update = time.Now().UnixNano()
	if err := in.saveRun(); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// CreateRun implements store.Store.
func (s *Store) CreateRun(ctx context.Context, id, project, name string) error {
	b := &store.Batch{Run: id}
	if err := s.checkBatchShape(b); err != nil {
		return err
	}
	if err := s.limits.CheckKey("project", project); err != nil {
		return err
	}
	if len(name) > s.limits.MaxKeyLen {
		return &store.LimitError{Limit: "MaxKeyLen", Item: "run name", Size: int64(len(name)), Max: int64(s.limits.MaxKeyLen)}
	}
	now := time.Now().UnixNano()
	_, err := s.w.ExecContext(ctx, `INSERT OR IGNORE INTO runs (id, project, name, status, start_time, update_time) VALUES (?, ?, ?, ?, ?, ?)`,
		id, project, name, store.StatusRegistered, now, now)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}
