package sqlite

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/track/store"
)

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// bigRun stores a run with 8 params of 1 MiB (the attack of issue 22),
// small params, a large metadata entry, many notes and a large
// non-scalar latest value.
func bigRun(t *testing.T, s *Store) {
	t.Helper()
	b := startBatch(runID)
	seq := int64(1)
	add := func(r store.Record) {
		seq++
		r.Seq = seq
		b.Records = append(b.Records, r)
	}
	big := strings.Repeat("x", 1<<20-16)
	for i := range 8 {
		add(store.Record{Kind: store.KindParam, Key: fmt.Sprintf("big%d", i), Value: big})
	}
	add(store.Record{Kind: store.KindParam, Key: "a_small", Value: 2.5})
	add(store.Record{Kind: store.KindParam, Key: "list", Value: []any{"a", "b"}})
	add(store.Record{Kind: store.KindMeta, Key: "env", Value: map[string]any{"blob": big}})
	for i := range 50 {
		add(store.Record{Kind: store.KindNote, Value: fmt.Sprintf("note %d %s", i, strings.Repeat("n", 10_000))})
	}
	add(store.Record{Kind: store.KindResult, Key: "frame", Value: []byte(big)})
	if ack, err := s.Ingest(context.Background(), b); err != nil || len(ack.Rejected) > 0 {
		t.Fatalf("%+v %v", ack, err)
	}
}

// TestViewRunBounded: a bounded read of a run holding 8 MiB of params
// returns markers for the large values, cut notes and the rest in full,
// and allocates a small multiple of what it returns, where GetRun
// allocates a multiple of everything the run holds.
func TestViewRunBounded(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	bigRun(t, s)
	v := store.View{MaxValue: 4 << 10, MaxTotal: 64 << 10, MaxKeys: 100, MaxNotes: 20}
	var r *store.Run
	var err error
	viewCost := allocated(func() { r, err = s.ViewRun(ctx, runID, v) })
	if err != nil {
		t.Fatal(err)
	}
	fullCost := allocated(func() { _, err = s.GetRun(ctx, runID) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ViewRun allocated %d KiB, GetRun %d KiB", viewCost>>10, fullCost>>10)
	if viewCost > 2<<20 {
		t.Errorf("ViewRun allocated %d bytes for a 64 KiB view", viewCost)
	}
	for i := range 8 {
		m, _ := r.Params[fmt.Sprintf("big%d", i)].(map[string]any)
		if !store.IsTruncated(m) || m["type"] != "str" || m["size"] != int64(1<<20-16+5) || m["len"] != int64(1<<20-16) {
			t.Errorf("param big%d: %v", i, m)
		}
	}
	if r.Params["a_small"] != 2.5 || len(r.Params["list"].([]any)) != 2 {
		t.Errorf("small params %v %v", r.Params["a_small"], r.Params["list"])
	}
	if m, _ := r.Metadata["env"].(map[string]any); !store.IsTruncated(m) || m["type"] != "dict" || m["len"] != int64(1) {
		t.Errorf("metadata env: %v", m)
	}
	if m, _ := r.Latest["frame"].Value.(map[string]any); !store.IsTruncated(m) || m["type"] != "bytes" {
		t.Errorf("latest frame: %v", r.Latest["frame"])
	}
	if len(r.Notes) != 20 || r.Omitted["notes"] != 30 || !r.Notes[19].Truncated || !strings.HasPrefix(r.Notes[19].Text, "note 49 ") {
		t.Errorf("%d notes, omitted %v, last %+v", len(r.Notes), r.Omitted, r.Notes[len(r.Notes)-1].Truncated)
	}
	full, err := s.RunValue(ctx, runID, store.KindParam, "big3")
	if err != nil || len(full) != 1<<20-16+5 {
		t.Errorf("RunValue: %d bytes, %v", len(full), err)
	}
	if n, err := s.RunValueSize(ctx, runID, store.KindResult, "frame"); err != nil || n != int64(len(full)) {
		t.Errorf("RunValueSize: %d, %v", n, err)
	}
	if _, err := s.RunValue(ctx, runID, store.KindParam, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("absent value: %v", err)
	}
	if _, err := s.RunValue(ctx, runID, store.KindNote, "x"); !errors.Is(err, store.ErrBadRecord) {
		t.Errorf("kind note: %v", err)
	}
	// A note cut inside a character loses that character.
	if err := s.Edit(ctx, runID, []store.Record{{Kind: store.KindNote, Value: "abéé"}}); err != nil {
		t.Fatal(err)
	}
	r, err = s.ViewRun(ctx, runID, store.View{MaxValue: 3, MaxNotes: 1})
	if err != nil || len(r.Notes) != 1 || r.Notes[0].Text != "ab" || !r.Notes[0].Truncated {
		t.Errorf("a note cut at 3 bytes: %+v, %v", r.Notes, err)
	}
	// MaxKeys: the first keys, the rest counted.
	r, err = s.ViewRun(ctx, runID, store.View{MaxKeys: 3})
	if err != nil || len(r.Params) != 3 || r.Omitted["params"] != 7 {
		t.Errorf("MaxKeys 3: %d params, omitted %v, %v", len(r.Params), r.Omitted, err)
	}
	// ListRuns bounds latest values too.
	page, err := s.ListRuns(ctx, store.RunFilter{})
	if err != nil || len(page.Runs) != 1 || !store.IsTruncated(page.Runs[0].Latest["frame"].Value) {
		t.Errorf("ListRuns: %+v %v", page, err)
	}
}

// TestLogPagesBounded: a page of logs holds at most 4 MiB of messages
// (plus one record), with Next to continue; a tail is the newest that fit.
func TestLogPagesBounded(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	if _, err := s.Ingest(ctx, startBatch(runID)); err != nil {
		t.Fatal(err)
	}
	var logs []store.LogEntry
	for i := range 10 {
		logs = append(logs, store.LogEntry{Run: runID, Time: store.Time(i), Message: fmt.Sprint(i, strings.Repeat("m", 1<<20-16))})
	}
	if _, err := s.AppendLogs(ctx, logs); err != nil {
		t.Fatal(err)
	}
	var got []string
	var after int64
	for pages := 0; ; pages++ {
		p, err := s.Logs(ctx, store.LogQuery{Run: runID, After: after, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Logs) > 5 {
			t.Fatalf("a page of %d 1 MiB records", len(p.Logs))
		}
		for _, l := range p.Logs {
			got = append(got, l.Message[:1])
		}
		if p.Next == 0 {
			break
		}
		after = p.Next
	}
	if strings.Join(got, "") != "0123456789" {
		t.Fatalf("pages gave %v", got)
	}
	p, err := s.Logs(ctx, store.LogQuery{Run: runID, Tail: true, Limit: 10})
	if err != nil || len(p.Logs) > 5 || p.Logs[len(p.Logs)-1].Message[:1] != "9" || p.Logs[0].Message[:1] != fmt.Sprint(10-len(p.Logs)) {
		t.Fatalf("tail: %d records, %v", len(p.Logs), err)
	}
}
