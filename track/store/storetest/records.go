package storetest

// The cases of the ingest rules: records of every kind, exactly once, write-
// once params, limits.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/track/store"
)

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
		r.Progress != 42 || r.Step != 112 || r.HighSeq != 112 { // step: the largest of SetStep's 7 and the points' steps
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
	// The hashes of a run's credentials are the server's alone: no view
	// of the run shows them, RunValue reads them.
	if err := e.s.Edit(e.ctx, runA, []store.Record{{Kind: store.KindMeta, Key: store.MetaCredential, Value: []any{"sha256:00"}}, {Kind: store.KindMeta, Key: store.MetaOwner, Value: "alice"}}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []store.View{{}, {MaxKeys: 1}, {MaxTotal: 1 << 10, MaxValue: 64, MaxKeys: 10}} {
		r, err := e.s.ViewRun(e.ctx, runA, v)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := r.Metadata[store.MetaCredential]; ok || r.Omitted["metadata"] != 0 {
			t.Errorf("view %+v shows the credential: metadata %v, omitted %v", v, r.Metadata, r.Omitted)
		}
		if r.Metadata[store.MetaOwner] != "alice" {
			t.Errorf("view %+v: metadata %v", v, r.Metadata)
		}
	}
	if b, err := e.s.RunValue(e.ctx, runA, store.KindMeta, store.MetaCredential); err != nil || len(b) == 0 {
		t.Errorf("RunValue of the credential: %v", err)
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
	// Logged again without the result flag: the artifact is replaced, the
	// flag stays (a result file re-uploaded is still a result).
	if rej := e.record(runA, 6, store.Record{Kind: store.KindArtifact, Key: "a", Value: map[string]any{"sha256": sha1, "size": int64(1)}}); rej != "" {
		t.Fatalf("re-logging: %s", rej)
	}
	if r := e.get(runA); len(r.Artifacts) != 1 || r.Artifacts[0].Sha256 != sha1 || !r.Artifacts[0].Result {
		t.Fatalf("artifacts after re-logging %+v: the result flag must stay", r.Artifacts)
	}
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

// testParent: a run names its parent in the batch that creates it; the
// parent must exist (a deleted one is refused), cannot be the run itself,
// and never changes; the children are listed by parent.
func testParent(t *testing.T, e *env) {
	e.ingestClean(start(runA, "p", "sweep"))
	e.ingestClean(start(runB, "p", "element 0", store.Record{Kind: store.KindParent, Key: runA}))
	if r := e.get(runB); r.Parent != runA {
		t.Fatalf("parent %q, want %q", r.Parent, runA)
	}
	if r := e.get(runA); r.Parent != "" {
		t.Fatalf("the sweep has parent %q", r.Parent)
	}
	// a later batch, or an edit, cannot set or change it
	if rej := e.record(runB, 3, store.Record{Kind: store.KindParent, Key: runC}); !strings.Contains(rej, "store: bad parent run") {
		t.Fatalf("parent changed later: %q", rej)
	}
	if err := e.s.Edit(e.ctx, runA, []store.Record{{Kind: store.KindParent, Key: runB}}); err == nil {
		t.Fatal("Edit set a parent")
	}
	// unknown, itself, malformed: the record is refused, the run is made
	for i, bad := range []string{"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5f", runC + "-1", "../x"} {
		child := fmt.Sprintf("%s-%d", runC, i)
		ack := e.ingest(start(child, "p", "bad", store.Record{Kind: store.KindParent, Key: bad}))
		if len(ack.Rejected) != 1 || !strings.Contains(ack.Rejected[0].Error, "store: bad parent run") {
			t.Fatalf("parent %q (case %d): %+v", bad, i, ack)
		}
		if r := e.get(child); r.Parent != "" {
			t.Fatalf("refused parent stored: %q", r.Parent)
		}
	}
	// a parent the sender may not see is refused
	hidden := store.WithVisibility(e.ctx, hideRuns{runA: true})
	ack, err := e.s.Ingest(hidden, start(runC+"-h", "p", "hidden", store.Record{Kind: store.KindParent, Key: runA}))
	if err != nil || len(ack.Rejected) != 1 || !strings.Contains(ack.Rejected[0].Error, "not yours") {
		t.Fatalf("invisible parent: %+v %v", ack, err)
	}
	// children by parent
	page, err := e.s.ListRuns(e.ctx, store.RunFilter{Parent: runA})
	if err != nil || len(page.Runs) != 1 || page.Runs[0].ID != runB || page.Runs[0].Parent != runA {
		t.Fatalf("children of A: %+v, %v", page, err)
	}
	// a deleted parent is refused
	if err := e.s.DeleteRun(e.ctx, runA); err != nil {
		t.Fatal(err)
	}
	ack = e.ingest(start(runA+"z", "p", "orphan", store.Record{Kind: store.KindParent, Key: runA}))
	if len(ack.Rejected) != 1 || !strings.Contains(ack.Rejected[0].Error, "does not exist") {
		t.Fatalf("deleted parent: %+v", ack)
	}
}

// hideRuns is a store.RunVisibility hiding some runs.
type hideRuns map[string]bool

func (h hideRuns) RunVisible(ctx context.Context, run string) error {
	if h[run] {
		return errors.New("not yours")
	}
	return nil
}
