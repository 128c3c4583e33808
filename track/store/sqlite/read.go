package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sigoco/sigoco/track/store"
)

func ns(t int64) store.Time {
	return store.Time(float64(t) / 1e9)
}

const runCols = `id, project, name, status, message, crashed, progress, step, start_time, update_time, end_time, high_seq, parent`

func scanRun(sc interface{ Scan(...any) error }) (store.Run, error) {
	var r store.Run
	var crashed int
	var start, upd, end int64
	err := sc.Scan(&r.ID, &r.Project, &r.Name, &r.Status, &r.Message, &crashed, &r.Progress, &r.Step, &start, &upd, &end, &r.HighSeq, &r.Parent)
	if crashed != 0 && !r.Status.Final() {
		r.Status = store.StatusCrashed
	}
	r.Start, r.Updated, r.End = ns(start), ns(upd), ns(end)
	r.Tags = []string{}
	return r, err
}

// listView bounds the latest values of each run of a page of ListRuns:
// a page lists up to 1,000 runs.
var listView = store.View{MaxValue: 1 << 10, MaxTotal: 64 << 10}

// ListRuns implements store.Store. Each run's latest values are bounded
// by listView (a larger one is a marker, store.IsTruncated).
func (s *Store) ListRuns(ctx context.Context, f store.RunFilter) (*store.RunPage, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	if f.Project != "" {
		add("r.project = ?", f.Project)
	}
	if f.Parent != "" {
		add("r.parent = ?", f.Parent)
	}
	if len(f.Status) > 0 {
		var ors []string
		for _, st := range f.Status {
			if st == store.StatusCrashed {
				ors = append(ors, "(r.crashed = 1 AND r.status NOT IN ('finished','stopped','failed'))")
			} else {
				ors = append(ors, "(r.status = ? AND (r.crashed = 0 OR r.status IN ('finished','stopped','failed')))")
				args = append(args, string(st))
			}
		}
		where = append(where, "("+strings.Join(ors, " OR ")+")")
	}
	for _, t := range f.Tags {
		add("EXISTS (SELECT 1 FROM tags t WHERE t.run = r.id AND t.tag = ?)", t)
	}
	for _, p := range f.Params {
		if p.Eq != nil {
			if num, ok := store.ScalarOf(p.Eq); ok {
				add("EXISTS (SELECT 1 FROM params p WHERE p.run = r.id AND p.key = ? AND p.num = ?)", p.Key, num)
			} else {
				v, err := store.EncodeValue(p.Eq)
				if err != nil {
					return nil, err
				}
				add("EXISTS (SELECT 1 FROM params p WHERE p.run = r.id AND p.key = ? AND p.value = ?)", p.Key, v)
			}
		}
		if p.Min != nil {
			add("EXISTS (SELECT 1 FROM params p WHERE p.run = r.id AND p.key = ? AND p.num >= ?)", p.Key, *p.Min)
		}
		if p.Max != nil {
			add("EXISTS (SELECT 1 FROM params p WHERE p.run = r.id AND p.key = ? AND p.num <= ?)", p.Key, *p.Max)
		}
		if p.Eq == nil && p.Min == nil && p.Max == nil {
			add("EXISTS (SELECT 1 FROM params p WHERE p.run = r.id AND p.key = ?)", p.Key)
		}
	}
	if !f.Since.IsZero() {
		add("r.start_time >= ?", f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		add("r.start_time < ?", f.Until.UnixNano())
	}
	if f.Text != "" {
		pat := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(f.Text)) + "%"
		add(`(lower(r.name) LIKE ? ESCAPE '\' OR EXISTS (SELECT 1 FROM notes n WHERE n.run = r.id AND lower(n.text) LIKE ? ESCAPE '\'))`, pat, pat)
	}
	if f.After != "" {
		add("r.id < ?", f.After)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	q := "SELECT " + prefixCols("r.", runCols) + " FROM runs r"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY r.id DESC LIMIT ?"
	args = append(args, limit+1)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	defer rows.Close()
	page := &store.RunPage{Runs: []store.Run{}}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		page.Runs = append(page.Runs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if len(page.Runs) > limit {
		page.Runs = page.Runs[:limit]
		page.Next = page.Runs[limit-1].ID
	}
	for i := range page.Runs {
		r := &page.Runs[i]
		if err := s.loadTags(ctx, r); err != nil {
			return nil, err
		}
		if _, err := s.viewLatest(ctx, r, newBudget(listView)); err != nil {
			return nil, err
		}
	}
	return page, nil
}

func prefixCols(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}

func (s *Store) loadTags(ctx context.Context, r *store.Run) error {
	rows, err := s.r.QueryContext(ctx, `SELECT tag FROM tags WHERE run = ? ORDER BY tag`, r.ID)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return fmt.Errorf("sqlite: %w", err)
		}
		r.Tags = append(r.Tags, t)
	}
	return rows.Err()
}

// GetRun implements store.Store: ViewRun with no bounds.
func (s *Store) GetRun(ctx context.Context, id string) (*store.Run, error) {
	return s.ViewRun(ctx, id, store.View{})
}

// OpenRuns implements store.Store.
func (s *Store) OpenRuns(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM runs WHERE status NOT IN ('finished','stopped','failed') AND crashed = 0`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// DeleteRun implements store.Store.
func (s *Store) DeleteRun(ctx context.Context, id string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM runs WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w %q", store.ErrUnknownRun, id)
	}
	// The tombstone: the id stays deleted (store.ErrDeletedRun).
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO deleted_runs (id, time) VALUES (?, ?)`, id, time.Now().UnixNano()); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	for _, t := range []string{"params", "metadata", "tags", "notes", "series", "chunks", "latest", "logs", "artifacts", "counts"} {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t+" WHERE run = ?", id); err != nil {
			return fmt.Errorf("sqlite: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}
