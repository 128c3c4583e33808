// Package storetest is the conformance suite of track/store: one set of
// cases every Store passes, whatever keeps the data (the shape of vault's
// sdk/physical ExerciseBackend). A backend's tests call
//
//	storetest.Run(t, func(t *testing.T) store.Store { … a new, empty store … })
//
// and each case opens its own store. The cases read the store's limits
// from a Limits() store.Limits method when it has one (DefaultLimits
// otherwise); open stores with Limits (small) so that every limit case is
// reachable cheaply. Memo cases run when the store is a store.MemoStore.
//
// Every ingest rule has a case here: exactly-once replays, write-once
// params, the status state machine, tags and notes, series chunks and
// latest values, logs, artifacts and blobs, memo entries, limits, deletes
// and tombstones, sequence gaps, resume, list and filter.
package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track/store"
)

// Limits are small limits for the store under test, so every limit case
// runs quickly.
var Limits = store.Limits{
	MaxKeyLen:       64,
	MaxValueSize:    4096,
	MaxBatchRecords: 20_000,
	MaxSeriesLen:    15_000,
	MaxKeysPerRun:   20,
	MaxBlobSize:     1 << 20,
}

// Run runs every case against stores made by open, each in a subtest.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := open(t)
			lim := store.DefaultLimits
			if l, ok := s.(interface{ Limits() store.Limits }); ok {
				lim = l.Limits()
			}
			c.fn(t, &env{t: t, s: s, lim: lim, ctx: context.Background()})
		})
	}
}

var cases = []struct {
	name string
	fn   func(t *testing.T, e *env)
}{
	{"StartAndRead", testStartAndRead},
	{"FirstBatchStarts", testFirstBatchStarts},
	{"BadRunID", testBadRunID},
	{"ExactlyOnceReplay", testExactlyOnce},
	{"WriteOnceParams", testWriteOnceParams},
	{"StatusForward", testStatusForward},
	{"CrashedFlag", testCrashedFlag},
	{"TagsAndNotes", testTagsAndNotes},
	{"ServerOnlyRecords", testServerOnly},
	{"SeriesChunks", testSeriesChunks},
	{"ValueSeries", testValueSeries},
	{"Logs", testLogs},
	{"Artifacts", testArtifacts},
	{"Blobs", testBlobs},
	{"Memo", testMemo},
	{"Limits", testLimits},
	{"SeriesLimit", testSeriesLimit},
	{"Delete", testDelete},
	{"DeletedStaysDeleted", testTombstone},
	{"SeqGapRefused", testSeqGap},
	{"Resume", testResume},
	{"CreateRunThenClient", testCreateRun},
	{"ListAndFilter", testList},
}

// env is one case's store and helpers.
type env struct {
	t   *testing.T
	s   store.Store
	lim store.Limits
	ctx context.Context
}

// run ids (valid for CheckRunID).
const (
	runA = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
	runB = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c"
	runC = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5d"
)

func now() int64 { return time.Now().UnixNano() }

// start returns a batch holding run's start record (seq 1) and recs
// numbered from 2.
func start(run, project, name string, recs ...store.Record) *store.Batch {
	b := &store.Batch{Run: run, Records: []store.Record{{Seq: 1, Kind: store.KindStart, Key: project, Value: name, Time: now()}}}
	return withRecords(b, 2, recs...)
}

// withRecords appends recs to b numbered from seq.
func withRecords(b *store.Batch, seq int64, recs ...store.Record) *store.Batch {
	for i, r := range recs {
		r.Seq = seq + int64(i)
		if r.Time == 0 {
			r.Time = now()
		}
		b.Records = append(b.Records, r)
	}
	return b
}

// points makes n scalar points of key with seqs and steps from seq0.
func points(key string, seq0 int64, n int) store.Points {
	p := store.Points{Keys: []string{key}}
	for i := range n {
		p.Key = append(p.Key, 0)
		p.Seq = append(p.Seq, seq0+int64(i))
		p.Step = append(p.Step, seq0+int64(i))
		p.Time = append(p.Time, int64(i))
		p.Value = append(p.Value, float64(i))
	}
	return p
}

func (e *env) ingest(b *store.Batch) *store.Ack {
	e.t.Helper()
	ack, err := e.s.Ingest(e.ctx, b)
	if err != nil {
		e.t.Fatalf("Ingest: %v", err)
	}
	return ack
}

