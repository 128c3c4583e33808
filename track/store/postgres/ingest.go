package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/sigoco/sigoco/track/store"
)

// The record rules are in track/store (rules.go), shared with every
// backend. This file only stores: ingest implements store.RunTx over one
// PostgreSQL transaction, and Ingest, Edit, CreateRun and ResumeRun begin
// it, call the rules and commit.

// ingest is one write transaction on one run (store.RunTx).
type ingest struct {
	s   *Store
	tx  pgx.Tx
	run string
}

// begin opens a transaction on run and takes the run's advisory lock for
// the transaction: writers of one run, on any node, run one at a time.
func (s *Store) begin(ctx context.Context, run string) (*ingest, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, run); err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return &ingest{s: s, tx: tx, run: run}, nil
}

func (in *ingest) rollback(ctx context.Context) { in.tx.Rollback(context.WithoutCancel(ctx)) }

func (in *ingest) commit(ctx context.Context) error {
	if err := in.tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}

// Ingest implements store.Store. A storage failure that is not the batch's
// fault (the database unreachable, full, restarting, a serialisation
// failure) is a *store.UnavailableError: the client keeps the batch and
// retries.
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
	defer in.rollback(ctx)
	ack, err := store.ApplyBatch(ctx, in, s.limits, b)
	if err != nil {
		return nil, err
	}
	if ack.Gap > 0 {
		s.log.Warn("postgres: records missing before a batch", "run", b.Run, "missing", ack.Gap, "high_seq", ack.Prev)
	}
	if ack.HighSeq > ack.Prev {
		if err := s.notify(ctx, in.tx, store.ChangeBatch, ack.HighSeq, b.Run); err != nil {
			return nil, fatal(err)
		}
	}
	if err := in.commit(ctx); err != nil {
		return nil, err
	}
	return ack, nil
}

// fatalError marks a database failure (as opposed to a record's fault,
// which the rules report).
type fatalError struct{ err error }

func (e *fatalError) Error() string { return "postgres: " + e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

func fatal(err error) error {
	if err == nil {
		return nil
	}
	return &fatalError{err}
}

func (in *ingest) exec(ctx context.Context, sql string, args ...any) error {
	_, err := in.tx.Exec(ctx, sql, args...)
	return fatal(err)
}

// LoadRun implements store.RunTx.
func (in *ingest) LoadRun(ctx context.Context) (store.RunState, bool, error) {
	var r store.RunState
	err := in.tx.QueryRow(ctx, `SELECT status, message, crashed, progress, step, update_time, end_time, high_seq FROM runs WHERE id = $1 FOR UPDATE`, in.run).
		Scan(&r.Status, &r.Message, &r.Crashed, &r.Progress, &r.Step, &r.Update, &r.End, &r.HighSeq)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fatal(err)
	}
	return r, true, nil
}

