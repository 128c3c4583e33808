package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/sigoco/sigoco/track/store"
)

// The read side is store.Reader; this is its SQL connection (the read-only
// pool) and dialect.

var dialect = store.Dialect{
	Name:  "sqlite",
	True:  "1",
	False: "0",
	NotesQuery: `SELECT time, length(CAST(text AS BLOB)), CAST(substr(CAST(text AS BLOB), 1, ?) AS TEXT)
		FROM notes WHERE run = ? ORDER BY id DESC LIMIT ?`,
	HexByte1: `hex(substr(%s, 1, 1))`,
}

// querier is store.Querier over the read-only pool.
type querier struct{ s *Store }

func (q querier) Query(ctx context.Context, sql string, args ...any) (store.Rows, error) {
	rows, err := q.s.r.QueryContext(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (q querier) QueryRow(ctx context.Context, sql string, args ...any) store.Row {
	return sqlRow{q.s.r.QueryRowContext(ctx, sql, args...)}
}

func (q querier) BlobState(ctx context.Context, sha string) (store.BlobState, error) {
	return q.s.BlobState(ctx, sha)
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }

type sqlRow struct{ *sql.Row }

func (r sqlRow) Scan(dest ...any) error {
	err := r.Row.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNoRows
	}
	return err
}
