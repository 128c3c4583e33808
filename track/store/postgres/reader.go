package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/sigoco/sigoco/track/store"
)

// The read side is store.Reader; this is its connection (the pool, ?
// placeholders rebound) and dialect.

var dialect = store.Dialect{
	Name:  "postgres",
	True:  "true",
	False: "false",
	NotesQuery: `SELECT time, octet_length(text), substr(convert_to(text, 'UTF8'), 1, ?)
		FROM notes WHERE run = ? ORDER BY id DESC LIMIT ?`,
	HexByte1: `upper(encode(substr(%s, 1, 1), 'hex'))`,
}

// querier is store.Querier over the pool.
type querier struct{ s *Store }

func (q querier) Query(ctx context.Context, sql string, args ...any) (store.Rows, error) {
	rows, err := q.s.query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (q querier) QueryRow(ctx context.Context, sql string, args ...any) store.Row {
	return pgRow{q.s.queryRow(ctx, sql, args...)}
}

func (q querier) BlobState(ctx context.Context, sha string) (store.BlobState, error) {
	return q.s.BlobState(ctx, sha)
}

type pgRow struct{ pgx.Row }

func (r pgRow) Scan(dest ...any) error {
	err := r.Row.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNoRows
	}
	return err
}
