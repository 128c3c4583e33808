package dashboard_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

// tableID is the id of the i-th run of TestBrowserRunsTable.
func tableID(i int) string { return fmt.Sprintf("0190a1b2-c3d4-7e5f-8a9b-%012d", i) }

// TestBrowserRunsTable drives the runs table in headless Chromium over 250
// stored runs: chosen columns, sorting by a header, paging with exact
// counts, the filter box (evaluated by the store), adding a column, the
// CSV download of the filtered table, archive and restore, delete with its
// confirmation.
func TestBrowserRunsTable(t *testing.T) {
	ctx := browser(t)
	s := startStack(t, "", "", "", server.Options{})
	const n = 250
	bg := context.Background()
	for i := 1; i <= n; i++ {
		recs := []store.Record{
			{Seq: 1, Kind: store.KindStart, Key: "table", Value: fmt.Sprintf("run %03d", i), Time: time.Now().UnixNano() + int64(i)},
			{Seq: 2, Kind: store.KindParam, Key: "lr", Value: float64(i) / 1000},
			{Seq: 3, Kind: store.KindParam, Key: "i", Value: int64(i)},
		}
		if i%2 == 0 {
			recs = append(recs, store.Record{Seq: 4, Kind: store.KindTag, Key: "even"}, store.Record{Seq: 5, Kind: store.KindStatus, Key: "finished"})
		}
		b := &store.Batch{Run: tableID(i), Records: recs, Points: store.Points{Keys: []string{"loss"}, Key: []int64{0}, Seq: []int64{10}, Step: []int64{1}, Time: []int64{1}, Value: []float64{1 / float64(i)}}}
		if ack, err := s.st.Ingest(bg, b); err != nil || len(ack.Rejected) > 0 {
			t.Fatalf("run %d: %v %+v", i, err, ack)
		}
	}
	p := &page{t: t, ctx: ctx, base: "http://" + s.dashAddr, dir: screenshotDir(t)}
	row := func(i int) string { return fmt.Sprintf(`document.querySelector('tr[data-run=%s]')`, q(tableID(i))) }
	count := `document.getElementById("runs-count")?.textContent`
	first := `document.querySelector("tr.run-row")?.dataset.run`
	click := func(what, sel string) {
		t.Helper()
		p.wait(what+" shows", fmt.Sprintf(`document.querySelector(%s)`, q(sel)), 10*time.Second)
		p.eval(fmt.Sprintf(`document.querySelector(%s).click(), true`, q(sel)), new(bool))
	}

	// Columns and sort from the URL.
	p.open("#/runs?cols=params.lr,metrics.loss&sort=params.lr")
	p.wait("first page", count+` === "1–100 of 250"`, 20*time.Second)
	p.wait("sorted by lr", first+` === `+q(tableID(1)), 10*time.Second)
	p.wait("columns shown", row(1)+`.querySelector('td[data-col="params.lr"]').textContent !== "" && `+row(1)+`.querySelector('td[data-col="metrics.loss"]').textContent !== ""`, 10*time.Second)
	// Sort by a header: the smallest loss is the last run's.
	click("the loss header", `th[data-sort="metrics.loss"]`)
	p.wait("sorted by loss", first+` === `+q(tableID(n))+` && location.hash.includes("sort=metrics.loss")`, 10*time.Second)
	// Paging, exact counts.
	click("next page", "#runs-pager button.next")
	p.wait("second page", count+` === "101–200 of 250" && location.hash.includes("off=100")`, 10*time.Second)
	click("last page", "#runs-pager button.last")
	p.wait("last page", count+` === "201–250 of 250" && document.querySelectorAll("tr.run-row").length === 50`, 10*time.Second)

	// The filter box: the store evaluates it; the page goes back to the first.
	p.eval(`document.getElementById("runs-filter").value = "params.lr < 0.0105 and tags.even", document.getElementById("runs-apply").click(), true`, new(bool))
	p.wait("filtered", count+` === "1–5 of 5" && location.hash.includes("f=") && !location.hash.includes("off=")`, 10*time.Second)
	p.eval(`document.getElementById("runs-filter").value = "params.lr <", document.getElementById("runs-apply").click(), true`, new(bool))
	p.wait("a bad filter is reported", `document.getElementById("runs-error").textContent.includes("bad query")`, 10*time.Second)
	p.eval(`document.getElementById("runs-filter").value = "params.lr < 0.0105 and tags.even", document.getElementById("runs-apply").click(), true`, new(bool))
	p.wait("filtered again", count+` === "1–5 of 5" && document.getElementById("runs-error").textContent === ""`, 10*time.Second)
	// A column added from the box.
	p.eval(`document.getElementById("runs-column").value = "params.i", document.getElementById("runs-add-column").click(), true`, new(bool))
	p.wait("column added", `document.querySelector('th[data-sort="params.i"]') && location.hash.includes("params.i")`, 10*time.Second)
	p.wait("its values", row(2)+`?.querySelector('td[data-col="params.i"]')?.textContent === "2"`, 10*time.Second)
	p.shot("runs-table")

	// The CSV download: the filtered table with its columns, every page.
	var csv string
	p.run("fetch the CSV", 20*time.Second, chromedp.Evaluate(`fetch(document.getElementById("runs-csv").href).then(r => r.ok ? r.text() : "HTTP " + r.status)`, &csv,
		func(e *runtime.EvaluateParams) *runtime.EvaluateParams { return e.WithAwaitPromise(true) }))
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if len(lines) != 6 || lines[0] != "id,project,name,status,start,end,tags,params.lr,metrics.loss,params.i" {
		t.Fatalf("CSV:\n%s", csv)
	}
	if !strings.HasPrefix(lines[1], tableID(10)+",table,run 010,finished,") || !strings.HasSuffix(lines[1], ",even,0.01,0.1,10") {
		t.Fatalf("CSV row 1 (sorted by loss: run 10 first): %q", lines[1])
	}
	var js string
	p.run("fetch the JSON", 20*time.Second, chromedp.Evaluate(`fetch(document.getElementById("runs-json").href).then(r => r.json()).then(d => d.total + ":" + d.runs.length + ":" + d.runs[0].values["params.i"])`, &js,
		func(e *runtime.EvaluateParams) *runtime.EvaluateParams { return e.WithAwaitPromise(true) }))
	if js != "5:5:10" {
		t.Fatalf("JSON download: %s", js)
	}

	// Archive: hidden, then restored.
	click("archive run 2", fmt.Sprintf(`tr[data-run=%s] button.archive`, q(tableID(2))))
	p.wait("archived run hidden", count+` === "1–4 of 4" && !`+row(2), 10*time.Second)
	if r, err := s.st.GetRun(bg, tableID(2)); err != nil || !r.Archived {
		t.Fatalf("run 2 after archive: %v %+v", err, r)
	}
	click("the archived view", "#runs-archived")
	p.wait("archived runs listed", count+` === "1–1 of 1" && `+row(2)+`?.querySelector("button.restore")`, 10*time.Second)
	click("restore run 2", fmt.Sprintf(`tr[data-run=%s] button.restore`, q(tableID(2))))
	p.wait("restored", count+` === "no runs"`, 10*time.Second)
	if r, err := s.st.GetRun(bg, tableID(2)); err != nil || r.Archived {
		t.Fatalf("run 2 after restore: %v %+v", err, r)
	}
	click("the archived view off", "#runs-archived")
	p.wait("run 2 back", count+` === "1–5 of 5" && `+row(2), 10*time.Second)

	// Delete, with its confirmation.
	click("delete run 4", fmt.Sprintf(`tr[data-run=%s] button.delete`, q(tableID(4))))
	p.wait("confirmation asked", row(4)+`?.querySelector("button.confirm-delete")`, 10*time.Second)
	if _, err := s.st.GetRun(bg, tableID(4)); err != nil {
		t.Fatalf("run 4 deleted before its confirmation: %v", err)
	}
	click("confirm", fmt.Sprintf(`tr[data-run=%s] button.confirm-delete`, q(tableID(4))))
	p.wait("deleted", count+` === "1–4 of 4" && !`+row(4), 10*time.Second)
	if _, err := s.st.GetRun(bg, tableID(4)); !errors.Is(err, store.ErrUnknownRun) {
		t.Fatalf("run 4 after delete: %v", err)
	}
}

