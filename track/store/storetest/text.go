package storetest

// Text a client sends, alike on every backend: PostgreSQL's text holds
// neither NUL nor invalid UTF-8, SQLite's holds both.

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/track/store"
)

// testText: a value (param, metadata, result) holds any string, NUL
// included, and reads back as sent. A key, name, tag or note holding NUL
// is refused (ErrBadRecord; in a batch, listed in Ack.Rejected and the
// rest stored), never an unavailable error a client would retry forever.
// A status message and a log record are never refused: their NUL and
// invalid bytes read back as U+FFFD. Reads naming such a key find nothing.
func testText(t *testing.T, e *env) {
	const nul = "bin\x00ary"
	sha := strings.Repeat("ab", 32)
	ack := e.ingest(start(runA, "p", "n",
		store.Record{Kind: store.KindParam, Key: "blob", Value: nul},                                                                          // 2
		store.Record{Kind: store.KindParam, Key: "raw", Value: []byte{0, 0xff, 1}},                                                            // 3
		store.Record{Kind: store.KindMeta, Key: "m", Value: map[string]any{"k\x00": nul}},                                                     // 4
		store.Record{Kind: store.KindResult, Key: "s", Value: nul, Step: 1},                                                                   // 5
		store.Record{Kind: store.KindParam, Key: "bad\x00key", Value: int64(1)},                                                               // 6
		store.Record{Kind: store.KindMeta, Key: "m\x00", Value: int64(1)},                                                                     // 7
		store.Record{Kind: store.KindTag, Key: "t\x00"},                                                                                       // 8
		store.Record{Kind: store.KindNote, Value: "note\x00"},                                                                                 // 9
		store.Record{Kind: store.KindResult, Key: "r\x00", Value: 1.5, Step: 1},                                                               // 10
		store.Record{Kind: store.KindArtifact, Key: "a\x00", Value: map[string]any{"sha256": sha, "size": int64(1)}},                          // 11
		store.Record{Kind: store.KindArtifact, Key: "a", Value: map[string]any{"sha256": sha, "size": int64(1), "content_type": "text/\x00"}}, // 12
		store.Record{Kind: store.KindStatus, Key: string(store.StatusFailed), Value: "boom\x00\xff"},                                          // 13
	))
	var refused []int64
	for _, r := range ack.Rejected {
		refused = append(refused, r.Seq)
		if !strings.Contains(r.Error, "NUL") {
			t.Errorf("record %d refused for %q; want the reason to name the NUL byte", r.Seq, r.Error)
		}
	}
	if want := []int64{6, 7, 8, 9, 10, 11, 12}; !equalSeqs(refused, want) {
		t.Fatalf("refused records %v (%+v); want %v", refused, ack.Rejected, want)
	}
	r := e.get(runA)
	if r.Params["blob"] != nul || !bytes.Equal(asBytes(r.Params["raw"]), []byte{0, 0xff, 1}) {
		t.Errorf("params %q", r.Params)
	}
	if m, _ := r.Metadata["m"].(map[string]any); m["k\x00"] != nul {
		t.Errorf("metadata %q", r.Metadata)
	}
	if r.Latest["s"].Value != nul {
		t.Errorf("latest %q", r.Latest["s"].Value)
	}
	if r.Status != store.StatusFailed || r.Message != "boom\uFFFD\uFFFD" {
		t.Errorf("status %s %q; want failed \"boom\\uFFFD\\uFFFD\"", r.Status, r.Message)
	}
	if len(r.Tags) != 0 || len(r.Notes) != 0 || len(r.Artifacts) != 0 {
		t.Errorf("tags %q notes %v artifacts %v", r.Tags, r.Notes, r.Artifacts)
	}
	s, err := e.s.Series(e.ctx, runA, "s", store.SeriesQuery{})
	if err != nil || len(s.Values) != 1 || s.Values[0] != nul {
		t.Errorf("series: %v %+v", err, s)
	}
	if _, err := e.s.RunValue(e.ctx, runA, store.KindParam, "bad\x00key"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RunValue of a key with NUL: %v; want not found", err)
	}
	if _, err := e.s.Series(e.ctx, runA, "r\x00", store.SeriesQuery{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Series of a key with NUL: %v; want not found", err)
	}
	err = e.s.Edit(e.ctx, runA, []store.Record{{Kind: store.KindTag, Key: "t\x00"}})
	wantErr(t, "Edit of a tag with NUL", err, store.ErrBadRecord)
	err = e.s.Edit(e.ctx, runA, []store.Record{{Kind: store.KindNote, Value: "x\x00"}})
	wantErr(t, "Edit of a note with NUL", err, store.ErrBadRecord)

	// A run's project or name with NUL: the run is not made.
	for _, b := range []*store.Batch{start(runB, "p\x00", "n"), start(runC, "p", "n\x00")} {
		_, err := e.s.Ingest(e.ctx, b)
		notUnavailable(t, "a start record with NUL", err)
		if _, err := e.s.GetRun(e.ctx, b.Run); !errors.Is(err, store.ErrUnknownRun) {
			t.Errorf("run %s made from a start record with NUL (%v)", b.Run, err)
		}
	}
	notUnavailable(t, "CreateRun with NUL", e.s.CreateRun(e.ctx, runB, "p", "n\x00"))

	// Logs are kept, cleaned.
	if _, err := e.s.AppendLogs(e.ctx, []store.LogEntry{{Run: runA, Logger: "l\x00", Message: "m\x00\xff"}}); err != nil {
		t.Fatal(err)
	}
	page, err := e.s.Logs(e.ctx, store.LogQuery{Run: runA})
	if err != nil || len(page.Logs) != 1 || page.Logs[0].Message != "m\uFFFD\uFFFD" || page.Logs[0].Logger != "l\uFFFD" {
		t.Fatalf("logs: %v %+v", err, page)
	}

	if _, err := e.s.GetRun(e.ctx, "run\x00"); !errors.Is(err, store.ErrUnknownRun) {
		t.Errorf("GetRun of an id with NUL: %v; want unknown run", err)
	}

	// Filters naming text with NUL find nothing.
	for _, f := range []store.RunFilter{{Project: "p\x00"}, {Tags: []string{"t\x00"}}} {
		page, err := e.s.ListRuns(e.ctx, f)
		if err != nil || len(page.Runs) != 0 {
			t.Errorf("ListRuns(%+v): %v %d runs", f, err, len(page.Runs))
		}
	}
	_, err = e.s.QueryRuns(e.ctx, store.RunQuery{Filter: `name = "a` + "\x00" + `"`})
	if err == nil {
		t.Error("a query with NUL accepted")
	}
	notUnavailable(t, "a query with NUL", err)

	m, ok := e.s.(store.MemoStore)
	if !ok {
		return
	}
	err = m.PutMemo(e.ctx, &store.MemoEntry{Project: "p\x00", Name: "m", Value: []byte{1}})
	wantErr(t, "PutMemo of a project with NUL", err, store.ErrBadRecord)
	k := store.MemoKey{Project: "p", Name: "m", Params: "x=" + nul}
	if err := m.PutMemo(e.ctx, &store.MemoEntry{Project: k.Project, Name: k.Name, Params: k.Params, Value: []byte{7}}); err != nil {
		t.Fatalf("PutMemo of params with NUL: %v", err)
	}
	if got, err := m.GetMemo(e.ctx, k); err != nil || got.Params != k.Params || !bytes.Equal(got.Value, []byte{7}) {
		t.Fatalf("GetMemo of params with NUL: %v %+v", err, got)
	}
	bad := store.MemoKey{Project: "p", Name: "m\x00"}
	if _, err := m.GetMemo(e.ctx, bad); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetMemo of a name with NUL: %v; want not found", err)
	}
	if ok, err := m.MemoExists(e.ctx, bad); ok || err != nil {
		t.Errorf("MemoExists of a name with NUL: %v %v", ok, err)
	}
	if err := m.DeleteMemo(e.ctx, bad); err != nil {
		t.Errorf("DeleteMemo of a name with NUL: %v", err)
	}
}

func notUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	var ue *store.UnavailableError
	if errors.As(err, &ue) {
		t.Errorf("%s: %v is an unavailable error (a client would retry it forever)", what, err)
	}
}

func equalSeqs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func asBytes(v any) []byte {
	b, _ := v.([]byte)
	return b
}
