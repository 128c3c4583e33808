package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigoco/sigoco/track/store"
)

// memoSchema is migration 2: the entries of memo's shared storage
// (store.MemoStore). The params are bytes: their canonical text is the
// client's, and PostgreSQL's text holds only UTF-8 without NUL.
const memoSchema = `CREATE TABLE memo (
		project TEXT NOT NULL, name TEXT NOT NULL, params BYTEA NOT NULL,
		value BYTEA NOT NULL, crc BIGINT NOT NULL,
		computed BIGINT NOT NULL, duration BIGINT NOT NULL, run TEXT NOT NULL,
		stored BIGINT NOT NULL,
		PRIMARY KEY (project, name, params));`

var _ store.MemoStore = (*Store)(nil)

// GetMemo returns a memo entry or an error wrapping store.ErrNotFound.
func (s *Store) GetMemo(ctx context.Context, k store.MemoKey) (*store.MemoEntry, error) {
	if !k.Storable() { // PostgreSQL's text cannot hold it, nor SQLite's store it (store/text.go)
		return nil, fmt.Errorf("%w: memo entry %s/%s(%s)", store.ErrNotFound, k.Project, k.Name, k.Params)
	}
	e := &store.MemoEntry{Project: k.Project, Name: k.Name, Params: k.Params}
	var crc int64
	err := s.pool.QueryRow(ctx, `SELECT value, crc, computed, duration, run, stored FROM memo WHERE project = $1 AND name = $2 AND params = $3`,
		k.Project, k.Name, []byte(k.Params)).Scan(&e.Value, &crc, &e.ComputedNs, &e.DurationNs, &e.Run, &e.StoredNs)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: memo entry %s/%s(%s)", store.ErrNotFound, k.Project, k.Name, k.Params)
	}
	if err != nil {
		return nil, unavailable(fmt.Errorf("postgres: %w", err))
	}
	e.CRC = uint32(crc)
	if e.Value == nil {
		e.Value = []byte{}
	}
	return e, nil
}

// MemoExists reports whether a memo entry is stored.
func (s *Store) MemoExists(ctx context.Context, k store.MemoKey) (bool, error) {
	if !k.Storable() {
		return false, nil
	}
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM memo WHERE project = $1 AND name = $2 AND params = $3)`, k.Project, k.Name, []byte(k.Params)).Scan(&ok)
	if err != nil {
		return false, unavailable(fmt.Errorf("postgres: %w", err))
	}
	return ok, nil
}

// MemoSize returns the size of a memo entry's value, without reading it,
// or an error wrapping store.ErrNotFound.
func (s *Store) MemoSize(ctx context.Context, k store.MemoKey) (int64, error) {
	if !k.Storable() {
		return 0, fmt.Errorf("%w: memo entry %s/%s(%s)", store.ErrNotFound, k.Project, k.Name, k.Params)
	}
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT length(value) FROM memo WHERE project = $1 AND name = $2 AND params = $3`, k.Project, k.Name, []byte(k.Params)).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("%w: memo entry %s/%s(%s)", store.ErrNotFound, k.Project, k.Name, k.Params)
	}
	if err != nil {
		return 0, unavailable(fmt.Errorf("postgres: %w", err))
	}
	return n, nil
}

// PutMemo stores a memo entry, replacing one with the same key. The key
// is checked against the store's limits (store.Limits.CheckMemoKey), the
// run against MaxKeyLen; the value's size is the caller's to bound.
func (s *Store) PutMemo(ctx context.Context, e *store.MemoEntry) error {
	if err := s.limits.CheckMemoKey(e.Key()); err != nil {
		return err
	}
	if len(e.Run) > s.limits.MaxKeyLen {
		return &store.LimitError{Limit: "MaxKeyLen", Item: "memo run", Size: int64(len(e.Run)), Max: int64(s.limits.MaxKeyLen)}
	}
	if e.Run != "" {
		if err := s.limits.CheckKey("memo run", e.Run); err != nil {
			return err
		}
	}
	value := e.Value
	if value == nil {
		value = []byte{}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO memo (project, name, params, value, crc, computed, duration, run, stored)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (project, name, params) DO UPDATE SET value = excluded.value, crc = excluded.crc,
			computed = excluded.computed, duration = excluded.duration, run = excluded.run, stored = excluded.stored`,
		e.Project, e.Name, []byte(e.Params), value, int64(e.CRC), e.ComputedNs, e.DurationNs, e.Run, time.Now().UnixNano())
	if err != nil {
		return unavailable(fmt.Errorf("postgres: %w", err))
	}
	return nil
}

// DeleteMemo removes a memo entry (absent is fine).
func (s *Store) DeleteMemo(ctx context.Context, k store.MemoKey) error {
	if !k.Storable() {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM memo WHERE project = $1 AND name = $2 AND params = $3`, k.Project, k.Name, []byte(k.Params)); err != nil {
		return unavailable(fmt.Errorf("postgres: %w", err))
	}
	return nil
}
