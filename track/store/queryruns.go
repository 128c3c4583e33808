package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// RunQuery selects, sorts and pages runs for the runs table (QueryRuns).
type RunQuery struct {
	// Filter is a filter expression (ParseQuery); "" selects every run.
	// Archived runs are left out unless the filter names archived.
	Filter string `msgpack:"filter,omitempty" json:"filter,omitempty"`
	// Sort is a field (ParseField: a built-in column, params.KEY,
	// metrics.KEY), "-" first for descending; "" is "-start". Runs
	// without the value sort last; ties by id, in the same direction.
	Sort string `msgpack:"sort,omitempty" json:"sort,omitempty"`
	// Columns are the params.KEY and metrics.KEY whose values each row
	// returns (RunTable.Values), at most MaxQueryColumns.
	Columns []string `msgpack:"columns,omitempty" json:"columns,omitempty"`
	// Offset skips that many runs; Limit is the page's size (default 100,
	// at most 1000).
	Offset int `msgpack:"offset,omitempty" json:"offset,omitempty"`
	Limit  int `msgpack:"limit,omitempty" json:"limit,omitempty"`
}

// MaxQueryColumns bounds RunQuery.Columns.
const MaxQueryColumns = 64

// MaxQueryOffset bounds RunQuery.Offset.
const MaxQueryOffset = 10_000_000

// RunTable is one page of a run query.
type RunTable struct {
	// Total is the number of runs the filter selects (all pages).
	Total   int64    `msgpack:"total" json:"total"`
	Offset  int      `msgpack:"offset" json:"offset"`
	Columns []string `msgpack:"columns" json:"columns"`
	// Runs are the page's runs with their tags (no params, latest values
	// or notes: those are Values).
	Runs []Run `msgpack:"runs" json:"runs"`
	// Values[i][j] is Runs[i]'s value of Columns[j]: nil when absent, a
	// marker (IsTruncated) over tableValueMax bytes.
	Values [][]any `msgpack:"values" json:"values"`
	// Children[i] counts Runs[i]'s children (the runs naming it as their
	// parent, archived ones left out) by status; nil when it has none. A
	// sweep's row shows it, its children are read by the filter
	// parent = "ID", and parent = "" selects the top level.
	Children []map[Status]int64 `msgpack:"children" json:"children"`
}

// tableValueMax bounds a value a RunTable returns in full.
const tableValueMax = 1 << 10

// parseQueryTime parses a time of a query: Unix seconds are numbers;
// strings are RFC 3339 times or dates (UTC).
func parseQueryTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time or a date (2006-01-02)", s)
}

// builtinCols are the SQL columns of the built-in fields.
var builtinCols = map[string]string{
	"id": "r.id", "name": "r.name", "project": "r.project", "status": "r.status", "message": "r.message", "parent": "r.parent",
	"start": "r.start_time", "end": "r.end_time", "updated": "r.update_time", "progress": "r.progress",
	"step": "r.step", "archived": "r.archived",
}

