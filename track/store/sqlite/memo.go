package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sigoco/sigoco/track/store"
)

// memoSchema is migration 3: the entries of memo's shared storage
// (store.MemoStore). A rowid table, as values may be megabytes.
const memoSchema = `CREATE TABLE memo (
		id INTEGER PRIMARY KEY,
		project TEXT NOT NULL, name TEXT NOT NULL, params TEXT NOT NULL,
		value BLOB NOT NULL, crc INTEGER NOT NULL,
		computed INTEGER NOT NULL, duration INTEGER NOT NULL, run TEXT NOT NULL,
		stored INTEGER NOT NULL);
	CREATE UNIQUE INDEX memo_key ON memo(project, name, params);`

var _ store.MemoStore = (*Store)(nil)

// GetMemo returns a memo entry or an error wrapping store.ErrNotFound.
func (s *Store) GetMemo(ctx context.Context, k store.MemoKey) (*store.MemoEntry, error) {
	e := &store.MemoEntry{Project: k.Project, Name: k.Name, Params: k.Params}
	var crc int64
	err := s.r.QueryRowContext(ctx, `SELECT value, crc, computed, duration, run, stored FROM memo WHERE project = ? AND name = ? AND params = ?`,
		k.Project, k.Name, k.Params).Scan(&e.Value, &crc, &e.ComputedNs, &e.DurationNs, &e.Run, &e.StoredNs)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: memo entry %s/%s(%s)", store.ErrNotFound, k.Project, k.Name, k.Params)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	e.CRC = uint32(crc)
	if e.Value == nil {
		e.Value = []byte{}
	}
	return e, nil
}

// MemoExists reports whether a memo entry is stored.
func (s *Store) MemoExists(ctx context.Context, k store.MemoKey) (bool, error) {
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM memo WHERE project = ? AND name = ? AND params = ?`, k.Project, k.Name, k.Params).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlite: %w", err)
	}
	return true, nil
}

// MemoSize returns the size of a memo entry's value, without reading it,
// or an error wrapping store.ErrNotFound.
func (s *Store) MemoSize(ctx context.Context, k store.MemoKey) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, `SELECT length(value) FROM memo WHERE project = ? AND name = ? AND params = ?`, k.Project, k.Name, k.Params).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%w: memo entry %s/%s(%s)", store.ErrNotFound, k.Project, k.Name, k.Params)
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
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
	value := e.Value
	if value == nil {
		value = []byte{}
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO memo (project, name, params, value, crc, computed, duration, run, stored)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (project, name, params) DO UPDATE SET value = excluded.value, crc = excluded.crc,
			computed = excluded.computed, duration = excluded.duration, run = excluded.run, stored = excluded.stored`,
		e.Project, e.Name, e.Params, value, int64(e.CRC), e.ComputedNs, e.DurationNs, e.Run, time.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}

// DeleteMemo removes a memo entry (absent is fine).
func (s *Store) DeleteMemo(ctx context.Context, k store.MemoKey) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM memo WHERE project = ? AND name = ? AND params = ?`, k.Project, k.Name, k.Params); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}
