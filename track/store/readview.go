package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Bounded reads (View). A bounded read never loads a value it will
// not return: a first query reads each entry's key, size and first bytes
// (enough for its marker), a second reads the values that fit, so the
// memory a read takes follows what it returns.

// budget is what is left of a View's MaxTotal during one read.
type budget struct {
	v    View
	left int64 // < 0: unbounded
}

func newBudget(v View) *budget {
	b := &budget{v: v, left: -1}
	if v.MaxTotal > 0 {
		b.left = int64(v.MaxTotal)
	}
	return b
}

// take reports whether a value of n bytes is returned in full, and spends
// it. Once a value does not fit, every later one is a marker (so the
// values returned are a prefix of the keys: one query reads them).
func (b *budget) take(n int64) bool {
	if b.v.MaxValue > 0 && n > int64(b.v.MaxValue) {
		return false
	}
	if b.left < 0 {
		return true
	}
	if n > b.left {
		b.left = 0
		return false
	}
	b.left -= n
	return true
}

// ViewRun implements Store.
func (rd *Reader) ViewRun(ctx context.Context, id string, v View) (*Run, error) {
	if !StorableText(id) { // no run has it (text.go)
		return nil, fmt.Errorf("%w %q", ErrUnknownRun, id)
	}
	r, err := scanRun(rd.q.QueryRow(ctx, "SELECT "+runCols+" FROM runs WHERE id = ?", id))
	if errors.Is(err, ErrNoRows) {
		return nil, fmt.Errorf("%w %q", ErrUnknownRun, id)
	}
	if err != nil {
		return nil, rd.fail(err)
	}
	if v.MaxValue > 0 {
		r.Message = TruncateText(r.Message, v.MaxValue)
	}
	if err := rd.loadTags(ctx, &r); err != nil {
		return nil, err
	}
	b := newBudget(v)
	omit := func(field string, n int64) {
		if n > 0 {
			if r.Omitted == nil {
				r.Omitted = map[string]int64{}
			}
			r.Omitted[field] += n
		}
	}
	var n int64
	if r.Params, n, err = rd.viewKV(ctx, "params", "key", id, b, ""); err != nil {
		return nil, err
	}
	omit("params", n)
	if r.Metadata, n, err = rd.viewKV(ctx, "metadata", "key", id, b, MetaCredential); err != nil {
		return nil, err
	}
	omit("metadata", n)
	if r.Counts, n, err = rd.viewKV(ctx, "counts", "name", id, b, ""); err != nil {
		return nil, err
	}
	omit("counts", n)
	if n, err = rd.viewLatest(ctx, &r, b); err != nil {
		return nil, err
	}
	omit("latest", n)
	if n, err = rd.viewNotes(ctx, &r, b); err != nil {
		return nil, err
	}
	omit("notes", n)
	if n, err = rd.loadSeriesList(ctx, &r, v.MaxKeys); err != nil {
		return nil, err
	}
	omit("series", n)
	if n, err = rd.loadArtifacts(ctx, &r, v.MaxKeys); err != nil {
		return nil, err
	}
	omit("artifacts", n)
	return &r, nil
}

// entry is one row of a key/value table seen by the first pass.
type entry struct {
	key    string
	size   int64
	prefix []byte
	full   bool
}

// viewKV reads the key → value table table (key column keyCol) of run id
// within b, but for the key hidden ("": none), which no view shows (the
// metadata the server keeps for itself: MetaCredential, read with
// RunValue only); it returns the entries and how many were left out
// (MaxKeys).
func (rd *Reader) viewKV(ctx context.Context, table, keyCol, id string, b *budget, hidden string) (map[string]any, int64, error) {
	where := ""
	if hidden != "" {
		where = " AND " + keyCol + " <> '" + hidden + "'" // a constant of this package, never a client's key
	}
	ents, omitted, err := rd.firstPass(ctx, `SELECT `+keyCol+`, length(value), substr(value, 1, 16) FROM `+table+` WHERE run = ?`+where+` ORDER BY `+keyCol, id, b, nil)
	if err != nil {
		return nil, 0, err
	}
	m := make(map[string]any, len(ents))
	if err := rd.secondPass(ctx, table, keyCol, id, ents, b, m, where); err != nil {
		return nil, 0, err
	}
	return m, omitted, nil
}