// Deleted implements store.RunTx: deleted_runs holds the tombstones.
func (in *ingest) Deleted(ctx context.Context) (bool, error) {
	var ok bool
	err := in.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM deleted_runs WHERE id = $1)`, in.run).Scan(&ok)
	return ok, fatal(err)
}

// InsertRun implements store.RunTx.
func (in *ingest) InsertRun(ctx context.Context, project, name string, start, now int64) error {
	return in.exec(ctx, `INSERT INTO runs (id, project, name, status, start_time, update_time) VALUES ($1, $2, $3, $4, $5, $6)`,
		in.run, project, name, string(store.StatusRegistered), start, now)
}

// SaveRun implements store.RunTx.
func (in *ingest) SaveRun(ctx context.Context, r *store.RunState) error {
	return in.exec(ctx, `UPDATE runs SET status = $1, message = $2, crashed = $3, progress = $4, step = $5, update_time = $6, end_time = $7, high_seq = $8 WHERE id = $9`,
		string(r.Status), r.Message, r.Crashed, r.Progress, r.Step, r.Update, r.End, r.HighSeq, in.run)
}

// Param implements store.RunTx.
func (in *ingest) Param(ctx context.Context, key string) ([]byte, bool, error) {
	var old []byte
	err := in.tx.QueryRow(ctx, `SELECT value FROM params WHERE run = $1 AND key = $2`, in.run, key).Scan(&old)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	return old, err == nil, fatal(err)
}

func (in *ingest) count(ctx context.Context, sql string, args ...any) (int, error) {
	var n int
	err := in.tx.QueryRow(ctx, sql, args...).Scan(&n)
	return n, fatal(err)
}

// CountParams implements store.RunTx.
func (in *ingest) CountParams(ctx context.Context) (int, error) {
	return in.count(ctx, `SELECT count(*) FROM params WHERE run = $1`, in.run)
}

// InsertParam implements store.RunTx.
func (in *ingest) InsertParam(ctx context.Context, key string, v []byte, num any) error {
	return in.exec(ctx, `INSERT INTO params (run, key, value, num) VALUES ($1, $2, $3, $4)`, in.run, key, v, num)
}

// PutMeta implements store.RunTx.
func (in *ingest) PutMeta(ctx context.Context, key string, v []byte) error {
	return in.exec(ctx, `INSERT INTO metadata (run, key, value) VALUES ($1, $2, $3) ON CONFLICT (run, key) DO UPDATE SET value = excluded.value`, in.run, key, v)
}

// AddNote implements store.RunTx.
func (in *ingest) AddNote(ctx context.Context, t int64, text string) error {
	return in.exec(ctx, `INSERT INTO notes (run, time, text) VALUES ($1, $2, $3)`, in.run, t, text)
}

// CountTags implements store.RunTx.
func (in *ingest) CountTags(ctx context.Context, tag string) (int, error) {
	return in.count(ctx, `SELECT count(*) FROM tags WHERE run = $1 AND tag <> $2`, in.run, tag)
}

// AddTag implements store.RunTx.
func (in *ingest) AddTag(ctx context.Context, tag string) error {
	return in.exec(ctx, `INSERT INTO tags (run, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING`, in.run, tag)
}

// RemoveTag implements store.RunTx.
func (in *ingest) RemoveTag(ctx context.Context, tag string) error {
	return in.exec(ctx, `DELETE FROM tags WHERE run = $1 AND tag = $2`, in.run, tag)
}

// PutCount implements store.RunTx.
func (in *ingest) PutCount(ctx context.Context, name string, v []byte) error {
	return in.exec(ctx, `INSERT INTO counts (run, name, value) VALUES ($1, $2, $3) ON CONFLICT (run, name) DO UPDATE SET value = excluded.value`, in.run, name, v)
}

// PutArtifact implements store.RunTx.
func (in *ingest) PutArtifact(ctx context.Context, a *store.ArtifactRow) error {
	return in.exec(ctx, `INSERT INTO artifacts (run, name, sha256, size, content_type, result, time) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (run, name) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size, content_type = excluded.content_type, result = artifacts.result OR excluded.result, time = excluded.time`,
		in.run, a.Name, a.SHA256, a.Size, a.ContentType, a.Result, a.Time)
}

// Series implements store.RunTx.
func (in *ingest) Series(ctx context.Context, key string) (store.SeriesState, error) {
	var st store.SeriesState
	err := in.tx.QueryRow(ctx, `SELECT scalar, n FROM series WHERE run = $1 AND key = $2`, in.run, key).Scan(&st.Scalar, &st.N)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.SeriesState{}, nil
	}
	if err != nil {
		return st, fatal(err)
	}
	st.Exists = true
	return st, nil
}

// CountSeries implements store.RunTx.
func (in *ingest) CountSeries(ctx context.Context) (int, error) {
	return in.count(ctx, `SELECT count(*) FROM series WHERE run = $1`, in.run)
}

// AppendSeries implements store.RunTx: the points go to the tail chunk up
// to store.ChunkPoints, then to new chunks; the series' length and latest
// value follow.
func (in *ingest) AppendSeries(ctx context.Context, key string, st store.SeriesState, c *store.Chunk, step, t int64, latest []byte) error {
	n := st.N + int64(c.Len())
	if err := in.appendSeries(ctx, key, st, c); err != nil {
		return err
	}
	if err := in.exec(ctx, `UPDATE series SET n = $1 WHERE run = $2 AND key = $3`, n, in.run, key); err != nil {
		return err
	}
	return in.exec(ctx, `INSERT INTO latest (run, key, step, time, value, num) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (run, key) DO UPDATE SET step = excluded.step, time = excluded.time, value = excluded.value, num = excluded.num`, in.run, key, step, t, latest, store.NumOf(latest))
}

// appendSeries appends the points of c (all new, in seq order) to a series,
// cut in chunks as store.AppendChunks does.
func (in *ingest) appendSeries(ctx context.Context, key string, st store.SeriesState, c *store.Chunk) error {
	if !st.Exists {
		if err := in.exec(ctx, `INSERT INTO series (run, key, scalar, n) VALUES ($1, $2, $3, 0)`, in.run, key, c.Scalar()); err != nil {
			return err
		}
	}
	if err := store.AppendChunks(ctx, in, key, st.Exists, c); err != nil {
		var fe *fatalError
		if errors.As(err, &fe) {
			return err
		}
		return fatal(fmt.Errorf("run %s: %w", in.run, err))
	}
	return nil
}

// TailChunks implements store.ChunkTx.
func (in *ingest) TailChunks(ctx context.Context, key string, limit int) ([]store.StoredChunk, error) {
	rows, err := in.tx.Query(ctx, `SELECT id, n, data FROM chunks WHERE run = $1 AND key = $2 ORDER BY first_seq DESC LIMIT $3`, in.run, key, limit)
	if err != nil {
		return nil, fatal(err)
	}
	defer rows.Close()
	var out []store.StoredChunk
	for rows.Next() {
		var ch store.StoredChunk
		if err := rows.Scan(&ch.ID, &ch.N, &ch.Data); err != nil {
			return nil, fatal(err)
		}
		out = append(out, ch)
	}
	return out, fatal(rows.Err())
}

// WriteChunk implements store.ChunkTx. A new chunk is unique by (run,
// key, first_seq): the database refuses one written twice.
func (in *ingest) WriteChunk(ctx context.Context, key string, id int64, c *store.Chunk) error {
	data := c.AppendEncoded(nil)
	var summary []byte
	if c.Scalar() {
		summary = c.AppendSummary(nil)
	}
	minStep, maxStep := slices.Min(c.Step), slices.Max(c.Step)
	if id == 0 {
		return in.exec(ctx, `INSERT INTO chunks (run, key, first_seq, last_seq, min_step, max_step, n, data, summary) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			in.run, key, c.Seq[0], c.Seq[len(c.Seq)-1], minStep, maxStep, c.Len(), data, summary)
	}
	return in.exec(ctx, `UPDATE chunks SET last_seq = $1, min_step = $2, max_step = $3, n = $4, data = $5, summary = $6 WHERE id = $7`,
		c.Seq[len(c.Seq)-1], minStep, maxStep, c.Len(), data, summary, id)
}

