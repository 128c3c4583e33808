package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/track/store"
)

// qid is the id of the i-th run of the query cases.
func qid(i int) string { return fmt.Sprintf("0190a1b2-c3d4-7e5f-8a9b-%012d", i) }

// metric is a scalar series of one point.
func metric(key string, seq int64, v float64) store.Points {
	return store.Points{Keys: []string{key}, Key: []int64{0}, Seq: []int64{seq}, Step: []int64{1}, Time: []int64{now()}, Value: []float64{v}}
}

// queryRuns stores the runs the query cases select from:
//
//	1 alpha "scan-abc"  lr=0.01 opt="adam" flag=true  loss=0.05 tag best  finished
//	2 alpha "scan-xyz"  lr=0.1  opt="sgd"             loss=0.5            failed
//	3 beta  "ABC big"   lr=1    opt="adam"            loss=2    tag best  running
//	4 beta  "other"                                                      running, then crashed
func queryRuns(e *env) {
	e.t.Helper()
	P := func(k string, v any) store.Record { return store.Record{Kind: store.KindParam, Key: k, Value: v} }
	tag := store.Record{Kind: store.KindTag, Key: "best"}
	st := func(s string) store.Record { return store.Record{Kind: store.KindStatus, Key: s} }
	b := start(qid(1), "alpha", "scan-abc", P("lr", 0.01), P("opt", "adam"), P("flag", true), tag, st("finished"))
	b.Points = metric("loss", 7, 0.05)
	e.ingestClean(b)
	b = start(qid(2), "alpha", "scan-xyz", P("lr", 0.1), P("opt", "sgd"), st("failed"))
	b.Points = metric("loss", 5, 0.5)
	e.ingestClean(b)
	b = start(qid(3), "beta", "ABC big", P("lr", int64(1)), P("opt", "adam"), tag, st("running"))
	b.Points = metric("loss", 6, 2)
	e.ingestClean(b)
	e.ingestClean(start(qid(4), "beta", "other", st("running")))
	if err := e.s.Edit(e.ctx, qid(4), []store.Record{{Kind: store.KindStatus, Key: string(store.StatusCrashed)}}); err != nil {
		e.t.Fatal(err)
	}
}

// ids runs q and returns the last digit of each run's id, in order.
func (e *env) ids(q store.RunQuery) (string, *store.RunTable) {
	e.t.Helper()
	tab, err := e.s.QueryRuns(e.ctx, q)
	if err != nil {
		e.t.Fatalf("QueryRuns %+v: %v", q, err)
	}
	var b strings.Builder
	for _, r := range tab.Runs {
		b.WriteByte(r.ID[len(r.ID)-1])
	}
	return b.String(), tab
}

