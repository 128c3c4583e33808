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

// querier is store.Querier over the pool. A read that fails because the
// database ended its connection (a restart, a failover,
// pg_terminate_backend: the pool may still hold such connections, idle)
// is tried again on another connection, up to the pool's size: reads are
// idempotent.
type querier struct{ s *Store }

// again reports whether a read that failed with err is tried again.
func (q querier) again(ctx context.Context, err error, tries int) bool {
	var ue *store.UnavailableError
	return err != nil && ctx.Err() == nil && tries <= int(q.s.pool.Config().MaxConns) && errors.As(unavailable(err), &ue)
}

func (q querier) Query(ctx context.Context, sql string, args ...any) (store.Rows, error) {
	for tries := 1; ; tries++ {
		rows, err := q.s.query(ctx, sql, args...)
		if err == nil {
			return rows, nil
		}
		if !q.again(ctx, err, tries) {
			return nil, err
		}
	}
}

func (q querier) QueryRow(ctx context.Context, sql string, args ...any) store.Row {
	return pgRow{q: q, ctx: ctx, sql: sql, args: args}
}

func (q querier) BlobState(ctx context.Context, sha string) (store.BlobState, error) {
	return q.s.BlobState(ctx, sha)
}

// pgRow runs its query when scanned (so that a failed read is tried
// again, as Query does).
type pgRow struct {
	q    querier
	ctx  context.Context
	sql  string
	args []any
}

func (r pgRow) Scan(dest ...any) error {
	for tries := 1; ; tries++ {
		err := r.q.s.queryRow(r.ctx, r.sql, r.args...).Scan(dest...)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNoRows
		}
		if !r.q.again(r.ctx, err, tries) {
			return err
		}
	}
}
