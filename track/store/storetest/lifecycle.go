package storetest

// The cases of a run's lifecycle: the status state machine, crashed, deletes
// and tombstones, sequence gaps, resume.

import (
	"errors"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/track/store"
)

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

// testImplicitRunning: a registered run becomes running with its first
// result (scalar points or a value record), step or progress, or when the
// server says it logged (Edit "active"); results raise the run's step to
// the largest seen; finished sets progress to 100. Params and metadata
// (sent at start) leave it registered, and a SimService status walk is
// not overtaken.
func testImplicitRunning(t *testing.T, e *env) {
	e.ingestClean(start(runA, "p", "n", store.Record{Kind: store.KindParam, Key: "a", Value: 1.0}, store.Record{Kind: store.KindMeta, Key: "m", Value: "x"}))
	if r := e.get(runA); r.Status != store.StatusRegistered || r.Step != 0 {
		t.Fatalf("after params and metadata: %+v", r)
	}
	b := &store.Batch{Run: runA, Points: points("x", 4, 10)} // steps 4..13
	e.ingestClean(b)
	if r := e.get(runA); r.Status != store.StatusRunning || r.Step != 13 {
		t.Fatalf("after points to step 13: status %s, step %d", r.Status, r.Step)
	}
	// A value result at a lower step leaves the step; a higher one raises it.
	if msg := e.record(runA, 14, store.Record{Kind: store.KindResult, Key: "v", Value: "s", Step: 2}); msg != "" {
		t.Fatal(msg)
	}
	if r := e.get(runA); r.Step != 13 {
		t.Fatalf("a lower step lowered the run's: %d", r.Step)
	}
	if msg := e.record(runA, 15, store.Record{Kind: store.KindResult, Key: "v", Value: "s", Step: 20}); msg != "" {
		t.Fatal(msg)
	}
	if msg := e.record(runA, 16, store.Record{Kind: store.KindProgress, Value: 95.0}); msg != "" {
		t.Fatal(msg)
	}
	if r := e.get(runA); r.Step != 20 || r.Progress != 95 {
		t.Fatalf("step %d, progress %v", r.Step, r.Progress)
	}
	if msg := e.record(runA, 17, store.Record{Kind: store.KindStatus, Key: "finished"}); msg != "" {
		t.Fatal(msg)
	}
	if r := e.get(runA); r.Status != store.StatusFinished || r.Progress != 100 {
		t.Fatalf("finished: status %s, progress %v", r.Status, r.Progress)
	}

	// A run that only logs: the server's "active" edit.
	e.ingestClean(start(runB, "p", "n"))
	if err := e.s.Edit(e.ctx, runB, []store.Record{{Kind: store.KindStatus, Key: "active"}}); err != nil {
		t.Fatal(err)
	}
	if r := e.get(runB); r.Status != store.StatusRunning {
		t.Fatalf("after active: %s", r.Status)
	}
	// Its client's Start then announces "registered": a no-op, not refused.
	if msg := e.record(runB, 2, store.Record{Kind: store.KindStatus, Key: "registered"}); msg != "" {
		t.Fatalf("registered on a running run: %s", msg)
	}
	if r := e.get(runB); r.Status != store.StatusRunning {
		t.Fatalf("registered took a running run back: %s", r.Status)
	}
	if msg := e.record(runB, 3, store.Record{Kind: store.KindStatus, Key: "failed"}); msg != "" {
		t.Fatal(msg)
	}
	if r := e.get(runB); r.Status != store.StatusFailed || r.Progress == 100 {
		t.Fatalf("failed: status %s, progress %v", r.Status, r.Progress)
	}

	// A SimService walk: loaded, then a result, then initialized.
	e.ingestClean(start(runC, "p", "n", store.Record{Kind: store.KindStatus, Key: "loaded"}, store.Record{Kind: store.KindResult, Key: "v", Value: 1.0, Step: 1}))
	if msg := e.record(runC, 4, store.Record{Kind: store.KindStatus, Key: "initialized"}); msg != "" {
		t.Fatalf("loaded → result → initialized: %s", msg)
	}
}