// TestBrowserRunsGrouped drives the runs table over a sweep of 25 runs
// made through the server (a parent run whose elements name it): the sweep
// is one row counting its runs by status, its children hidden from the top
// level; expanded, they are listed a page at a time; flat lists every run;
// everything is in the URL; the server's exact open-run counts show above.
func TestBrowserRunsGrouped(t *testing.T) {
	ctx := browser(t)
	s := startStack(t, "", "", "", server.Options{})
	bg := context.Background()
	ingest := func(id, name string, recs ...store.Record) {
		t.Helper()
		b := &store.Batch{Run: id, Records: []store.Record{{Seq: 1, Kind: store.KindStart, Key: "grid", Value: name, Time: time.Now().UnixNano()}}}
		for i, r := range recs {
			r.Seq, r.Time = int64(i+2), time.Now().UnixNano()
			b.Records = append(b.Records, r)
		}
		if ack, err := s.srv.Ingest(bg, b); err != nil || len(ack.Rejected) > 0 {
			t.Fatalf("run %s: %v %+v", name, err, ack)
		}
	}
	status := func(st string) store.Record { return store.Record{Kind: store.KindStatus, Key: st} }
	sweep, alone := tableID(100), tableID(101)
	ingest(sweep, "sweep", status("running"))
	const n = 25
	for i := 1; i <= n; i++ {
		st := "finished"
		if i > 20 {
			st = "running"
		}
		ingest(tableID(i), fmt.Sprintf("element %02d", i), store.Record{Kind: store.KindParent, Key: sweep}, status(st))
	}
	ingest(alone, "alone", status("finished"))

	p := &page{t: t, ctx: ctx, base: "http://" + s.dashAddr, dir: screenshotDir(t)}
	count := `document.getElementById("runs-count")?.textContent`
	rows := `document.querySelectorAll("tr.run-row").length`
	children := `document.querySelectorAll("tr.child-row.run-row").length`
	expand := fmt.Sprintf(`document.querySelector('button.expand[data-run=%s]')`, q(sweep))
	click := func(what, expr string) {
		t.Helper()
		p.wait(what+" shows", expr, 10*time.Second)
		p.eval(expr+`.click(), true`, new(bool))
	}

	// Grouped by default: the sweep and the lone run, the sweep counting its runs.
	p.open("#/runs?sort=name")
	p.wait("top level only", count+` === "1–2 of 2" && `+rows+` === 2`, 20*time.Second)
	p.wait("the sweep's counts", expand+`?.textContent.includes("25 runs: 5 running, 20 finished")`, 10*time.Second)
	// The server's exact counts: the sweep and its 5 running elements are open.
	p.wait("open counts", `document.getElementById("runs-open")?.textContent === "6 open runs: 6 running"`, 10*time.Second)

	// Expanded: the first page of its children, sorted as the table, in the URL.
	click("expand", expand)
	p.wait("first children", children+` === 20 && location.hash.includes("open=")`, 10*time.Second)
	p.wait("children sorted by name", `document.querySelector("tr.child-row.run-row")?.dataset.run === `+q(tableID(1))+
		` && [...document.querySelectorAll("tr.child-row.run-row")].every(r => r.dataset.parent === `+q(sweep)+`)`, 10*time.Second)
	p.wait("child pager", `document.querySelector("tr.child-pager .count")?.textContent.trim() === "1–20 of 25"`, 10*time.Second)
	p.shot("runs-grouped")
	p.docShot("dashboard-runs-grouped", "#main")
	click("next children", `document.querySelector("tr.child-pager button.next")`)
	p.wait("last children", children+` === 5 && decodeURIComponent(location.hash).includes(`+q(sweep+"@20")+`)`, 10*time.Second)
	p.wait("child page 2", `document.querySelector("tr.child-pager .count")?.textContent.trim() === "21–25 of 25"`, 10*time.Second)

	// The URL alone brings the same view back.
	var hash string
	p.eval(`location.hash`, &hash)
	p.open("#/runs")
	p.wait("folded", count+` === "1–2 of 2" && `+children+` === 0`, 10*time.Second)
	p.open(hash)
	p.wait("expanded again from the URL", children+` === 5`, 10*time.Second)

	// Folded again, then flat: every run at the top level.
	click("fold", expand)
	p.wait("folded", children+` === 0 && !location.hash.includes("open=")`, 10*time.Second)
	click("flat", `document.getElementById("runs-flat")`)
	p.wait("flat", count+` === "1–27 of 27" && location.hash.includes("flat=1") && !`+expand, 10*time.Second)
	click("grouped again", `document.getElementById("runs-flat")`)
	p.wait("grouped again", count+` === "1–2 of 2"`, 10*time.Second)
}
