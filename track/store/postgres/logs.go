package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"

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
		// PostgreSQL's text holds only valid UTF-8 (and no NUL).
		msg := strings.ToValidUTF8(store.TruncateText(l.Message, s.limits.MaxValueSize), "\uFFFD")
		msg = strings.ReplaceAll(msg, "\x00", "\uFFFD")
		logger := strings.ReplaceAll(strings.ToValidUTF8(l.Logger, "\uFFFD"), "\x00", "\uFFFD")
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
	if err := s.exists(ctx, q.Run); err != nil {
		return nil, err
	}
	var sql string
	var args []any
	if q.Tail {
		sql = `SELECT id, time, level, logger, message, attrs FROM logs WHERE run = $1 AND level >= $2 ORDER BY id DESC LIMIT $3`
		args = []any{q.Run, int64(minLevel), limit}
	} else {
		sql = `SELECT id, time, level, logger, message, attrs FROM logs WHERE run = $1 AND level >= $2 AND id > $3 ORDER BY id LIMIT $4`
		args = []any{q.Run, int64(minLevel), q.After, limit + 1}
	}
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
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
			return nil, fmt.Errorf("postgres: %w", err)
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
		return nil, fmt.Errorf("postgres: %w", err)
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