// sqlOps are the SQL of the comparison operators.
var sqlOps = map[string]string{"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

// compiler turns an Expr into SQL over runs r, values bound.
type compiler struct {
	rd   *Reader
	args []any
}

func (c *compiler) expr(e Expr) (string, error) {
	switch e := e.(type) {
	case *AndExpr:
		l, err := c.expr(e.L)
		if err != nil {
			return "", err
		}
		r, err := c.expr(e.R)
		if err != nil {
			return "", err
		}
		return "(" + l + " AND " + r + ")", nil
	case *OrExpr:
		l, err := c.expr(e.L)
		if err != nil {
			return "", err
		}
		r, err := c.expr(e.R)
		if err != nil {
			return "", err
		}
		return "(" + l + " OR " + r + ")", nil
	case *NotExpr:
		x, err := c.expr(e.X)
		if err != nil {
			return "", err
		}
		// A comparison holds only where the value exists, so that a
		// missing value is false, never NULL: NOT negates it.
		return "(NOT " + x + ")", nil
	case *Cond:
		return c.cond(e)
	}
	return "", fmt.Errorf("%w: unknown expression %T", ErrBadQuery, e)
}

func (c *compiler) cond(e *Cond) (string, error) {
	if err := e.check(); err != nil {
		return "", err
	}
	op := sqlOps[e.Op]
	switch e.Field.Kind {
	case "tags":
		c.args = append(c.args, e.Field.Name)
		return "EXISTS (SELECT 1 FROM tags t WHERE t.run = r.id AND t.tag = ?)", nil
	case "metrics":
		c.args = append(c.args, e.Field.Name)
		if e.Op == "" {
			return "EXISTS (SELECT 1 FROM latest l WHERE l.run = r.id AND l.key = ?)", nil
		}
		c.args = append(c.args, e.Value)
		return "EXISTS (SELECT 1 FROM latest l WHERE l.run = r.id AND l.key = ? AND l.num " + op + " ?)", nil
	case "params":
		c.args = append(c.args, e.Field.Name)
		if e.Op == "" {
			return "EXISTS (SELECT 1 FROM params p WHERE p.run = r.id AND p.key = ?)", nil
		}
		if f, ok := e.Value.(float64); ok {
			c.args = append(c.args, f)
			return "EXISTS (SELECT 1 FROM params p WHERE p.run = r.id AND p.key = ? AND p.num " + op + " ?)", nil
		}
		v, err := EncodeValue(e.Value)
		if err != nil {
			return "", err
		}
		c.args = append(c.args, v)
		return "EXISTS (SELECT 1 FROM params p WHERE p.run = r.id AND p.key = ? AND p.value " + op + " ?)", nil
	}
	col := builtinCols[e.Field.Name]
	switch builtins[e.Field.Name] {
	case "bool":
		want := e.Op == "" || (e.Op == "=") == e.Value.(bool)
		if want {
			return col + " = " + c.rd.d.True, nil
		}
		return col + " = " + c.rd.d.False, nil
	case "status":
		s, a := c.rd.statusCond(Status(e.Value.(string)))
		c.args = append(c.args, a...)
		if e.Op == "!=" {
			return "(NOT " + s + ")", nil
		}
		return s, nil
	case "time":
		var t int64
		switch v := e.Value.(type) {
		case float64:
			t = int64(v * 1e9)
		case string:
			tt, _ := parseQueryTime(v)
			t = tt.UnixNano()
		}
		c.args = append(c.args, t)
		if e.Field.Name == "end" {
			return "(r.end_time > 0 AND r.end_time " + op + " ?)", nil
		}
		return "(" + col + " " + op + " ?)", nil
	case "text":
		switch e.Op {
		case "~", "!~":
			c.args = append(c.args, likePattern(e.Value.(string)))
			if e.Op == "!~" {
				return "(lower(" + col + ") NOT LIKE ? ESCAPE '\\')", nil
			}
			return "(lower(" + col + ") LIKE ? ESCAPE '\\')", nil
		}
	}
	c.args = append(c.args, e.Value)
	return "(" + col + " " + op + " ?)", nil
}

// mentions reports whether e names the built-in field name.
func mentions(e Expr, name string) bool {
	switch e := e.(type) {
	case *AndExpr:
		return mentions(e.L, name) || mentions(e.R, name)
	case *OrExpr:
		return mentions(e.L, name) || mentions(e.R, name)
	case *NotExpr:
		return mentions(e.X, name)
	case *Cond:
		return e.Field.Kind == "" && e.Field.Name == name
	}
	return false
}

// CompileQuery turns a filter expression into the condition of a WHERE
// over "runs r" in dialect d, with its arguments: the values are bound,
// never written into the SQL. It is what QueryRuns runs.
func CompileQuery(d Dialect, filter string) (string, []any, error) {
	e, err := ParseQuery(filter)
	if err != nil {
		return "", nil, err
	}
	c := &compiler{rd: &Reader{d: d}}
	where := "r.archived = " + d.False
	if e != nil {
		s, err := c.expr(e)
		if err != nil {
			return "", nil, err
		}
		if mentions(e, "archived") {
			where = s
		} else {
			where += " AND " + s
		}
	}
	return where, c.args, nil
}

// sortSQL is the ORDER BY of a RunQuery's Sort, with its arguments.
func sortSQL(d Dialect, sort string) (string, []any, error) {
	if sort == "" {
		sort = "-start"
	}
	dir := " ASC"
	if strings.HasPrefix(sort, "-") {
		dir, sort = " DESC", sort[1:]
	}
	f, err := ParseField(sort)
	if err != nil {
		return "", nil, fmt.Errorf("sort: %w", err)
	}
	switch f.Kind {
	case "":
		return builtinCols[f.Name] + dir + ", r.id" + dir, nil, nil
	case "params":
		num := "(SELECT p.num FROM params p WHERE p.run = r.id AND p.key = ?)"
		val := "(SELECT p.value FROM params p WHERE p.run = r.id AND p.key = ?)"
		// Numbers first, by value; then strings by their bytes (the
		// encoding's header cut), then other values by their encoding.
		h := fmt.Sprintf(d.HexByte1, val)
		str := "CASE WHEN " + h + " BETWEEN 'A0' AND 'BF' THEN substr(" + val + ", 2) WHEN " + h + " = 'D9' THEN substr(" + val + ", 3) WHEN " +
			h + " = 'DA' THEN substr(" + val + ", 4) WHEN " + h + " = 'DB' THEN substr(" + val + ", 6) ELSE " + val + " END"
		args := []any{f.Name, f.Name, f.Name}
		for range 9 {
			args = append(args, f.Name)
		}
		return val + " IS NULL, " + num + " IS NULL, " + num + dir + ", " + str + dir + ", r.id" + dir, args, nil
	case "metrics":
		num := "(SELECT l.num FROM latest l WHERE l.run = r.id AND l.key = ?)"
		return num + " IS NULL, " + num + dir + ", r.id" + dir, []any{f.Name, f.Name}, nil
	}
	return "", nil, &QueryError{Msg: fmt.Sprintf("cannot sort by %s", f)}
}

// QueryRuns implements Store: one page of the runs a filter selects,
// sorted, with the chosen columns, and how many runs it selects.
func (rd *Reader) QueryRuns(ctx context.Context, q RunQuery) (*RunTable, error) {
	where, args, err := CompileQuery(rd.d, q.Filter)
	if err != nil {
		return nil, err
	}
	order, oargs, err := sortSQL(rd.d, q.Sort)
	if err != nil {
		return nil, err
	}
	if len(q.Columns) > MaxQueryColumns {
		return nil, &QueryError{Msg: fmt.Sprintf("more than %d columns", MaxQueryColumns)}
	}
	cols := make([]Field, len(q.Columns))
	for i, c := range q.Columns {
		if cols[i], err = ParseField(c); err != nil {
			return nil, fmt.Errorf("column: %w", err)
		}
		if cols[i].Kind != "params" && cols[i].Kind != "metrics" {
			return nil, &QueryError{Msg: fmt.Sprintf("column %q: columns are params.KEY or metrics.KEY", c)}
		}
	}
	if q.Offset < 0 || q.Offset > MaxQueryOffset {
		return nil, &QueryError{Msg: fmt.Sprintf("offset %d is not in [0, %d]", q.Offset, MaxQueryOffset)}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	t := &RunTable{Offset: q.Offset, Columns: append([]string{}, q.Columns...), Runs: []Run{}, Values: [][]any{}, Children: []map[Status]int64{}}
	if err := rd.q.QueryRow(ctx, "SELECT count(*) FROM runs r WHERE "+where, args...).Scan(&t.Total); err != nil {
		return nil, rd.fail(err)
	}
	sql := "SELECT " + prefixCols("r.", runCols) + " FROM runs r WHERE " + where + " ORDER BY " + order + " LIMIT ? OFFSET ?"
	all := append(append(append([]any{}, args...), oargs...), limit, q.Offset)
	rows, err := rd.q.Query(ctx, sql, all...)
	if err != nil {
		return nil, rd.fail(err)
	}
	index := map[string]int{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			rows.Close()
			return nil, rd.fail(err)
		}
		index[r.ID] = len(t.Runs)
		t.Runs = append(t.Runs, r)
		t.Values = append(t.Values, make([]any, len(cols)))
		t.Children = append(t.Children, nil)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, rd.fail(err)
	}
	if len(t.Runs) == 0 {
		return t, nil
	}
	ids := make([]any, len(t.Runs))
	for i, r := range t.Runs {
		ids[i] = r.ID
	}
	in := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ") + ")"
	if err := rd.tableTags(ctx, t, index, in, ids); err != nil {
		return nil, err
	}
	for _, kind := range []string{"params", "metrics"} {
		if err := rd.tableValues(ctx, t, index, cols, kind, in, ids); err != nil {
			return nil, err
		}
	}
	if err := rd.tableChildren(ctx, t, index, in, ids); err != nil {
		return nil, err
	}
	return t, nil
}

