package server

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sigoco/sigoco/track/store"
)

// The runs table as a download (GET /runs.csv, GET /runs.json): every run
// a filter selects, sorted, with the chosen columns, as the dashboard's
// runs table shows them. The query string is the table's:
//
//	filter=EXPR  sort=FIELD|-FIELD  col=params.KEY  col=metrics.KEY …
//
// The rows are streamed a page (tablePage runs) at a time; each page
// reserves its estimated size from the read budget
// (Options.Bounds.MaxReadBytes) while it is read and written. Pages are
// read one after the other, so runs that change during a download may move
// between pages.

// tablePage is the runs read per page of a download.
const tablePage = 1000

// tableQuery reads a runs-table query from a request's query string.
func tableQuery(r *http.Request) store.RunQuery {
	v := r.URL.Query()
	return store.RunQuery{Filter: v.Get("filter"), Sort: v.Get("sort"), Columns: v["col"]}
}

func (s *Server) serveTable(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := Authorize(ctx, TargetName, "query_runs"); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	format := strings.TrimPrefix(r.URL.Path, "/runs.")
	q := tableQuery(r)
	q.Limit = tablePage
	// A page's estimate: its runs (and their tags) and its values, each
	// at most 1 KiB in full.
	estimate := min(int64(tablePage)*(4<<10+int64(len(q.Columns))*(1<<10+64)), s.opts.Bounds.MaxReadBytes/2)
	page := func() (*store.RunTable, func(), error) {
		release, err := s.reads.acquire(ctx, estimate)
		if err != nil {
			return nil, nil, err
		}
		t, err := s.st.QueryRuns(ctx, q)
		if err != nil {
			release()
			return nil, nil, err
		}
		return t, release, nil
	}
	t, release, err := page()
	if err != nil {
		if errors.Is(err, store.ErrBadQuery) {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		httpError(w, err)
		return
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Total-Count", strconv.FormatInt(t.Total, 10))
	if format == "csv" {
		h.Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Disposition", contentDisposition("attachment", "runs."+format))
	out := newTableWriter(w, format, t)
	for {
		err := out.page(t)
		release()
		if err != nil || len(t.Runs) < tablePage {
			break
		}
		q.Offset += len(t.Runs)
		if t, release, err = page(); err != nil {
			// The status is sent: the body ends short (no closing
			// bracket for JSON), which a client sees as truncated.
			s.log.Debug("track: runs table download cut", "err", err)
			return
		}
	}
	out.end()
}

// tableWriter writes the rows of a runs-table download.
type tableWriter struct {
	w     http.ResponseWriter
	csv   *csv.Writer
	first bool
	err   error
}

// tableCols are the built-in columns of a download, before the chosen ones.
var tableCols = []string{"id", "project", "name", "status", "start", "end", "tags"}

func newTableWriter(w http.ResponseWriter, format string, t *store.RunTable) *tableWriter {
	tw := &tableWriter{w: w, first: true}
	if format == "csv" {
		tw.csv = csv.NewWriter(w)
		tw.err = tw.csv.Write(append(append([]string{}, tableCols...), t.Columns...))
		return tw
	}
	cols, _ := json.Marshal(t.Columns)
	_, tw.err = fmt.Fprintf(w, "{\"total\":%d,\"columns\":%s,\"runs\":[\n", t.Total, cols)
	return tw
}

func (tw *tableWriter) page(t *store.RunTable) error {
	for i, r := range t.Runs {
		if tw.err != nil {
			return tw.err
		}
		if tw.csv != nil {
			row := []string{r.ID, cell(r.Project), cell(r.Name), string(r.Status), timeCell(r.Start), timeCell(r.End), cell(strings.Join(r.Tags, " "))}
			for _, v := range t.Values[i] {
				row = append(row, valueCell(v))
			}
			tw.err = tw.csv.Write(row)
			continue
		}
		vals := make(map[string]any, len(t.Columns))
		for j, c := range t.Columns {
			vals[c] = jsonable(t.Values[i][j])
		}
		row := map[string]any{"id": r.ID, "project": r.Project, "name": r.Name, "status": r.Status, "start": r.Start,
			"tags": r.Tags, "values": vals}
		if r.End != 0 {
			row["end"] = r.End
		}
		if r.Archived {
			row["archived"] = true
		}
		b, err := json.Marshal(row)
		if err != nil {
			return err
		}
		if !tw.first {
			b = append([]byte(",\n"), b...)
		}
		tw.first = false
		_, tw.err = tw.w.Write(b)
	}
	if tw.csv != nil {
		tw.csv.Flush()
		if tw.err == nil {
			tw.err = tw.csv.Error()
		}
	}
	if f, ok := tw.w.(http.Flusher); ok {
		f.Flush()
	}
	return tw.err
}

func (tw *tableWriter) end() {
	if tw.csv == nil && tw.err == nil {
		tw.w.Write([]byte("\n]}\n"))
	}
}

// cell is a text cell: one a spreadsheet would take for a formula (=, +,
// -, @ first) is quoted with a leading '.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func timeCell(t store.Time) string {
	if t == 0 {
		return ""
	}
	sec, frac := math.Modf(float64(t))
	return time.Unix(int64(sec), int64(frac*1e9)).UTC().Format(time.RFC3339Nano)
}

// valueCell is a value in a CSV cell: numbers as numbers, strings as
// text, others as JSON, a value left out as its marker's JSON.
func valueCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return cell(x)
	case bool:
		return strconv.FormatBool(x)
	}
	if f, ok := store.ScalarOf(v); ok {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	b, err := json.Marshal(jsonable(v))
	if err != nil {
		return fmt.Sprint(v)
	}
	return cell(string(b))
}
