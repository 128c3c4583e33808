package storetest

// The cases of what is read back: series chunks and latest values, logs,
// blobs, memo entries, list and filter.

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/track/store"
)

func testSeriesChunks(t *testing.T, e *env) {
	b := start(runA, "p", "n")
	const total = 3*store.ChunkPoints + 17
	b.Points = points("x", 2, 1000)
	e.ingestClean(b)
	for seq := int64(1002); seq < total+2; {
		n := min(store.ChunkPoints+5, int(total+2-seq))
		e.ingestClean(&store.Batch{Run: runA, Points: points("x", seq, n)})
		seq += int64(n)
	}
	ser, err := e.s.Series(e.ctx, runA, "x", store.SeriesQuery{})
	if err != nil || ser.Len != total || len(ser.Value) != total {
		t.Fatalf("series: %v len %d values %d", err, ser.Len, len(ser.Value))
	}
	for i := range ser.Seq {
		if ser.Seq[i] != int64(i)+2 || ser.Step[i] != int64(i)+2 {
			t.Fatalf("point %d: seq %d step %d", i, ser.Seq[i], ser.Step[i])
		}
	}
	part, err := e.s.Series(e.ctx, runA, "x", store.SeriesQuery{MinStep: 100, MaxStep: 199})
	if err != nil || len(part.Step) != 100 || part.Step[0] != 100 {
		t.Fatalf("step range: %v %d", err, len(part.Step))
	}
	down, err := e.s.Series(e.ctx, runA, "x", store.SeriesQuery{MaxPoints: 100})
	if err != nil || len(down.Value) > 100 || !down.Downsampled || down.Len != total {
		t.Fatalf("downsampled: %v %d", err, len(down.Value))
	}
	last := ser.Value[total-1]
	if l := e.get(runA).Latest["x"]; l.Value != last || l.Step != total+1 {
		t.Fatalf("latest %+v, want %v", l, last)
	}
	if _, err := e.s.Series(e.ctx, runA, "nope", store.SeriesQuery{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown series: %v", err)
	}
	// Points and records of one batch interleave in seq order.
	b2 := withRecords(&store.Batch{Run: runA}, total+2, store.Record{Kind: store.KindNote, Value: "between"})
	b2.Points = points("y", total+3, 3)
	if ack := e.ingestClean(b2); ack.Applied != 4 {
		t.Fatalf("mixed batch: %+v", ack)
	}
}

// testSmallBatches: a live run's series, fed a few points per batch
// (chunks are cut and merged as store.AppendChunks does), then a large
// batch, reads back whole and in order; value series likewise.
func testSmallBatches(t *testing.T, e *env) {
	b := start(runA, "p", "n")
	b.Points = points("x", 2, 1000)
	e.ingestClean(b)
	seq := int64(1002)
	add := func(n int) {
		e.ingestClean(&store.Batch{Run: runA, Points: points("x", seq, n)})
		seq += int64(n)
	}
	for range 2 * store.ChunkPoints / 7 { // merges twice
		add(7)
	}
	add(store.ChunkPoints + 100) // larger than the tail: fills it
	add(3)
	total := int(seq - 2)
	ser, err := e.s.Series(e.ctx, runA, "x", store.SeriesQuery{})
	if err != nil || ser.Len != int64(total) || len(ser.Seq) != total {
		t.Fatalf("series: %v len %d points %d, want %d", err, ser.Len, len(ser.Seq), total)
	}
	for i := range ser.Seq {
		if ser.Seq[i] != int64(i)+2 || ser.Step[i] != int64(i)+2 {
			t.Fatalf("point %d: seq %d step %d", i, ser.Seq[i], ser.Step[i])
		}
	}
	part, err := e.s.Series(e.ctx, runA, "x", store.SeriesQuery{MinStep: 1200, MaxStep: 5399})
	if err != nil || len(part.Step) != 4200 || part.Step[0] != 1200 || part.Step[4199] != 5399 {
		t.Fatalf("step range: %v %d", err, len(part.Step))
	}
	down, err := e.s.Series(e.ctx, runA, "x", store.SeriesQuery{MaxPoints: 100})
	if err != nil || len(down.Value) > 100 || !down.Downsampled || down.Len != int64(total) {
		t.Fatalf("downsampled: %v %d", err, len(down.Value))
	}
	if l := e.get(runA).Latest["x"]; l.Step != seq-1 {
		t.Fatalf("latest %+v, want step %d", l, seq-1)
	}
	// Values, a few per batch (records).
	var want []any
	for i := range 300 {
		v := fmt.Sprintf("v%d", i)
		want = append(want, v)
		e.ingestClean(withRecords(&store.Batch{Run: runA}, seq, store.Record{Kind: store.KindResult, Key: "v", Value: v, Step: int64(i)}))
		seq++
	}
	vs, err := e.s.Series(e.ctx, runA, "v", store.SeriesQuery{})
	if err != nil || fmt.Sprint(vs.Values) != fmt.Sprint(want) {
		t.Fatalf("value series: %v %d values", err, len(vs.Values))
	}
}

func testValueSeries(t *testing.T, e *env) {
	e.ingestClean(start(runA, "p", "n",
		store.Record{Kind: store.KindResult, Key: "v", Value: "a", Step: 1},
		store.Record{Kind: store.KindResult, Key: "v", Value: map[string]any{"k": int64(1)}, Step: 2},
		store.Record{Kind: store.KindResult, Key: "s", Value: 1.5, Step: 1}, // a scalar sent as a record
	))
	ack := e.ingest(&store.Batch{Run: runA, Points: points("v", 5, 2)})
	if len(ack.Rejected) != 1 {
		t.Fatalf("scalar points into a value series: %+v", ack)
	}
	if msg := e.record(runA, 7, store.Record{Kind: store.KindResult, Key: "s", Value: "text"}); msg == "" {
		t.Fatal("a value into a scalar series accepted")
	}
	ser, err := e.s.Series(e.ctx, runA, "v", store.SeriesQuery{})
	if err != nil || len(ser.Values) != 2 || ser.Values[0] != "a" {
		t.Fatalf("value series: %v %+v", err, ser)
	}
	r := e.get(runA)
	if r.Latest["s"].Value != 1.5 || r.Latest["v"].Step != 2 {
		t.Fatalf("latest %+v", r.Latest)
	}
}

func testLogs(t *testing.T, e *env) {
	e.ingestClean(start(runA, "p", "n"))
	var logs []store.LogEntry
	for i := range 25 {
		logs = append(logs, store.LogEntry{Run: runA, Time: store.Time(i), Level: i % 3 * 4, Message: "m" + strings.Repeat("x", i)})
	}
	logs = append(logs, store.LogEntry{Run: runB, Message: "no such run"})
	dropped, err := e.s.AppendLogs(e.ctx, logs)
	if err != nil || dropped != 1 {
		t.Fatalf("AppendLogs: %d %v", dropped, err)
	}
	var got []store.LogEntry
	q := store.LogQuery{Run: runA, Limit: 10}
	for range 10 {
		page, err := e.s.Logs(e.ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page.Logs...)
		if page.Next == 0 {
			break
		}
		q.After = page.Next
	}
	if len(got) != 25 || got[0].Message != "m" || got[24].Message != "m"+strings.Repeat("x", 24) {
		t.Fatalf("paged logs: %d", len(got))
	}
	tail, err := e.s.Logs(e.ctx, store.LogQuery{Run: runA, Limit: 3, Tail: true})
	if err != nil || len(tail.Logs) != 3 || tail.Logs[2].Message != got[24].Message {
		t.Fatalf("tail: %v %+v", err, tail)
	}
	warn, err := e.s.Logs(e.ctx, store.LogQuery{Run: runA, MinLevel: 8})
	if err != nil || len(warn.Logs) != 8 {
		t.Fatalf("min level: %v %d", err, len(warn.Logs))
	}
}

func testBlobs(t *testing.T, e *env) {
	data := []byte("hello, blobs")
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	if st, err := e.s.BlobState(e.ctx, sha); err != nil || st.Present || st.Received != 0 {
		t.Fatalf("absent blob: %+v %v", st, err)
	}
	if n, err := e.s.WriteBlob(e.ctx, sha, 0, data[:5]); err != nil || n != 5 {
		t.Fatalf("write: %d %v", n, err)
	}
	if _, err := e.s.WriteBlob(e.ctx, sha, 3, data[3:]); err == nil {
		t.Fatal("a write at the wrong offset accepted")
	}
	if st, _ := e.s.BlobState(e.ctx, sha); st.Received != 5 {
		t.Fatalf("partial: %+v", st)
	}
	if _, err := e.s.WriteBlob(e.ctx, sha, 5, data[5:]); err != nil {
		t.Fatal(err)
	}
	if n, err := e.s.CommitBlob(e.ctx, sha); err != nil || n != int64(len(data)) {
		t.Fatalf("commit: %d %v", n, err)
	}
	f, size, err := e.s.OpenBlob(e.ctx, sha)
	if err != nil || size != int64(len(data)) {
		t.Fatalf("open: %v", err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if string(got) != string(data) {
		t.Fatalf("read %q", got)
	}
	wrong := strings.Repeat("0", 64)
	if _, err := e.s.WriteBlob(e.ctx, wrong, 0, data); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.CommitBlob(e.ctx, wrong); !errors.Is(err, store.ErrChecksum) {
		t.Fatalf("mismatch: %v", err)
	}
	if _, _, err := e.s.OpenBlob(e.ctx, wrong); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("open absent: %v", err)
	}
	if _, err := e.s.BlobState(e.ctx, "../etc/passwd"); err == nil {
		t.Fatal("a blob name that is not a sha256 accepted")
	}
}

func testMemo(t *testing.T, e *env) {
	m, ok := e.s.(store.MemoStore)
	if !ok {
		t.Skip("not a MemoStore")
	}
	k := store.MemoKey{Project: "p", Name: "m", Params: "1, 2"}
	if _, err := m.GetMemo(e.ctx, k); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("absent: %v", err)
	}
	for i, v := range [][]byte{{1}, {2, 3}} {
		if err := m.PutMemo(e.ctx, &store.MemoEntry{Project: k.Project, Name: k.Name, Params: k.Params, Value: v, CRC: uint32(i), Run: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := m.GetMemo(e.ctx, k)
	if err != nil || string(got.Value) != "\x02\x03" || got.CRC != 1 || got.StoredNs == 0 {
		t.Fatalf("%+v %v", got, err)
	}
	if ok, err := m.MemoExists(e.ctx, store.MemoKey{Project: "q", Name: "m", Params: "1, 2"}); ok || err != nil {
		t.Fatalf("other project: %v %v", ok, err)
	}
	if err := m.DeleteMemo(e.ctx, k); err != nil {
		t.Fatal(err)
	}
	if ok, _ := m.MemoExists(e.ctx, k); ok {
		t.Fatal("deleted entry exists")
	}
	err = m.PutMemo(e.ctx, &store.MemoEntry{Project: "p", Name: strings.Repeat("n", e.lim.MaxKeyLen+1)})
	wantErr(t, "a long memo name", err, store.ErrLimit)
}

func testList(t *testing.T, e *env) {
	e.ingestClean(start(runA, "alpha", "first run",
		store.Record{Kind: store.KindParam, Key: "omega", Value: 1.0},
		store.Record{Kind: store.KindTag, Key: "sweep"},
		store.Record{Kind: store.KindStatus, Key: "finished"}))
	e.ingestClean(start(runB, "alpha", "second",
		store.Record{Kind: store.KindParam, Key: "omega", Value: 5.0},
		store.Record{Kind: store.KindTag, Key: "sweep"},
		store.Record{Kind: store.KindNote, Value: "Remarkable"}))
	e.ingestClean(start(runC, "beta", "third", store.Record{Kind: store.KindParam, Key: "omega", Value: "five"}))
	ids := func(f store.RunFilter) string {
		t.Helper()
		page, err := e.s.ListRuns(e.ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range page.Runs {
			out = append(out, r.ID[len(r.ID)-1:])
		}
		return strings.Join(out, "")
	}
	lo, hi := 2.0, 10.0
	for _, c := range []struct {
		f    store.RunFilter
		want string
	}{
		{store.RunFilter{}, "dcb"},
		{store.RunFilter{Project: "alpha"}, "cb"},
		{store.RunFilter{Status: []store.Status{"finished"}}, "b"},
		{store.RunFilter{Tags: []string{"sweep"}}, "cb"},
		{store.RunFilter{Params: []store.ParamFilter{{Key: "omega", Min: &lo, Max: &hi}}}, "c"},
		{store.RunFilter{Params: []store.ParamFilter{{Key: "omega", Eq: "five"}}}, "d"},
		{store.RunFilter{Text: "remarkABLE"}, "c"},
		{store.RunFilter{Text: "third"}, "d"},
	} {
		if got := ids(c.f); got != c.want {
			t.Errorf("filter %+v: runs %q, want %q", c.f, got, c.want)
		}
	}
	page, err := e.s.ListRuns(e.ctx, store.RunFilter{Limit: 2})
	if err != nil || len(page.Runs) != 2 || page.Next == "" {
		t.Fatalf("first page: %v %+v", err, page)
	}
	page, err = e.s.ListRuns(e.ctx, store.RunFilter{Limit: 2, After: page.Next})
	if err != nil || len(page.Runs) != 1 || page.Runs[0].ID != runA || page.Next != "" {
		t.Fatalf("second page: %v %+v", err, page)
	}
	open, err := e.s.OpenRuns(e.ctx)
	if err != nil || len(open) != 2 {
		t.Fatalf("open runs: %v %v", open, err)
	}
}