// ingestClean ingests b and fails on any rejection.
func (e *env) ingestClean(b *store.Batch) *store.Ack {
	e.t.Helper()
	ack := e.ingest(b)
	if len(ack.Rejected) > 0 {
		e.t.Fatalf("rejected: %+v", ack.Rejected)
	}
	return ack
}

// record ingests one record at seq into an existing run and returns its
// rejection ("" when applied).
func (e *env) record(run string, seq int64, r store.Record) string {
	e.t.Helper()
	ack := e.ingest(withRecords(&store.Batch{Run: run}, seq, r))
	if len(ack.Rejected) > 0 {
		return ack.Rejected[0].Error
	}
	return ""
}

func (e *env) get(id string) *store.Run {
	e.t.Helper()
	r, err := e.s.GetRun(e.ctx, id)
	if err != nil {
		e.t.Fatalf("GetRun: %v", err)
	}
	return r
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got %v, want an error wrapping %q", what, err, target)
	}
	if !strings.HasPrefix(err.Error(), "store: ") {
		t.Errorf("%s: %q is not prefixed \"store: \"", what, err)
	}
}

func testStartAndRead(t *testing.T, e *env) {
	sha := strings.Repeat("ab", 32)
	b := start(runA, "proj", "first",
		store.Record{Kind: store.KindParam, Key: "omega", Value: 2.5},
		store.Record{Kind: store.KindParam, Key: "label", Value: "a"},
		store.Record{Kind: store.KindMeta, Key: "host", Value: "h1"},
		store.Record{Kind: store.KindTag, Key: "sweep"},
		store.Record{Kind: store.KindNote, Value: "looks stable"},
		store.Record{Kind: store.KindStatus, Key: "running", Value: "go"},
		store.Record{Kind: store.KindProgress, Value: 42.0},
		store.Record{Kind: store.KindStep, Step: 7},
		store.Record{Kind: store.KindResult, Key: "profile", Value: []any{int64(1), int64(2)}, Step: 3},
		store.Record{Kind: store.KindCount, Key: "solve", Value: map[string]any{"calls": int64(3)}},
		store.Record{Kind: store.KindArtifact, Key: "out.txt", Value: map[string]any{"sha256": sha, "size": int64(5), "content_type": "text/plain"}},
	)
	b.Points = points("x", 13, 100)
	ack := e.ingestClean(b)
	if ack.HighSeq != 112 || ack.Applied != 112 || ack.Prev != 0 {
		t.Fatalf("ack %+v", ack)
	}
	r := e.get(runA)
	if r.ID != runA || r.Project != "proj" || r.Name != "first" || r.Status != store.StatusRunning || r.Message != "go" ||
		r.Progress != 42 || r.Step != 7 || r.HighSeq != 112 {
		t.Fatalf("run %+v", r)
	}
	if r.Params["omega"] != 2.5 || r.Params["label"] != "a" || r.Metadata["host"] != "h1" {
		t.Fatalf("params %v metadata %v", r.Params, r.Metadata)
	}
	if len(r.Tags) != 1 || r.Tags[0] != "sweep" || len(r.Notes) != 1 || r.Notes[0].Text != "looks stable" {
		t.Fatalf("tags %v notes %v", r.Tags, r.Notes)
	}
	if l := r.Latest["x"]; l.Value != 99.0 || l.Step != 112 {
		t.Fatalf("latest x %+v", l)
	}
	if len(r.Artifacts) != 1 || r.Artifacts[0].Sha256 != sha || r.Artifacts[0].Size != 5 || r.Artifacts[0].Present {
		t.Fatalf("artifacts %+v", r.Artifacts)
	}
	if r.Counts["solve"] == nil {
		t.Fatalf("counts %v", r.Counts)
	}
	if len(r.Series) != 2 {
		t.Fatalf("series %+v", r.Series)
	}
	if _, err := e.s.GetRun(e.ctx, runB); !errors.Is(err, store.ErrUnknownRun) {
		t.Fatalf("GetRun of an unknown run: %v", err)
	}
}