// DeleteChunks implements store.ChunkTx.
func (in *ingest) DeleteChunks(ctx context.Context, key string, ids []int64) error {
	return in.exec(ctx, `DELETE FROM chunks WHERE run = $1 AND key = $2 AND id = ANY($3)`, in.run, key, ids)
}

// Edit implements store.Store.
func (s *Store) Edit(ctx context.Context, run string, recs []store.Record) error {
	in, err := s.begin(ctx, run)
	if err != nil {
		return unavailable(err)
	}
	defer in.rollback(ctx)
	if err := store.ApplyEdit(ctx, in, s.limits, run, recs); err != nil {
		return unavailable(err)
	}
	if err := s.notify(ctx, in.tx, store.ChangeEdit, 0, run); err != nil {
		return unavailable(fatal(err))
	}
	return unavailable(in.commit(ctx))
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
	defer in.rollback(ctx)
	if err := store.ApplyCreate(ctx, in, s.limits, id, project, name); err != nil {
		return unavailable(err)
	}
	if err := s.notify(ctx, in.tx, store.ChangeEdit, 0, id); err != nil {
		return unavailable(fatal(err))
	}
	return unavailable(in.commit(ctx))
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
	defer in.rollback(ctx)
	last, err := store.ApplyResume(ctx, in, id)
	if err != nil {
		return 0, unavailable(err)
	}
	if err := s.notify(ctx, in.tx, store.ChangeEdit, last, id); err != nil {
		return 0, unavailable(fatal(err))
	}
	return last, unavailable(in.commit(ctx))
}
