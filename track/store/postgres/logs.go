package postgres

import (
	"context"
	"fmt"

	"github.com/sigoco/sigoco/track/store"
)

// appendLogs is AppendLogs (unavailable.go) before its errors are classified.
func (s *Store) appendLogs(ctx context.Context, logs []store.LogEntry) (int, error) {
	if len(logs) == 0 {
		return 0, nil
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("postgres: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	known := map[string]bool{}
	dropped := 0
	for i := range logs {
		l := &logs[i]
		ok, seen := known[l.Run]
		if !seen {
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM runs WHERE id = $1)`, l.Run).Scan(&ok); err != nil {
				return 0, fmt.Errorf("postgres: %w", err)
			}
			known[l.Run] = ok
		}
		if !ok {
			dropped++
			continue
		}
		var attrs []byte
		if len(l.Attrs) > 0 {
			if attrs, err = store.EncodeValue(l.Attrs); err != nil {
				attrs = nil
			}
		}
		msg, logger := store.LogText(l, s.limits)
		if _, err := tx.Exec(ctx, `INSERT INTO logs (run, time, level, logger, message, attrs) VALUES ($1, $2, $3, $4, $5, $6)`,
			l.Run, l.Time.UnixNano(), int64(l.Level), logger, msg, attrs); err != nil {
			return 0, fmt.Errorf("postgres: %w", err)
		}
	}
	for run, ok := range known {
		if ok {
			if err := s.notify(ctx, tx, store.ChangeLogs, 0, run); err != nil {
				return 0, fmt.Errorf("postgres: %w", err)
			}
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("postgres: %w", err)
	}
	return dropped, nil
}