func testFirstBatchStarts(t *testing.T, e *env) {
	_, err := e.s.Ingest(e.ctx, withRecords(&store.Batch{Run: runA}, 1, store.Record{Kind: store.KindNote, Value: "x"}))
	wantErr(t, "a batch of an unknown run without its start record", err, store.ErrUnknownRun)
	e.ingestClean(start(runA, "p", "n"))
	// A restarted client announcing the run again changes nothing.
	b := start(runA, "other", "renamed")
	b.Records[0].Seq = 2
	e.ingestClean(b)
	if r := e.get(runA); r.Project != "p" || r.Name != "n" {
		t.Fatalf("second start record changed the run: %+v", r)
	}
}

func testBadRunID(t *testing.T, e *env) {
	for _, id := range []string{"", "../x", "a/b", strings.Repeat("x", 200)} {
		_, err := e.s.Ingest(e.ctx, start(id, "p", "n"))
		if err == nil {
			t.Errorf("run id %q accepted", id)
		}
		if err := e.s.CreateRun(e.ctx, id, "p", "n"); err == nil {
			t.Errorf("CreateRun %q accepted", id)
		}
	}
}

func testExactlyOnce(t *testing.T, e *env) {
	b := start(runA, "p", "n", store.Record{Kind: store.KindNote, Value: "once"})
	b.Points = points("x", 3, 5000)
	e.ingestClean(b)
	ack := e.ingestClean(b) // a lost acknowledgement: the client sends it again
	if ack.Applied != 0 || ack.Skipped != 5002 || ack.HighSeq != 5002 {
		t.Fatalf("replay: %+v", ack)
	}
	// A batch overlapping the stored records: only the new ones apply.
	b2 := &store.Batch{Run: runA, Points: points("x", 4000, 2000)}
	ack = e.ingestClean(b2)
	if ack.Applied != 997 || ack.Skipped != 1003 || ack.Prev != 5002 || ack.HighSeq != 5999 {
		t.Fatalf("overlap: %+v", ack)
	}
	r := e.get(runA)
	if len(r.Notes) != 1 || r.Series[0].Len != 5997 {
		t.Fatalf("notes %v series %+v", r.Notes, r.Series)
	}
	ser, err := e.s.Series(e.ctx, runA, "x", store.SeriesQuery{})
	if err != nil || ser.Len != 5997 || len(ser.Seq) != 5997 {
		t.Fatalf("series: %v %+v", err, ser.Len)
	}
	for i, s := range ser.Seq {
		if s != int64(i)+3 {
			t.Fatalf("point %d has seq %d", i, s)
		}
	}
}

func testWriteOnceParams(t *testing.T, e *env) {
	ack := e.ingest(start(runA, "p", "n",
		store.Record{Kind: store.KindParam, Key: "a", Value: int64(1)},
		store.Record{Kind: store.KindParam, Key: "a", Value: int64(1)}, // the same: fine
		store.Record{Kind: store.KindParam, Key: "a", Value: int64(2)}, // conflict
		store.Record{Kind: store.KindParam, Key: "b", Value: "kept"},
	))
	if len(ack.Rejected) != 1 || ack.Rejected[0].Seq != 4 || !strings.Contains(ack.Rejected[0].Error, "already") {
		t.Fatalf("rejected %+v", ack.Rejected)
	}
	if msg := e.record(runA, 6, store.Record{Kind: store.KindParam, Key: "b", Value: "changed"}); msg == "" {
		t.Fatal("a param changed in a later batch")
	}
	if r := e.get(runA); r.Params["a"] != int64(1) || r.Params["b"] != "kept" {
		t.Fatalf("params %v", r.Params)
	}
}

func testStatusForward(t *testing.T, e *env) {
	e.ingestClean(start(runA, "p", "n"))
	seq := int64(2)
	set := func(st store.Status) string {
		t.Helper()
		seq++
		return e.record(runA, seq-1, store.Record{Kind: store.KindStatus, Key: string(st), Value: "m " + string(st)})
	}
	for _, st := range []store.Status{"loaded", "started", "started", "running"} {
		if msg := set(st); msg != "" {
			t.Fatalf("%s refused: %s", st, msg)
		}
	}
	if msg := set("initialized"); !strings.Contains(msg, "cannot go back") {
		t.Fatalf("running → initialized: %q", msg)
	}
	if msg := set("bogus"); msg == "" {
		t.Fatal("an unknown status accepted")
	}
	if msg := set("finished"); msg != "" {
		t.Fatalf("finished refused: %s", msg)
	}
	end := e.get(runA).End
	for _, st := range []store.Status{"running", "failed", "registered"} {
		if msg := set(st); !strings.Contains(msg, "final status") {
			t.Fatalf("finished → %s: %q", st, msg)
		}
	}
	if msg := set("finished"); msg != "" { // ended twice: fine, the first end stands
		t.Fatalf("finished again: %s", msg)
	}
	r := e.get(runA)
	if r.Status != store.StatusFinished || r.Message != "m finished" || r.End != end || r.End == 0 {
		t.Fatalf("run %+v", r)
	}
	if err := store.CheckTransition(store.StatusFinished, store.StatusRunning); !errors.Is(err, store.ErrStatusBack) {
		t.Fatalf("CheckTransition: %v", err)
	}
	// The server may not set a status either.
	err := e.s.Edit(e.ctx, runA, []store.Record{{Kind: store.KindStatus, Key: "running"}})
	wantErr(t, "Edit setting a status", err, store.ErrBadRecord)
}