func testQueryFilter(t *testing.T, e *env) {
	queryRuns(e)
	for _, c := range []struct{ filter, want string }{
		{"", "1234"},
		{"metrics.loss < 0.1", "1"},
		{"metrics.loss <= 0.5", "12"},
		{"metrics.loss > 0.5", "3"},
		{"metrics.loss >= 0.5", "23"},
		{"metrics.loss = 2", "3"},
		{"metrics.loss != 2", "12"},
		{"metrics.loss", "123"},
		{"not metrics.loss", "4"},
		{"params.lr = 0.01", "1"},
		{"params.lr = 1", "3"}, // an int param compares as a number
		{"params.lr != 0.01", "23"},
		{"params.lr < 0.5", "12"},
		{"params.lr >= 0.1 and params.lr <= 1", "23"},
		{`params.opt = "adam"`, "13"},
		{`params.opt != "adam"`, "2"},
		{"params.flag = true", "1"},
		{"params.flag", "1"},
		{"not params.lr = 0.01", "234"},
		{"tags.best", "13"},
		{"not tags.best", "24"},
		{`status = "finished"`, "1"},
		{`status = "running"`, "3"},
		{`status = "crashed"`, "4"},
		{`status != "running"`, "124"},
		{`name ~ "abc"`, "13"}, // case-insensitive
		{`name !~ "abc"`, "24"},
		{`name = "other"`, "4"},
		{`name > "scan-abc"`, "2"},
		{`project = "alpha" and metrics.loss < 1`, "12"},
		{`project = "beta" or params.lr = 0.01`, "134"},
		{`(project = "beta" or params.lr = 0.01) and tags.best`, "13"},
		{`not (project = "beta" or params.lr = 0.01)`, "2"},
		{`NOT tags.best AND Project = "alpha"`, "2"},
		{`start > 0 and start < "2100-01-01"`, "1234"},
		{`end > 0`, "12"},  // open runs have no end
		{`name ~ "%"`, ""}, // LIKE's wildcards are literal
		{`name ~ "_"`, ""},
		{`params."lr" = 0.01`, "1"},
	} {
		got, tab := e.ids(store.RunQuery{Filter: c.filter, Sort: "id"})
		if got != c.want {
			t.Errorf("filter %q: runs %q, want %q", c.filter, got, c.want)
		}
		if tab.Total != int64(len(c.want)) {
			t.Errorf("filter %q: total %d, want %d", c.filter, tab.Total, len(c.want))
		}
	}
	for _, bad := range []string{
		"metrics.loss <", "params.lr = ", "bogus = 1", "foo.bar", `metrics.loss = "x"`,
		`params.opt < "b"`, `status = "nope"`, `status < "a"`, "name = 1", "(tags.best", "tags.best)",
		`name ~ "unterminated`, "tags.x = 1", "params.a = 1 and", "progress ~ 1", "archived = 1",
		strings.Repeat("(", store.MaxQueryDepth+1) + "tags.x" + strings.Repeat(")", store.MaxQueryDepth+1),
		strings.Repeat("tags.x and ", store.MaxQueryTerms) + "tags.x",
		"tags." + strings.Repeat("x", store.MaxQueryLen),
		"name = \"\xff\"",
		"name = \"x\"; DROP TABLE runs",
	} {
		if _, err := e.s.QueryRuns(e.ctx, store.RunQuery{Filter: bad}); !errors.Is(err, store.ErrBadQuery) {
			t.Errorf("filter %q: %v, want an error wrapping ErrBadQuery", bad, err)
		}
	}
	// Values are bound, never written into the SQL.
	if got, _ := e.ids(store.RunQuery{Filter: `name = "x' OR '1'='1"`}); got != "" {
		t.Errorf("quote in a value: %q", got)
	}
}

func testQuerySort(t *testing.T, e *env) {
	queryRuns(e)
	for _, c := range []struct{ sort, want string }{
		{"id", "1234"},
		{"-id", "4321"},
		{"", "4321"}, // newest first
		{"start", "1234"},
		{"metrics.loss", "1234"}, // runs without the value last, either way
		{"-metrics.loss", "3214"},
		{"params.lr", "1234"},
		{"-params.lr", "3214"},
		{"params.opt", "1324"},
		{"name", "3412"},
		{"-name", "2143"},
	} {
		if got, _ := e.ids(store.RunQuery{Sort: c.sort}); got != c.want {
			t.Errorf("sort %q: runs %q, want %q", c.sort, got, c.want)
		}
	}
	for _, bad := range []string{"bogus", "tags.best", "--id", "params.", "metrics.a b"} {
		if _, err := e.s.QueryRuns(e.ctx, store.RunQuery{Sort: bad}); !errors.Is(err, store.ErrBadQuery) {
			t.Errorf("sort %q: %v, want ErrBadQuery", bad, err)
		}
	}
}

