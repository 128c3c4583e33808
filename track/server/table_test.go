package server_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

// get returns a GET's status, body and X-Total-Count.
func get(t *testing.T, ctx context.Context, u string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("X-Total-Count")
}

// TestRunsTable: query_runs and archive_run over rpc, and the table's
// downloads (GET /runs.csv, /runs.json) with the same filter, sort and
// columns, within the read budget.
func TestRunsTable(t *testing.T) {
	addr, srv := start(t, server.Options{LiveInterval: time.Hour})
	c := dial(t, addr)
	ctx := ctxT(t)
	for i, run := range []string{"r1", "r2", "r3"} {
		b := startRecords(run)
		b.Records = append(b.Records, store.Record{Seq: 3, Kind: store.KindParam, Key: "lr", Value: float64(i) / 10},
			store.Record{Seq: 4, Kind: store.KindParam, Key: "who", Value: "=cmd|' /C calc'!A0"})
		if run != "r3" {
			b.Records = append(b.Records, store.Record{Seq: 5, Kind: store.KindStatus, Key: "finished"})
		}
		if ack, err := logBatch(ctx, c, b); err != nil || len(ack.Rejected) > 0 {
			t.Fatalf("%s: %v %+v", run, err, ack)
		}
	}
	var tab store.RunTable
	q := store.RunQuery{Filter: "params.lr >= 0.1", Sort: "-params.lr", Columns: []string{"params.lr"}}
	if err := c.CallInto(ctx, &tab, "query_runs", q); err != nil {
		t.Fatal(err)
	}
	if tab.Total != 2 || len(tab.Runs) != 2 || tab.Runs[0].ID != "r3" || tab.Values[0][0] != 0.2 {
		t.Fatalf("query_runs: %+v", tab)
	}
	var re *rpc.RemoteError
	if _, err := c.Call(ctx, "query_runs", store.RunQuery{Filter: "params.lr <"}); !errors.As(err, &re) || !strings.Contains(err.Error(), "bad query") {
		t.Fatalf("a bad filter: %v", err)
	}
	if _, err := c.Call(ctx, "archive_run", "r3", true); err == nil || !strings.Contains(err.Error(), "open run cannot be archived") {
		t.Fatalf("archiving an open run: %v", err)
	}
	if _, err := c.Call(ctx, "archive_run", "r2", true); err != nil {
		t.Fatal(err)
	}
	if err := c.CallInto(ctx, &tab, "query_runs", q); err != nil || tab.Total != 1 {
		t.Fatalf("after archiving r2: %v %+v", err, tab)
	}

	base := "http://" + addr
	v := url.Values{"filter": {"params.lr >= 0.1 or archived"}, "sort": {"-params.lr"}, "col": {"params.lr", "params.who"}}
	code, body, total := get(t, ctx, base+"/runs.csv?"+v.Encode())
	if code != 200 || total != "2" {
		t.Fatalf("runs.csv: %d %s total %q", code, body, total)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("runs.csv: %v %q", err, body)
	}
	if strings.Join(rows[0], ",") != "id,project,name,status,start,end,tags,params.lr,params.who" ||
		rows[1][0] != "r3" || rows[2][0] != "r2" || rows[1][7] != "0.2" || rows[1][8] != "'=cmd|' /C calc'!A0" {
		t.Fatalf("runs.csv rows: %q", rows)
	}
	code, body, _ = get(t, ctx, base+"/runs.json?"+v.Encode())
	var doc struct {
		Total   int64
		Columns []string
		Runs    []struct {
			ID       string
			Archived bool
			Values   map[string]any
		}
	}
	if err := json.Unmarshal([]byte(body), &doc); code != 200 || err != nil || doc.Total != 2 || len(doc.Runs) != 2 || !doc.Runs[1].Archived || doc.Runs[0].Values["params.lr"] != 0.2 {
		t.Fatalf("runs.json: %d %v %s", code, err, body)
	}
	if code, body, _ := get(t, ctx, base+"/runs.csv?filter=params.lr+%3C"); code != http.StatusBadRequest || !strings.Contains(body, "bad query") {
		t.Fatalf("a bad filter: %d %s", code, body)
	}

	// A download waits for room in the read budget.
	release, err := srv.HoldReads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- httpGet(ctx, base+"/runs.csv") }()
	for srv.ReadWaiters() == 0 {
		select {
		case err := <-done:
			t.Fatalf("runs.csv answered while the read budget was spent: %v", err)
		case <-ctx.Done():
			t.Fatal("runs.csv never waited for the read budget")
		case <-time.After(time.Millisecond):
		}
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