// tableChildren counts the children of a table's runs by status (a
// crashed run, crashed and not final, counted as crashed), in one query
// over the parent index.
func (rd *Reader) tableChildren(ctx context.Context, t *RunTable, index map[string]int, in string, ids []any) error {
	status := "CASE WHEN r.crashed = " + rd.d.True + " AND r.status NOT IN " + finalIn + " THEN 'crashed' ELSE r.status END"
	rows, err := rd.q.Query(ctx, "SELECT r.parent, "+status+", count(*) FROM runs r WHERE r.parent IN "+in+
		" AND r.archived = "+rd.d.False+" GROUP BY r.parent, "+status, ids...)
	if err != nil {
		return rd.fail(err)
	}
	defer rows.Close()
	for rows.Next() {
		var parent string
		var st Status
		var n int64
		if err := rows.Scan(&parent, &st, &n); err != nil {
			return rd.fail(err)
		}
		i, ok := index[parent]
		if !ok {
			continue
		}
		if t.Children[i] == nil {
			t.Children[i] = map[Status]int64{}
		}
		t.Children[i][st] = n
	}
	return rd.fail(rows.Err())
}

// tableTags reads the tags of a table's runs.
func (rd *Reader) tableTags(ctx context.Context, t *RunTable, index map[string]int, in string, ids []any) error {
	rows, err := rd.q.Query(ctx, "SELECT run, tag FROM tags WHERE run IN "+in+" ORDER BY run, tag", ids...)
	if err != nil {
		return rd.fail(err)
	}
	defer rows.Close()
	for rows.Next() {
		var run, tag string
		if err := rows.Scan(&run, &tag); err != nil {
			return rd.fail(err)
		}
		if i, ok := index[run]; ok {
			t.Runs[i].Tags = append(t.Runs[i].Tags, tag)
		}
	}
	return rd.fail(rows.Err())
}

