package store

import (
	"context"
	"slices"
)

// maxLogPage bounds the bytes of messages and attributes one page of Logs
// returns (a record may hold 1 MiB: 10,000 of them would be 10 GB); a page
// holds at least one record.
const maxLogPage = 4 << 20

// Logs implements Store. A page ends early, with Next set, once its
// records hold maxLogPage bytes (a tail: the newest that fit).
func (rd *Reader) Logs(ctx context.Context, q LogQuery) (*LogPage, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	limit = min(limit, 10000)
	minLevel := q.MinLevel
	if minLevel == 0 {
		minLevel = -1 << 30 // every level (slog's LevelInfo is 0)
	}
	if err := rd.exists(ctx, q.Run); err != nil {
		return nil, err
	}
	var sql string
	var args []any
	if q.Tail {
		sql = `SELECT id, time, level, logger, message, attrs FROM logs WHERE run = ? AND level >= ? ORDER BY id DESC LIMIT ?`
		args = []any{q.Run, int64(minLevel), limit}
	} else {
		sql = `SELECT id, time, level, logger, message, attrs FROM logs WHERE run = ? AND level >= ? AND id > ? ORDER BY id LIMIT ?`
		args = []any{q.Run, int64(minLevel), q.After, limit + 1}
	}
	rows, err := rd.q.Query(ctx, sql, args...)
	if err != nil {
		return nil, rd.fail(err)
	}
	defer rows.Close()
	page := &LogPage{Logs: []LogEntry{}}
	bytes, full := 0, false
	for rows.Next() {
		if bytes >= maxLogPage {
			full = true
			break
		}
		var l LogEntry
		var t int64
		var attrs []byte
		if err := rows.Scan(&l.ID, &t, &l.Level, &l.Logger, &l.Message, &attrs); err != nil {
			return nil, rd.fail(err)
		}
		l.Run, l.Time = q.Run, nsTime(t)
		if len(attrs) > 0 {
			if v, err := DecodeValue(attrs); err == nil {
				if m, ok := v.(map[string]any); ok {
					l.Attrs = m
				}
			}
		}
		page.Logs = append(page.Logs, l)
		bytes += len(l.Message) + len(l.Logger) + len(attrs)
	}
	if err := rows.Err(); err != nil {
		return nil, rd.fail(err)
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
