package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
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
