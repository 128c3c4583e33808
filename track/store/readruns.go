package store

import (
	"context"
	"strings"
)

// runCols are the columns of the runs table scanRun reads, in its order.
const runCols = `id, project, name, status, message, crashed, archived, progress, step, start_time, update_time, end_time, high_seq, parent`

// finalIn is the SQL list of the final statuses.
const finalIn = `('finished','stopped','failed')`

func scanRun(sc interface{ Scan(...any) error }) (Run, error) {
	var r Run
	var crashed bool
	var start, upd, end int64
	err := sc.Scan(&r.ID, &r.Project, &r.Name, &r.Status, &r.Message, &crashed, &r.Archived, &r.Progress, &r.Step, &start, &upd, &end, &r.HighSeq, &r.Parent)
	if crashed && !r.Status.Final() {
		r.Status = StatusCrashed
	}
	r.Start, r.Updated, r.End = nsTime(start), nsTime(upd), nsTime(end)
	r.Tags = []string{}
	return r, err
}

// listView bounds the latest values of each run of a page of ListRuns:
// a page lists up to 1,000 runs.
var listView = View{MaxValue: 1 << 10, MaxTotal: 64 << 10}

// statusCond is the condition "the run's status is st" on runs r, with
// crashed runs (crashed and not final) their own status.
func (rd *Reader) statusCond(st Status) (string, []any) {
	if st == StatusCrashed {
		return "(r.crashed = " + rd.d.True + " AND r.status NOT IN " + finalIn + ")", nil
	}
	return "(r.status = ? AND (r.crashed = " + rd.d.False + " OR r.status IN " + finalIn + "))", []any{string(st)}
}

// ListRuns implements Store. Each run's latest values are bounded by
// listView (a larger one is a marker, IsTruncated). Archived runs are
// listed only with f.Archived.
func (rd *Reader) ListRuns(ctx context.Context, f RunFilter) (*RunPage, error) {
	if !filterStorable(&f) {
		return &RunPage{Runs: []Run{}}, nil // it names text no run holds (text.go)
	}
	where, args, err := rd.runConds(f)
	if err != nil {
		return nil, err
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
	rows, err := rd.q.Query(ctx, q, args...)
	if err != nil {
		return nil, rd.fail(err)
	}
	defer rows.Close()
	page := &RunPage{Runs: []Run{}}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, rd.fail(err)
		}
		page.Runs = append(page.Runs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, rd.fail(err)
	}
	if len(page.Runs) > limit {
		page.Runs = page.Runs[:limit]
		page.Next = page.Runs[limit-1].ID
	}
	for i := range page.Runs {
		r := &page.Runs[i]
		if err := rd.loadTags(ctx, r); err != nil {
			return nil, err
		}
		if _, err := rd.viewLatest(ctx, r, newBudget(listView)); err != nil {
			return nil, err
		}
	}
	return page, nil
}

// runConds are the SQL conditions (joined by AND) on runs r that f
// asks for, and their arguments in order.
func (rd *Reader) runConds(f RunFilter) (where []string, args []any, err error) {
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	if f.Project != "" {
		add("r.project = ?", f.Project)
	}
	if f.Parent != "" {
		add("r.parent = ?", f.Parent)
	}
	if !f.Archived {
		add("r.archived = " + rd.d.False)
	}
	if len(f.Status) > 0 {
		var ors []string
		for _, st := range f.Status {
			c, a := rd.statusCond(st)
			ors = append(ors, c)
			args = append(args, a...)
		}
		where = append(where, "("+strings.Join(ors, " OR ")+")")
	}
	for _, t := range f.Tags {
		add("EXISTS (SELECT 1 FROM tags t WHERE t.run = r.id AND t.tag = ?)", t)
	}
	for _, p := range f.Params {
		if p.Eq != nil {
			if num, ok := ScalarOf(p.Eq); ok {
				add("EXISTS (SELECT 1 FROM params p WHERE p.run = r.id AND p.key = ? AND p.num = ?)", p.Key, num)
			} else {
				v, err := EncodeValue(p.Eq)
				if err != nil {
					return nil, nil, err
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
		pat := likePattern(f.Text)
		add(`(lower(r.name) LIKE ? ESCAPE '\' OR EXISTS (SELECT 1 FROM notes n WHERE n.run = r.id AND lower(n.text) LIKE ? ESCAPE '\'))`, pat, pat)
	}
	if f.After != "" {
		add("r.id < ?", f.After)
	}
	return where, args, nil
}

// likePattern is the LIKE pattern (escape \) matching a case-insensitive
// substring s (compared with lower()).
func likePattern(s string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(s)) + "%"
}

func prefixCols(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}

func (rd *Reader) loadTags(ctx context.Context, r *Run) error {
	rows, err := rd.q.Query(ctx, `SELECT tag FROM tags WHERE run = ? ORDER BY tag`, r.ID)
	if err != nil {
		return rd.fail(err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return rd.fail(err)
		}
		r.Tags = append(r.Tags, t)
	}
	return rows.Err()
}

// GetRun implements Store: ViewRun with no bounds.
func (rd *Reader) GetRun(ctx context.Context, id string) (*Run, error) {
	return rd.ViewRun(ctx, id, View{})
}

// OpenRuns implements Store.
func (rd *Reader) OpenRuns(ctx context.Context) ([]string, error) {
	rows, err := rd.q.Query(ctx, `SELECT id FROM runs WHERE status NOT IN `+finalIn+` AND crashed = `+rd.d.False)
	if err != nil {
		return nil, rd.fail(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, rd.fail(err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// filterStorable reports whether every text f names can be stored: a
// filter naming other text selects nothing.
func filterStorable(f *RunFilter) bool {
	ok := StorableText(f.Project) && StorableText(f.Text) && StorableText(f.Parent) && StorableText(f.After)
	for _, t := range f.Tags {
		ok = ok && StorableText(t)
	}
	for _, p := range f.Params {
		ok = ok && StorableText(p.Key)
	}
	return ok
}
