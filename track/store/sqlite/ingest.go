package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/sigoco/sigoco/track/store"
)

// The record rules (exactly once by (run, seq), write-once params, the
// status state machine, tombstones, sequence gaps, limits, what each kind
// of record means) are in track/store (rules.go), shared with every
// backend. This file only stores: ingest implements store.RunTx over one
// write transaction, and Ingest, Edit, CreateRun and ResumeRun begin it,
// call the rules and commit.

// ingest is one write transaction on one run (store.RunTx).
type ingest struct {
	s   *Store
	tx  *sql.Tx
	run string
}

// begin opens a write transaction on run.
func (s *Store) begin(ctx context.Context, run string) (*ingest, error) {
	s.stmts.prepareMissed(ctx) // before the transaction takes the connection (stmts.go)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return &ingest{s: s, tx: tx, run: run}, nil
}

func (in *ingest) commit() error {
	if err := in.tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// Ingest implements store.Store. A storage failure that is not the
// batch's fault (disk full, I/O error, busy) is a *store.UnavailableError:
// the client keeps the batch and retries.
func (s *Store) Ingest(ctx context.Context, b *store.Batch) (*store.Ack, error) {
	if err := store.CheckBatch(s.limits, b); err != nil {
		return nil, err
	}
	ack, err := s.ingest(ctx, b)
	return ack, unavailable(err)
}

func (s *Store) ingest(ctx context.Context, b *store.Batch) (*store.Ack, error) {
	in, err := s.begin(ctx, b.Run)
	if err != nil {
		return nil, err
	}
	defer in.tx.Rollback()
	ack, err := store.ApplyBatch(ctx, in, s.limits, b)
	if err != nil {
		return nil, err
	}
	if ack.Gap > 0 {
		s.log.Warn("sqlite: records missing before a batch", "run", b.Run, "missing", ack.Gap, "high_seq", ack.Prev)
	}
	if err := in.commit(); err != nil {
		return nil, err
	}
	return ack, nil
}

// fatalError marks a database failure (as opposed to a record's fault,
// which the rules report).
type fatalError struct{ err error }

func (e *fatalError) Error() string { return "sqlite: " + e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

func fatal(err error) error {
	if err == nil {
		return nil
	}
	return &fatalError{err}
}

// LoadRun implements store.RunTx.
func (in *ingest) LoadRun(ctx context.Context) (store.RunState, bool, error) {
	var r store.RunState
	var crashed int
	err := in.queryRow(ctx, `SELECT status, message, crashed, progress, step, update_time, end_time, high_seq FROM runs WHERE id = ?`, in.run).
		Scan(&r.Status, &r.Message, &crashed, &r.Progress, &r.Step, &r.Update, &r.End, &r.HighSeq)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fatal(err)
	}
	r.Crashed = crashed != 0
	return r, true, nil
}

// Deleted implements store.RunTx: deleted_runs holds the tombstones.
func (in *ingest) Deleted(ctx context.Context) (bool, error) {
	var n int
	err := in.queryRow(ctx, `SELECT count(*) FROM deleted_runs WHERE id = ?`, in.run).Scan(&n)
	return n > 0, fatal(err)
}

// InsertRun implements store.RunTx.
func (in *ingest) InsertRun(ctx context.Context, project, name string, start, now int64) error {
	_, err := in.exec(ctx, `INSERT INTO runs (id, project, name, status, start_time, update_time) VALUES (?, ?, ?, ?, ?, ?)`,
		in.run, project, name, store.StatusRegistered, start, now)
	return fatal(err)
}

// SaveRun implements store.RunTx.
func (in *ingest) SaveRun(ctx context.Context, r *store.RunState) error {
	_, err := in.exec(ctx, `UPDATE runs SET status = ?, message = ?, crashed = ?, progress = ?, step = ?, update_time = ?, end_time = ?, high_seq = ? WHERE id = ?`,
		r.Status, r.Message, b2i(r.Crashed), r.Progress, r.Step, r.Update, r.End, r.HighSeq, in.run)
	return fatal(err)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Param implements store.RunTx.
func (in *ingest) Param(ctx context.Context, key string) ([]byte, bool, error) {
	var old []byte
	err := in.queryRow(ctx, `SELECT value FROM params WHERE run = ? AND key = ?`, in.run, key).Scan(&old)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	return old, err == nil, fatal(err)
}

// CountParams implements store.RunTx.
func (in *ingest) CountParams(ctx context.Context) (int, error) {
	var n int
	err := in.queryRow(ctx, `SELECT count(*) FROM params WHERE run = ?`, in.run).Scan(&n)
	return n, fatal(err)
}

// InsertParam implements store.RunTx.
func (in *ingest) InsertParam(ctx context.Context, key string, v []byte, num any) error {
	_, err := in.exec(ctx, `INSERT INTO params (run, key, value, num) VALUES (?, ?, ?, ?)`, in.run, key, v, num)
	return fatal(err)
}

// PutMeta implements store.RunTx.
func (in *ingest) PutMeta(ctx context.Context, key string, v []byte) error {
	_, err := in.exec(ctx, `INSERT INTO metadata (run, key, value) VALUES (?, ?, ?) ON CONFLICT (run, key) DO UPDATE SET value = excluded.value`, in.run, key, v)
	return fatal(err)
}

// AddNote implements store.RunTx.
func (in *ingest) AddNote(ctx context.Context, t int64, text string) error {
	_, err := in.exec(ctx, `INSERT INTO notes (run, time, text) VALUES (?, ?, ?)`, in.run, t, text)
	return fatal(err)
}

// CountTags implements store.RunTx.
func (in *ingest) CountTags(ctx context.Context, tag string) (int, error) {
	var n int
	err := in.queryRow(ctx, `SELECT count(*) FROM tags WHERE run = ? AND tag <> ?`, in.run, tag).Scan(&n)
	return n, fatal(err)
}

// AddTag implements store.RunTx.
func (in *ingest) AddTag(ctx context.Context, tag string) error {
	_, err := in.exec(ctx, `INSERT OR IGNORE INTO tags (run, tag) VALUES (?, ?)`, in.run, tag)
	return fatal(err)
}

// RemoveTag implements store.RunTx.
func (in *ingest) RemoveTag(ctx context.Context, tag string) error {
	_, err := in.exec(ctx, `DELETE FROM tags WHERE run = ? AND tag = ?`, in.run, tag)
	return fatal(err)
}

// PutCount implements store.RunTx.
func (in *ingest) PutCount(ctx context.Context, name string, v []byte) error {
	_, err := in.exec(ctx, `INSERT INTO counts (run, name, value) VALUES (?, ?, ?) ON CONFLICT (run, name) DO UPDATE SET value = excluded.value`, in.run, name, v)
	return fatal(err)
}

// PutArtifact implements store.RunTx.
func (in *ingest) PutArtifact(ctx context.Context, a *store.ArtifactRow) error {
	_, err := in.exec(ctx, `INSERT INTO artifacts (run, name, sha256, size, content_type, result, time) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (run, name) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size, content_type = excluded.content_type, result = max(artifacts.result, excluded.result), time = excluded.time`,
		in.run, a.Name, a.SHA256, a.Size, a.ContentType, b2i(a.Result), a.Time)
	return fatal(err)
}

// Series implements store.RunTx.
func (in *ingest) Series(ctx context.Context, key string) (store.SeriesState, error) {
	var st store.SeriesState
	var scalar int
	err := in.queryRow(ctx, `SELECT scalar, n FROM series WHERE run = ? AND key = ?`, in.run, key).Scan(&scalar, &st.N)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, fatal(err)
	}
	st.Exists, st.Scalar = true, scalar != 0
	return st, nil
}

// CountSeries implements store.RunTx.
func (in *ingest) CountSeries(ctx context.Context) (int, error) {
	var count int
	err := in.queryRow(ctx, `SELECT count(*) FROM series WHERE run = ?`, in.run).Scan(&count)
	return count, fatal(err)
}

// AppendSeries implements store.RunTx: the points go to the tail chunk up
// to store.ChunkPoints, then to new chunks; the series' length and latest
// value follow.
func (in *ingest) AppendSeries(ctx context.Context, key string, st store.SeriesState, c *store.Chunk, step, t int64, latest []byte) error {
	n := st.N + int64(c.Len())
	if err := in.appendSeries(ctx, key, st, c); err != nil {
		return err
	}
	return in.finishSeries(ctx, key, n, step, t, latest)
}

// appendSeries appends the points of c (all new, in seq order) to a series,
// cut in chunks as store.AppendChunks does.
func (in *ingest) appendSeries(ctx context.Context, key string, st store.SeriesState, c *store.Chunk) error {
	if !st.Exists {
		if _, err := in.exec(ctx, `INSERT INTO series (run, key, scalar, n) VALUES (?, ?, ?, 0)`, in.run, key, b2i(c.Scalar())); err != nil {
			return fatal(err)
		}
	}
	if err := store.AppendChunks(ctx, in, key, st.Exists, c); err != nil {
		return fatal(fmt.Errorf("run %s: %w", in.run, err))
	}
	return nil
}

// TailChunks implements store.ChunkTx.
func (in *ingest) TailChunks(ctx context.Context, key string, limit int) ([]store.StoredChunk, error) {
	rows, err := in.query(ctx, `SELECT id, n, data FROM chunks WHERE run = ? AND key = ? ORDER BY first_seq DESC LIMIT ?`, in.run, key, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.StoredChunk
	for rows.Next() {
		var ch store.StoredChunk
		if err := rows.Scan(&ch.ID, &ch.N, &ch.Data); err != nil {
			return nil, err
		}
		out = append(out, ch)
	}
	return out, rows.Err()
}

// WriteChunk implements store.ChunkTx.
func (in *ingest) WriteChunk(ctx context.Context, key string, id int64, c *store.Chunk) error {
	data := c.AppendEncoded(nil)
	var summary []byte
	if c.Scalar() {
		summary = c.AppendSummary(nil)
	}
	minStep, maxStep := slices.Min(c.Step), slices.Max(c.Step)
	var err error
	if id == 0 {
		_, err = in.exec(ctx, `INSERT INTO chunks (run, key, first_seq, last_seq, min_step, max_step, n, data, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			in.run, key, c.Seq[0], c.Seq[len(c.Seq)-1], minStep, maxStep, c.Len(), data, summary)
	} else {
		_, err = in.exec(ctx, `UPDATE chunks SET last_seq = ?, min_step = ?, max_step = ?, n = ?, data = ?, summary = ? WHERE id = ?`,
			c.Seq[len(c.Seq)-1], minStep, maxStep, c.Len(), data, summary, id)
	}
	return err
}

// DeleteChunks implements store.ChunkTx.
func (in *ingest) DeleteChunks(ctx context.Context, key string, ids []int64) error {
	for _, id := range ids {
		if _, err := in.exec(ctx, `DELETE FROM chunks WHERE id = ? AND run = ? AND key = ?`, id, in.run, key); err != nil {
			return err
		}
	}
	return nil
}

// finishSeries records the new length and latest value of a series.
func (in *ingest) finishSeries(ctx context.Context, key string, n int64, step, t int64, latest []byte) error {
	if _, err := in.exec(ctx, `UPDATE series SET n = ? WHERE run = ? AND key = ?`, n, in.run, key); err != nil {
		return fatal(err)
	}
	_, err := in.exec(ctx, `INSERT INTO latest (run, key, step, time, value, num) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (run, key) DO UPDATE SET step = excluded.step, time = excluded.time, value = excluded.value, num = excluded.num`, in.run, key, step, t, latest, store.NumOf(latest))
	return fatal(err)
}

// Edit implements store.Store.
func (s *Store) Edit(ctx context.Context, run string, recs []store.Record) error {
	in, err := s.begin(ctx, run)
	if err != nil {
		return unavailable(err)
	}
	defer in.tx.Rollback()
	if err := store.ApplyEdit(ctx, in, s.limits, run, recs); err != nil {
		return unavailable(err)
	}
	return unavailable(in.commit())
}

// CreateRun implements store.Store.
func (s *Store) CreateRun(ctx context.Context, id, project, name string) error {
	if err := store.CheckRunID(id); err != nil {
		return err
	}
	in, err := s.begin(ctx, id)
	if err != nil {
		return unavailable(err)
	}
	defer in.tx.Rollback()
	if err := store.ApplyCreate(ctx, in, s.limits, id, project, name); err != nil {
		return unavailable(err)
	}
	return unavailable(in.commit())
}

// ResumeRun implements store.Store.
func (s *Store) ResumeRun(ctx context.Context, id string) (int64, error) {
	if err := store.CheckRunID(id); err != nil {
		return 0, err
	}
	in, err := s.begin(ctx, id)
	if err != nil {
		return 0, unavailable(err)
	}
	defer in.tx.Rollback()
	last, err := store.ApplyResume(ctx, in, id)
	if err != nil {
		return 0, unavailable(err)
	}
	return last, unavailable(in.commit())
}
