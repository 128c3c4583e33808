package sqlite

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
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	defer tx.Rollback()
	known := map[string]bool{}
	dropped := 0
	for i := range logs {
		l := &logs[i]
		ok, seen := known[l.Run]
		if !seen {
			var one int
			ok = tx.QueryRowContext(ctx, `SELECT 1 FROM runs WHERE id = ?`, l.Run).Scan(&one) == nil
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
		if _, err := tx.ExecContext(ctx, `INSERT INTO logs (run, time, level, logger, message, attrs) VALUES (?, ?, ?, ?, ?, ?)`,
			l.Run, l.Time.UnixNano(), l.Level, logger, msg, attrs); err != nil {
			return 0, fmt.Errorf("sqlite: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	return dropped, nil
}