func testCrashedFlag(t *testing.T, e *env) {
	e.ingestClean(start(runA, "p", "n", store.Record{Kind: store.KindStatus, Key: "running"}))
	if err := e.s.Edit(e.ctx, runA, []store.Record{{Kind: store.KindStatus, Key: string(store.StatusCrashed)}}); err != nil {
		t.Fatal(err)
	}
	if open, _ := e.s.OpenRuns(e.ctx); len(open) != 0 {
		t.Fatalf("a crashed run is listed open: %v", open)
	}
	if err := e.s.Edit(e.ctx, runA, []store.Record{{Kind: store.KindStatus, Key: "alive"}}); err != nil {
		t.Fatal(err)
	}
	if r := e.get(runA); r.Status != store.StatusRunning {
		t.Fatalf("after alive: %+v", r)
	}
	if open, _ := e.s.OpenRuns(e.ctx); len(open) != 1 {
		t.Fatalf("a run heard from again is not open: %v", open)
	}
	if err := e.s.Edit(e.ctx, runB, []store.Record{{Kind: store.KindNote, Value: "x"}}); !errors.Is(err, store.ErrUnknownRun) {
		t.Fatalf("Edit of an unknown run: %v", err)
	}
}

func testTagsAndNotes(t *testing.T, e *env) {
	e.ingestClean(start(runA, "p", "n",
		store.Record{Kind: store.KindTag, Key: "t1"},
		store.Record{Kind: store.KindTag, Key: "t2"},
		store.Record{Kind: store.KindTag, Key: "t1"},
		store.Record{Kind: store.KindUntag, Key: "t2"},
		store.Record{Kind: store.KindNote, Value: "n1"},
	))
	if msg := e.record(runA, 7, store.Record{Kind: store.KindNote, Value: 3}); msg == "" {
		t.Fatal("a note that is not text accepted")
	}
	err := e.s.Edit(e.ctx, runA, []store.Record{
		{Kind: store.KindNote, Value: "n2"}, {Kind: store.KindTag, Key: "t3"}, {Kind: store.KindUntag, Key: "t1"},
		{Kind: store.KindMeta, Key: "k", Value: "v"},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := e.get(runA)
	if len(r.Tags) != 1 || r.Tags[0] != "t3" || len(r.Notes) != 2 || r.Notes[1].Text != "n2" || r.Metadata["k"] != "v" {
		t.Fatalf("tags %v notes %v metadata %v", r.Tags, r.Notes, r.Metadata)
	}
	err = e.s.Edit(e.ctx, runA, []store.Record{{Kind: store.KindParam, Key: "p", Value: 1}})
	wantErr(t, "Edit of a param", err, store.ErrBadRecord)
}

func testServerOnly(t *testing.T, e *env) {
	ack := e.ingest(start(runA, "p", "n",
		store.Record{Kind: store.KindMeta, Key: store.MetaJob, Value: "forged"},
		store.Record{Kind: store.KindTag, Key: "state=DONE"},
		store.Record{Kind: store.KindTag, Key: "mine"},
	))
	if len(ack.Rejected) != 2 || !strings.Contains(ack.Rejected[0].Error, "only the server") {
		t.Fatalf("rejected %+v", ack.Rejected)
	}
	if err := e.s.Edit(e.ctx, runA, []store.Record{{Kind: store.KindTag, Key: "state=DONE"}}); err != nil {
		t.Fatalf("the server's own edit: %v", err)
	}
	if r := e.get(runA); len(r.Tags) != 2 || r.Metadata[store.MetaJob] != nil {
		t.Fatalf("tags %v metadata %v", r.Tags, r.Metadata)
	}
}

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

func testArtifacts(t *testing.T, e *env) {
	sha1, sha2 := strings.Repeat("01", 32), strings.Repeat("02", 32)
	ack := e.ingest(start(runA, "p", "n",
		store.Record{Kind: store.KindArtifact, Key: "a", Value: map[string]any{"sha256": sha1, "size": int64(1)}},
		store.Record{Kind: store.KindArtifact, Key: "a", Value: map[string]any{"sha256": sha2, "size": int64(2), "result": true}},
		store.Record{Kind: store.KindArtifact, Key: "bad", Value: map[string]any{"sha256": "../../etc"}},
		store.Record{Kind: store.KindArtifact, Key: "none", Value: "x"},
	))
	if len(ack.Rejected) != 2 {
		t.Fatalf("rejected %+v", ack.Rejected)
	}
	if r := e.get(runA); len(r.Artifacts) != 1 || r.Artifacts[0].Sha256 != sha2 || !r.Artifacts[0].Result {
		t.Fatalf("artifacts %+v", r.Artifacts)
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

func testLimits(t *testing.T, e *env) {
	long := strings.Repeat("k", e.lim.MaxKeyLen+1)
	big := strings.Repeat("v", e.lim.MaxValueSize+1)
	ack := e.ingest(start(runA, "p", "n",
		store.Record{Kind: store.KindParam, Key: long, Value: 1.0},
		store.Record{Kind: store.KindMeta, Key: "big", Value: big},
		store.Record{Kind: store.KindNote, Value: big},
		store.Record{Kind: store.KindTag, Key: long},
		store.Record{Kind: store.KindParam, Key: "", Value: 1.0},
		store.Record{Kind: store.KindParam, Key: "kept", Value: 1.0},
	))
	if len(ack.Rejected) != 5 {
		t.Fatalf("rejected %+v", ack.Rejected)
	}
	for _, rj := range ack.Rejected[:4] {
		if !strings.Contains(rj.Error, "over the limit") {
			t.Errorf("seq %d: %s", rj.Seq, rj.Error)
		}
	}
	if e.get(runA).Params["kept"] != 1.0 {
		t.Fatal("the records within limits were not stored")
	}
	_, err := e.s.Ingest(e.ctx, start(runB, long, "n"))
	if err != nil {
		t.Fatalf("a start record over a limit fails the batch: %v", err)
	}
	if _, err := e.s.GetRun(e.ctx, runB); !errors.Is(err, store.ErrUnknownRun) {
		t.Fatalf("a run with a project over MaxKeyLen was created: %v", err)
	}
	// A batch over MaxBatchRecords: refused whole.
	if e.lim.MaxBatchRecords <= 1_000_000 {
		b := &store.Batch{Run: runA, Points: points("x", 8, e.lim.MaxBatchRecords+1)}
		_, err := e.s.Ingest(e.ctx, b)
		wantErr(t, "a batch over MaxBatchRecords", err, store.ErrLimit)
	}
	// Keys per run.
	var recs []store.Record
	for i := range e.lim.MaxKeysPerRun + 1 {
		recs = append(recs, store.Record{Kind: store.KindParam, Key: "p" + strings.Repeat("i", i), Value: 1.0})
	}
	if e.lim.MaxKeysPerRun < 1000 {
		ack = e.ingest(withRecords(&store.Batch{Run: runA}, 8, recs...))
		if len(ack.Rejected) != 2 { // "kept" is one of the run's params already
			t.Fatalf("params beyond MaxKeysPerRun: %+v", ack.Rejected)
		}
	}
	// Malformed batches.
	bad := &store.Batch{Run: runA, Points: store.Points{Keys: []string{"x"}, Key: []int64{3}, Seq: []int64{100}, Step: []int64{0}, Time: []int64{0}, Value: []float64{0}}}
	_, err = e.s.Ingest(e.ctx, bad)
	wantErr(t, "a point naming a key that is not there", err, store.ErrBadRecord)
	bad.Points.Key = nil
	_, err = e.s.Ingest(e.ctx, bad)
	wantErr(t, "point columns of different lengths", err, store.ErrBadRecord)
	if msg := e.record(runA, 1000, store.Record{Kind: "image"}); msg == "" {
		t.Fatal("an unknown record kind accepted")
	}
}

func testSeriesLimit(t *testing.T, e *env) {
	if e.lim.MaxSeriesLen > 100_000 {
		t.Skipf("MaxSeriesLen %d is too long to fill here", e.lim.MaxSeriesLen)
	}
	n := int(e.lim.MaxSeriesLen)
	b := start(runA, "p", "n")
	b.Points = points("x", 2, min(n, e.lim.MaxBatchRecords-1))
	e.ingestClean(b)
	seq := int64(2 + b.Points.Len())
	for seq-2 < int64(n) {
		k := min(int(int64(n)-(seq-2)), e.lim.MaxBatchRecords)
		e.ingestClean(&store.Batch{Run: runA, Points: points("x", seq, k)})
		seq += int64(k)
	}
	ack := e.ingest(&store.Batch{Run: runA, Points: points("x", seq, 10)})
	if len(ack.Rejected) != 1 || !strings.Contains(ack.Rejected[0].Error, "MaxSeriesLen") || ack.HighSeq != seq+9 {
		t.Fatalf("over MaxSeriesLen: %+v", ack)
	}
	if msg := e.record(runA, seq+10, store.Record{Kind: store.KindResult, Key: "x", Value: 1.0}); !strings.Contains(msg, "MaxSeriesLen") {
		t.Fatalf("a record over MaxSeriesLen: %q", msg)
	}
}

func testDelete(t *testing.T, e *env) {
	b := start(runA, "p", "n", store.Record{Kind: store.KindParam, Key: "a", Value: 1.0})
	b.Points = points("x", 3, 10)
	e.ingestClean(b)
	e.ingestClean(start(runB, "p", "other"))
	if _, err := e.s.AppendLogs(e.ctx, []store.LogEntry{{Run: runA, Message: "m"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteRun(e.ctx, runA); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.GetRun(e.ctx, runA); !errors.Is(err, store.ErrUnknownRun) {
		t.Fatalf("GetRun of a deleted run: %v", err)
	}
	if _, err := e.s.Series(e.ctx, runA, "x", store.SeriesQuery{}); err == nil {
		t.Fatal("the series of a deleted run is still there")
	}
	if page, err := e.s.Logs(e.ctx, store.LogQuery{Run: runA}); err == nil && len(page.Logs) > 0 {
		t.Fatal("the logs of a deleted run are still there")
	}
	if err := e.s.DeleteRun(e.ctx, runA); !errors.Is(err, store.ErrUnknownRun) {
		t.Fatalf("deleting twice: %v", err)
	}
	if page, _ := e.s.ListRuns(e.ctx, store.RunFilter{}); len(page.Runs) != 1 || page.Runs[0].ID != runB {
		t.Fatalf("list after delete: %+v", page)
	}
}

// testTombstone: a deleted id stays deleted, so nobody re-creates a run
// under an id others refer to with other write-once params (issue 22).
func testTombstone(t *testing.T, e *env) {
	e.ingestClean(start(runA, "p", "n", store.Record{Kind: store.KindParam, Key: "a", Value: 1.0}))
	if err := e.s.DeleteRun(e.ctx, runA); err != nil {
		t.Fatal(err)
	}
	_, err := e.s.Ingest(e.ctx, start(runA, "p", "n", store.Record{Kind: store.KindParam, Key: "a", Value: 2.0}))
	wantErr(t, "re-creating a deleted run", err, store.ErrDeletedRun)
	wantErr(t, "CreateRun of a deleted id", e.s.CreateRun(e.ctx, runA, "p", "n"), store.ErrDeletedRun)
	_, err = e.s.ResumeRun(e.ctx, runA)
	wantErr(t, "ResumeRun of a deleted id", err, store.ErrDeletedRun)
	if _, err := e.s.GetRun(e.ctx, runA); !errors.Is(err, store.ErrUnknownRun) {
		t.Fatalf("GetRun: %v", err)
	}
}

// testSeqGap: one record numbered far ahead (10^15) is refused with an
// error, instead of making every later record of the run's own client look
// like a replay (issue 22).
func testSeqGap(t *testing.T, e *env) {
	e.ingestClean(start(runA, "p", "n"))
	_, err := e.s.Ingest(e.ctx, withRecords(&store.Batch{Run: runA}, 1e15, store.Record{Kind: store.KindNote, Value: "forged"}))
	wantErr(t, "a record at 10^15", err, store.ErrSeqGap)
	var gap *store.SeqGapError
	if !errors.As(err, &gap) || gap.Seq != 1e15 || gap.HighSeq != 1 {
		t.Fatalf("error %#v", err)
	}
	// Points far ahead, and a batch spreading further than a batch can.
	_, err = e.s.Ingest(e.ctx, &store.Batch{Run: runA, Points: points("x", 1e15, 1)})
	wantErr(t, "a point at 10^15", err, store.ErrSeqGap)
	spread := &store.Batch{Run: runA, Points: points("x", 2, 2)}
	spread.Points.Seq[1] = 2 + int64(e.lim.MaxBatchRecords)
	_, err = e.s.Ingest(e.ctx, spread)
	wantErr(t, "a batch spread wider than a batch", err, store.ErrSeqGap)
	// The run's own client goes on.
	ack := e.ingestClean(&store.Batch{Run: runA, Points: points("x", 2, 10)})
	if ack.Applied != 10 || ack.HighSeq != 11 {
		t.Fatalf("the client after the forged records: %+v", ack)
	}
	// A gap within a batch's size (a spool cut short) is tolerated and
	// reported.
	ack = e.ingestClean(&store.Batch{Run: runA, Points: points("x", 12+int64(e.lim.MaxBatchRecords), 1)})
	if ack.Applied != 1 || ack.Gap != int64(e.lim.MaxBatchRecords) {
		t.Fatalf("a tolerated gap: %+v", ack)
	}
}

func testResume(t *testing.T, e *env) {
	b := start(runA, "p", "n", store.Record{Kind: store.KindStatus, Key: "running"})
	b.Points = points("x", 3, 100)
	e.ingestClean(b)
	if err := e.s.Edit(e.ctx, runA, []store.Record{{Kind: store.KindStatus, Key: string(store.StatusCrashed)}}); err != nil {
		t.Fatal(err)
	}
	last, err := e.s.ResumeRun(e.ctx, runA)
	if err != nil || last != 102 {
		t.Fatalf("ResumeRun: %d %v", last, err)
	}
	if r := e.get(runA); r.Status != store.StatusRegistered {
		t.Fatalf("after resume: %+v", r)
	}
	// The second process numbers its records after last: all stored, the
	// series unbroken, its lifecycle again from the start.
	b2 := withRecords(&store.Batch{Run: runA}, last+1,
		store.Record{Kind: store.KindStart, Key: "p", Value: "n"},
		store.Record{Kind: store.KindStatus, Key: "loaded"},
		store.Record{Kind: store.KindStatus, Key: "finished"})
	b2.Points = points("x", last+4, 50)
	if ack := e.ingestClean(b2); ack.Applied != 53 || ack.Skipped != 0 {
		t.Fatalf("resumed batch: %+v", ack)
	}
	if r := e.get(runA); r.Status != store.StatusFinished || r.Series[0].Len != 150 {
		t.Fatalf("resumed run %+v", r)
	}
	_, err = e.s.ResumeRun(e.ctx, runA)
	wantErr(t, "resuming a finished run", err, store.ErrResumeFinal)
	_, err = e.s.ResumeRun(e.ctx, runB)
	wantErr(t, "resuming an unknown run", err, store.ErrUnknownRun)
}

func testCreateRun(t *testing.T, e *env) {
	if err := e.s.CreateRun(e.ctx, runA, "p", "launched"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.CreateRun(e.ctx, runA, "q", "again"); err != nil {
		t.Fatalf("CreateRun of an existing run: %v", err)
	}
	if r := e.get(runA); r.Status != store.StatusRegistered || r.Name != "launched" || r.HighSeq != 0 {
		t.Fatalf("created %+v", r)
	}
	b := start(runA, "p", "client", store.Record{Kind: store.KindParam, Key: "a", Value: 1.0})
	if ack := e.ingestClean(b); ack.Applied != 2 {
		t.Fatalf("the client's records after CreateRun: %+v", ack)
	}
	if err := e.s.CreateRun(e.ctx, runB, strings.Repeat("p", e.lim.MaxKeyLen+1), "n"); !errors.Is(err, store.ErrLimit) {
		t.Fatalf("a long project: %v", err)
	}
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