// tableValues reads the values of the columns of one kind (params,
// metrics) of a table's runs, in one query.
func (rd *Reader) tableValues(ctx context.Context, t *RunTable, index map[string]int, cols []Field, kind, in string, ids []any) error {
	var keys []any
	at := map[string][]int{}
	for j, c := range cols {
		if c.Kind != kind {
			continue
		}
		if _, ok := at[c.Name]; !ok {
			keys = append(keys, c.Name)
		}
		at[c.Name] = append(at[c.Name], j)
	}
	if len(keys) == 0 {
		return nil
	}
	table := "params"
	if kind == "metrics" {
		table = "latest"
	}
	kin := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(keys)), ", ") + ")"
	q := "SELECT run, key, length(value), CASE WHEN length(value) <= ? THEN value ELSE substr(value, 1, 16) END FROM " + table +
		" WHERE run IN " + in + " AND key IN " + kin
	args := append(append([]any{tableValueMax}, ids...), keys...)
	rows, err := rd.q.Query(ctx, q, args...)
	if err != nil {
		return rd.fail(err)
	}
	defer rows.Close()
	for rows.Next() {
		var run, key string
		var size int64
		var raw []byte
		if err := rows.Scan(&run, &key, &size, &raw); err != nil {
			return rd.fail(err)
		}
		i, ok := index[run]
		if !ok {
			continue
		}
		var v any
		if size > tableValueMax {
			v = Truncated(raw, size)
		} else if v, err = DecodeValue(raw); err != nil {
			return err
		}
		for _, j := range at[key] {
			t.Values[i][j] = v
		}
	}
	return rd.fail(rows.Err())
}