// firstPass reads key, size, prefix (then extra columns, scanned into
// what more returns) of each entry, decides which are returned in full
// and counts those beyond MaxKeys.
func (rd *Reader) firstPass(ctx context.Context, q, id string, b *budget, more func() []any) ([]entry, int64, error) {
	rows, err := rd.q.Query(ctx, q, id)
	if err != nil {
		return nil, 0, rd.fail(err)
	}
	defer rows.Close()
	var ents []entry
	var omitted int64
	for rows.Next() {
		if b.v.MaxKeys > 0 && len(ents) >= b.v.MaxKeys {
			omitted++
			continue
		}
		var e entry
		dest := []any{&e.key, &e.size, &e.prefix}
		if more != nil {
			dest = append(dest, more()...)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, 0, rd.fail(err)
		}
		e.full = b.take(e.size)
		ents = append(ents, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, rd.fail(err)
	}
	return ents, omitted, nil
}

// secondPass puts into m the value of each entry: decoded if it is
// returned in full (one query reads those, with the first pass's extra
// condition where), its marker if not.
func (rd *Reader) secondPass(ctx context.Context, table, keyCol, id string, ents []entry, b *budget, m map[string]any, where string) error {
	last := ""
	for _, e := range ents {
		if e.full {
			last = e.key
		} else {
			m[e.key] = Truncated(e.prefix, e.size)
		}
	}
	if last == "" {
		return nil
	}
	q := `SELECT ` + keyCol + `, value FROM ` + table + ` WHERE run = ? AND ` + keyCol + ` <= ?` + where
	args := []any{id, last}
	if b.v.MaxValue > 0 {
		q += ` AND length(value) <= ?`
		args = append(args, b.v.MaxValue)
	}
	rows, err := rd.q.Query(ctx, q, args...)
	if err != nil {
		return rd.fail(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var raw []byte
		if err := rows.Scan(&k, &raw); err != nil {
			return rd.fail(err)
		}
		if _, ok := m[k]; ok {
			continue // a marker (an entry written between the passes)
		}
		if m[k], err = DecodeValue(raw); err != nil {
			return err
		}
	}
	return rows.Err()
}

// viewLatest reads the latest values of the run's series within b.
func (rd *Reader) viewLatest(ctx context.Context, r *Run, b *budget) (int64, error) {
	type extra struct{ step, t int64 }
	var ex []*extra
	ents, omitted, err := rd.firstPass(ctx, `SELECT key, length(value), substr(value, 1, 16), step, time FROM latest WHERE run = ? ORDER BY key`, r.ID, b, func() []any {
		e := &extra{}
		ex = append(ex, e)
		return []any{&e.step, &e.t}
	})
	if err != nil {
		return 0, err
	}
	vals := make(map[string]any, len(ents))
	if err := rd.secondPass(ctx, "latest", "key", r.ID, ents, b, vals, ""); err != nil {
		return 0, err
	}
	r.Latest = make(map[string]Latest, len(ents))
	for i, e := range ents {
		r.Latest[e.key] = Latest{Value: vals[e.key], Step: ex[i].step, Time: nsTime(ex[i].t)}
	}
	return omitted, nil
}

// viewNotes reads the run's notes (the newest MaxNotes, texts cut to
// MaxValue, within b), oldest first.
func (rd *Reader) viewNotes(ctx context.Context, r *Run, b *budget) (int64, error) {
	r.Notes = []Note{}
	var total int64
	if err := rd.q.QueryRow(ctx, `SELECT count(*) FROM notes WHERE run = ?`, r.ID).Scan(&total); err != nil {
		return 0, rd.fail(err)
	}
	limit := total
	if b.v.MaxNotes > 0 {
		limit = min(limit, int64(b.v.MaxNotes))
	}
	cut := int64(1<<31 - 1) // PostgreSQL's substr takes an int4
	if b.v.MaxValue > 0 {
		cut = min(cut, int64(b.v.MaxValue))
	}
	rows, err := rd.q.Query(ctx, rd.d.NotesQuery, cut, r.ID, limit)
	if err != nil {
		return 0, rd.fail(err)
	}
	defer rows.Close()
	for rows.Next() {
		var t, size int64
		var n Note
		var text []byte
		if err := rows.Scan(&t, &size, &text); err != nil {
			return 0, rd.fail(err)
		}
		n.Text = string(text)
		n.Time = nsTime(t)
		if int64(len(n.Text)) < size {
			// Cut by bytes: drop the character the cut split.
			n.Text, n.Truncated = strings.ToValidUTF8(n.Text, ""), true
		}
		if !b.take(int64(len(n.Text))) {
			n.Text, n.Truncated = "", true
		}
		r.Notes = append(r.Notes, n)
	}
	if err := rows.Err(); err != nil {
		return 0, rd.fail(err)
	}
	slices.Reverse(r.Notes)
	return total - int64(len(r.Notes)), nil
}

// loadSeriesList lists the run's series (the first max by key; 0: all)
// and returns how many were left out.
func (rd *Reader) loadSeriesList(ctx context.Context, r *Run, max int) (int64, error) {
	rows, err := rd.q.Query(ctx, `SELECT key, scalar, n FROM series WHERE run = ? ORDER BY key`, r.ID)
	if err != nil {
		return 0, rd.fail(err)
	}
	defer rows.Close()
	r.Series = []SeriesInfo{}
	var omitted int64
	for rows.Next() {
		if max > 0 && len(r.Series) >= max {
			omitted++
			continue
		}
		var si SeriesInfo
		if err := rows.Scan(&si.Key, &si.Scalar, &si.Len); err != nil {
			return 0, rd.fail(err)
		}
		r.Series = append(r.Series, si)
	}
	return omitted, rows.Err()
}

// loadArtifacts lists the run's artifacts (the first max by name; 0: all)
// and returns how many were left out.
func (rd *Reader) loadArtifacts(ctx context.Context, r *Run, max int) (int64, error) {
	rows, err := rd.q.Query(ctx, `SELECT name, sha256, size, content_type, result, time FROM artifacts WHERE run = ? ORDER BY name`, r.ID)
	if err != nil {
		return 0, rd.fail(err)
	}
	r.Artifacts = []Artifact{}
	var omitted int64
	for rows.Next() {
		if max > 0 && len(r.Artifacts) >= max {
			omitted++
			continue
		}
		var a Artifact
		var t int64
		if err := rows.Scan(&a.Name, &a.Sha256, &a.Size, &a.ContentType, &a.Result, &t); err != nil {
			rows.Close()
			return 0, rd.fail(err)
		}
		a.Time = nsTime(t)
		r.Artifacts = append(r.Artifacts, a)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return 0, rd.fail(err)
	}
	for i := range r.Artifacts {
		st, _ := rd.q.BlobState(ctx, r.Artifacts[i].Sha256)
		r.Artifacts[i].Present = st.Present
	}
	return omitted, nil
}

// valueQuery is the table and key column of a value kind (RunValue).
func valueQuery(kind Kind) (table, keyCol string, err error) {
	switch kind {
	case KindParam:
		return "params", "key", nil
	case KindMeta:
		return "metadata", "key", nil
	case KindCount:
		return "counts", "name", nil
	case KindResult:
		return "latest", "key", nil
	}
	return "", "", fmt.Errorf("%w: no values of kind %q to read (param, meta, count, result)", ErrBadRecord, kind)
}

// RunValue implements Store.
func (rd *Reader) RunValue(ctx context.Context, run string, kind Kind, key string) ([]byte, error) {
	table, keyCol, err := valueQuery(kind)
	if err != nil {
		return nil, err
	}
	if !StorableText(key) || !StorableText(run) { // nothing is stored under it (text.go)
		return nil, fmt.Errorf("%w: %s %q of run %q", ErrNotFound, kind, key, run)
	}
	var b []byte
	err = rd.q.QueryRow(ctx, `SELECT value FROM `+table+` WHERE run = ? AND `+keyCol+` = ?`, run, key).Scan(&b)
	if errors.Is(err, ErrNoRows) {
		return nil, fmt.Errorf("%w: %s %q of run %q", ErrNotFound, kind, key, run)
	}
	if err != nil {
		return nil, rd.fail(err)
	}
	return b, nil
}

// RunValueSize implements Store.
func (rd *Reader) RunValueSize(ctx context.Context, run string, kind Kind, key string) (int64, error) {
	table, keyCol, err := valueQuery(kind)
	if err != nil {
		return 0, err
	}
	if !StorableText(key) || !StorableText(run) { // nothing is stored under it (text.go)
		return 0, fmt.Errorf("%w: %s %q of run %q", ErrNotFound, kind, key, run)
	}
	var n int64
	err = rd.q.QueryRow(ctx, `SELECT length(value) FROM `+table+` WHERE run = ? AND `+keyCol+` = ?`, run, key).Scan(&n)
	if errors.Is(err, ErrNoRows) {
		return 0, fmt.Errorf("%w: %s %q of run %q", ErrNotFound, kind, key, run)
	}
	if err != nil {
		return 0, rd.fail(err)
	}
	return n, nil
}
