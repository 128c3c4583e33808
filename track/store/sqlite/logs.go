package sqlite

import (
	"context"
	"fmt"
	"slices"

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
		msg := l.Message
		if len(msg) > s.limits.MaxValueSize {
			msg = msg[:s.limits.MaxValueSize]
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO logs (run, time, level, logger, message, attrs) VALUES (?, ?, ?, ?, ?, ?)`,
			l.Run, l.Time.UnixNano(), l.Level, l.Logger, msg, attrs); err != nil {
			return 0, fmt.Errorf("sqlite: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	return dropped, nil
}

// maxLogPage bounds the bytes of messages and attributes one page of Logs
// returns (a record may hold 1 MiB: 10,000 of them would be 10 GB); a page
// holds at least one record.
const maxLogPage = 4 << 20

// Logs implements store.Store. A page ends early, with Next set, once its
// records hold maxLogPage bytes (a tail: the newest that fit).
func (s *Store) Logs(ctx context.Context, q store.LogQuery) (*store.LogPage, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	limit = min(limit, 10000)
	minLevel := q.MinLevel
	if minLevel == 0 {
		minLevel = -1 << 30 // every level (slog's LevelInfo is 0)
	}
	var one int
	if err := s.r.QueryRowContext(ctx, `SELECT 1 FROM runs WHERE id = ?`, q.Run).Scan(&one); err != nil {
		return nil, fmt.Errorf("%w %q", store.ErrUnknownRun, q.Run)
	}
	var sql string
	var args []any
	if q.Tail {
		sql = `SELECT id, time, level, logger, message, attrs FROM logs WHERE run = ? AND level >= ? ORDER BY id DESC LIMIT ?`
		args = []any{q.Run, minLevel, limit}
	} else {
		sql = `SELECT id, time, level, logger, message, attrs FROM logs WHERE run = ? AND level >= ? AND id > ? ORDER BY id LIMIT ?`
		args = []any{q.Run, minLevel, q.After, limit + 1}
	}
	rows, err := s.r.QueryContext(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	defer rows.Close()
	page := &store.LogPage{Logs: []store.LogEntry{}}
	bytes, full := 0, false
	for rows.Next() {
		if bytes >= maxLogPage {
			full = true
			break
		}
		var l store.LogEntry
		var t int64
		var attrs []byte
		if err := rows.Scan(&l.ID, &t, &l.Level, &l.Logger, &l.Message, &attrs); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		l.Run, l.Time = q.Run, ns(t)
		if len(attrs) > 0 {
			if v, err := store.DecodeValue(attrs); err == nil {
				if m, ok := v.(map[string]any); ok {
					l.Attrs = m
				}
			}
		}
		page.Logs = append(page.Logs, l)
		bytes += len(l.Message) + len(l.Logger) + len(attrs)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if q.Tail {
		slices.Reverse(page.Logs) // read newest first
		return page, nil
	}
	if len(page.Logs) > limit {
		page.Logs = page.Logs[:limit]
		full = true
	}
	if full {
		page.Next = page.Logs[len(page.Logs)-1].ID
	}
	return page, nil
}