func testQueryPaging(t *testing.T, e *env) {
	const n = 25
	for i := 1; i <= n; i++ {
		e.ingestClean(start(qid(i), "p", fmt.Sprintf("run %02d", i), store.Record{Kind: store.KindParam, Key: "i", Value: float64(i)}))
	}
	var seen []string
	for off := 0; off < n+5; off += 10 {
		tab, err := e.s.QueryRuns(e.ctx, store.RunQuery{Filter: "params.i > 2", Sort: "-params.i", Offset: off, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if tab.Total != n-2 || tab.Offset != off {
			t.Fatalf("offset %d: total %d offset %d", off, tab.Total, tab.Offset)
		}
		want := min(10, max(0, n-2-off))
		if len(tab.Runs) != want || len(tab.Values) != want {
			t.Fatalf("offset %d: %d runs, want %d", off, len(tab.Runs), want)
		}
		for _, r := range tab.Runs {
			seen = append(seen, r.ID)
		}
	}
	if len(seen) != n-2 {
		t.Fatalf("pages hold %d runs, want %d", len(seen), n-2)
	}
	for i, id := range seen {
		if id != qid(n-i) {
			t.Fatalf("run %d of the pages is %s, want %s", i, id, qid(n-i))
		}
	}
	if _, err := e.s.QueryRuns(e.ctx, store.RunQuery{Offset: -1}); !errors.Is(err, store.ErrBadQuery) {
		t.Fatalf("negative offset: %v", err)
	}
}

func testQueryColumns(t *testing.T, e *env) {
	queryRuns(e)
	big := strings.Repeat("x", 2000)
	e.ingestClean(start(qid(5), "p", "big", store.Record{Kind: store.KindParam, Key: "opt", Value: big}))
	_, tab := e.ids(store.RunQuery{Sort: "id", Columns: []string{"params.lr", "metrics.loss", "params.opt", "params.lr"}})
	if len(tab.Runs) != 5 || len(tab.Columns) != 4 {
		t.Fatalf("table %+v", tab)
	}
	v := tab.Values
	if v[0][0] != 0.01 || v[0][1] != 0.05 || v[0][2] != "adam" || v[0][3] != 0.01 {
		t.Errorf("run 1: %v", v[0])
	}
	if v[3][0] != nil || v[3][1] != nil || v[3][2] != nil {
		t.Errorf("run 4 has no values: %v", v[3])
	}
	if !store.IsTruncated(v[4][2]) {
		t.Errorf("a 2000-byte value is not a marker: %T", v[4][2])
	}
	if got := strings.Join(tab.Runs[0].Tags, ","); got != "best" {
		t.Errorf("run 1 tags %q", got)
	}
	for _, bad := range [][]string{{"name"}, {"tags.best"}, {"params."}, make([]string, store.MaxQueryColumns+1)} {
		if _, err := e.s.QueryRuns(e.ctx, store.RunQuery{Columns: bad}); !errors.Is(err, store.ErrBadQuery) {
			t.Errorf("columns %q: %v, want ErrBadQuery", bad, err)
		}
	}
}

func testArchive(t *testing.T, e *env) {
	queryRuns(e)
	err := e.s.ArchiveRun(e.ctx, qid(3), true)
	wantErr(t, "archiving a running run", err, store.ErrArchiveOpen)
	for _, id := range []string{qid(1), qid(4)} { // finished; crashed
		if err := e.s.ArchiveRun(e.ctx, id, true); err != nil {
			t.Fatalf("archive %s: %v", id, err)
		}
	}
	if got, tab := e.ids(store.RunQuery{Sort: "id"}); got != "23" || tab.Total != 2 {
		t.Errorf("default query lists %q (total %d), want the unarchived 23", got, tab.Total)
	}
	if got, _ := e.ids(store.RunQuery{Filter: "archived", Sort: "id"}); got != "14" {
		t.Errorf("archived: %q", got)
	}
	if got, _ := e.ids(store.RunQuery{Filter: "archived or not archived", Sort: "id"}); got != "1234" {
		t.Errorf("all: %q", got)
	}
	page, err := e.s.ListRuns(e.ctx, store.RunFilter{})
	if err != nil || len(page.Runs) != 2 {
		t.Fatalf("ListRuns lists archived runs: %v %d", err, len(page.Runs))
	}
	page, err = e.s.ListRuns(e.ctx, store.RunFilter{Archived: true})
	if err != nil || len(page.Runs) != 4 {
		t.Fatalf("ListRuns{Archived} %v %d", err, len(page.Runs))
	}
	if r := e.get(qid(1)); !r.Archived || r.Status != store.StatusFinished {
		t.Fatalf("archived run reads %+v", r)
	}
	if err := e.s.ArchiveRun(e.ctx, qid(1), false); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.ids(store.RunQuery{Sort: "id"}); got != "123" {
		t.Errorf("after restoring 1: %q", got)
	}
	if r := e.get(qid(1)); r.Archived {
		t.Fatal("restored run still archived")
	}
	wantErr(t, "archiving an unknown run", e.s.ArchiveRun(e.ctx, qid(9), true), store.ErrUnknownRun)
	if err := e.s.DeleteRun(e.ctx, qid(2)); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "archiving a deleted run", e.s.ArchiveRun(e.ctx, qid(2), true), store.ErrDeletedRun)
	var idErr *store.RunIDError
	if err := e.s.ArchiveRun(e.ctx, "../x", true); !errors.As(err, &idErr) {
		t.Fatalf("bad id: %v", err)
	}
}

// testQueryChildren: parent = "" selects the top level, parent = "ID" a
// run's children (paged), and each row counts its children by status
// (archived children left out, crashed ones as crashed).
func testQueryChildren(t *testing.T, e *env) {
	st := func(s string) store.Record { return store.Record{Kind: store.KindStatus, Key: s} }
	parentOf := func(id string) store.Record { return store.Record{Kind: store.KindParent, Key: id} }
	e.ingestClean(start(qid(1), "p", "sweep", st("running")))
	e.ingestClean(start(qid(2), "p", "element 0", parentOf(qid(1)), st("finished")))
	e.ingestClean(start(qid(3), "p", "element 1", parentOf(qid(1)), st("finished")))
	e.ingestClean(start(qid(4), "p", "element 2", parentOf(qid(1)), st("running")))
	e.ingestClean(start(qid(5), "p", "element 3", parentOf(qid(1)), st("running")))
	if err := e.s.Edit(e.ctx, qid(5), []store.Record{{Kind: store.KindStatus, Key: string(store.StatusCrashed)}}); err != nil {
		t.Fatal(err)
	}
	e.ingestClean(start(qid(6), "p", "element 4", parentOf(qid(1)), st("failed")))
	if err := e.s.ArchiveRun(e.ctx, qid(6), true); err != nil {
		t.Fatal(err)
	}
	e.ingestClean(start(qid(7), "p", "alone", st("finished")))

	got, tab := e.ids(store.RunQuery{Filter: `parent = ""`, Sort: "id"})
	if got != "17" || tab.Total != 2 || len(tab.Children) != 2 {
		t.Fatalf(`parent = "": %q total %d children %v`, got, tab.Total, tab.Children)
	}
	want := map[store.Status]int64{store.StatusFinished: 2, store.StatusRunning: 1, store.StatusCrashed: 1}
	if fmt.Sprint(tab.Children[0]) != fmt.Sprint(want) {
		t.Errorf("the sweep's children %v, want %v", tab.Children[0], want)
	}
	if tab.Children[1] != nil {
		t.Errorf("a run without children counts %v", tab.Children[1])
	}
	var seen string
	for off := 0; off < 6; off += 3 {
		got, tab := e.ids(store.RunQuery{Filter: fmt.Sprintf("parent = %q", qid(1)), Sort: "id", Offset: off, Limit: 3})
		if tab.Total != 4 {
			t.Fatalf("children total %d, want 4", tab.Total)
		}
		seen += got
	}
	if seen != "2345" {
		t.Errorf("the sweep's children, paged: %q", seen)
	}
	if got, tab := e.ids(store.RunQuery{Sort: "id"}); got != "123457" || tab.Children[1] != nil {
		t.Errorf("every run: %q %v", got, tab.Children)
	}
}
