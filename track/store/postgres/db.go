package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sigoco/sigoco/track/store"
)

// rebind turns the ? placeholders of q into PostgreSQL's $1, $2, …: the
// read queries are written as the SQLite store's are. No query here has a
// ? of its own (in a literal or an operator).
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

func (s *Store) query(ctx context.Context, q string, args ...any) (pgx.Rows, error) {
	return s.pool.Query(ctx, rebind(q), args...)
}

func (s *Store) queryRow(ctx context.Context, q string, args ...any) pgx.Row {
	return s.pool.QueryRow(ctx, rebind(q), args...)
}

// exists returns an error wrapping store.ErrUnknownRun when run is not
// stored (or the database's error when it cannot tell).
func (s *Store) exists(ctx context.Context, run string) error {
	var ok bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM runs WHERE id = $1)`, run).Scan(&ok); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if !ok {
		return fmt.Errorf("%w %q", store.ErrUnknownRun, run)
	}
	return nil
}
