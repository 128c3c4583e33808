package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/store"
)

// The store rules of issue 22's "Any client rewrites or silences any run",
// over the real daemon: any client may send log_batch for any run (who may
// write a run comes with identities, later), but a run's status moves only
// forward, a deleted id stays deleted and a record numbered far ahead is
// refused. Each test fails on 94c303c (the forged batch is stored) and
// passes with the rules of track/store (rules.go, status.go).

// rulesDaemon starts trackd on a fresh data directory and returns its
// address and a reader.
func rulesDaemon(t *testing.T, ctx context.Context) (string, *track.Reader) {
	t.Helper()
	port := freePort(t)
	startTrackd(t, port, t.TempDir())
	addr := "127.0.0.1:" + port
	rd, err := track.Open(ctx, addr, track.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	return addr, rd
}

// victimRun starts a run as its owner would, logs n points of "x" and
// flushes them.
func victimRun(t *testing.T, ctx context.Context, addr string, n int) *track.Run {
	t.Helper()
	run, err := track.Start(ctx, track.Options{Project: "victim", Addr: addr, SpoolDir: t.TempDir(), NoMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	run.LogParam("omega", 1.0)
	run.SetStatus(track.StatusRunning)
	for i := range n {
		run.LogResult("x", float64(i), int64(i))
	}
	if err := run.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return run
}

// forgeBatch sends, as any client may, a batch of records numbered from
// seq into run id and returns log_batch's acknowledgement and error.
func forgeBatch(t *testing.T, ctx context.Context, addr, id string, seq int64, recs ...store.Record) (*store.Ack, error) {
	t.Helper()
	c, err := rpc.Dial(ctx, addr, "tracker", rpc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := store.Batch{Run: id}
	for i, r := range recs {
		r.Seq, r.Time = seq+int64(i), time.Now().UnixNano()
		b.Records = append(b.Records, r)
	}
	var ack store.Ack
	err = c.CallInto(ctx, &ack, "log_batch", b, []string{}, []int64{}, []int64{}, []int64{}, []int64{}, []float64{})
	return &ack, err
}

// TestFinishedRunStaysFinished: a status record sending a finished run back
// to running is refused, and the run stays finished.
func TestFinishedRunStaysFinished(t *testing.T) {
	ctx := ctxT(t, 60*time.Second)
	addr, rd := rulesDaemon(t, ctx)
	run := victimRun(t, ctx, addr, 100)
	if err := run.End(ctx, track.StatusFinished, "done"); err != nil {
		t.Fatal(err)
	}
	info, err := rd.GetRun(ctx, run.ID())
	if err != nil {
		t.Fatal(err)
	}
	ack, err := forgeBatch(t, ctx, addr, run.ID(), info.HighSeq+1,
		store.Record{Kind: store.KindStatus, Key: "running", Value: "rewritten"},
		store.Record{Kind: store.KindStatus, Key: "failed", Value: "rewritten"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ack.Rejected) != 2 || !strings.Contains(ack.Rejected[0].Error, "status cannot become running") {
		t.Fatalf("the forged status records were not refused: %+v", ack)
	}
	t.Logf("refused: %s", ack.Rejected[0].Error)
	info, err = rd.GetRun(ctx, run.ID())
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != store.StatusFinished || info.Message != "done" {
		t.Fatalf("the finished run is now %s (%q)", info.Status, info.Message)
	}
}

// TestDeletedRunStaysDeleted: once a run is deleted, a batch re-creating
// its id (with other write-once params) is refused.
func TestDeletedRunStaysDeleted(t *testing.T) {
	ctx := ctxT(t, 60*time.Second)
	addr, rd := rulesDaemon(t, ctx)
	run := victimRun(t, ctx, addr, 10)
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}
	if err := rd.DeleteRun(ctx, run.ID()); err != nil {
		t.Fatal(err)
	}
	_, err := forgeBatch(t, ctx, addr, run.ID(), 1,
		store.Record{Kind: store.KindStart, Key: "victim", Value: "forged"},
		store.Record{Kind: store.KindParam, Key: "omega", Value: 2.0})
	if err == nil || !strings.Contains(err.Error(), store.ErrDeletedRun.Error()) {
		t.Fatalf("re-creating a deleted run: %v", err)
	}
	t.Logf("refused: %v", err)
	if info, err := rd.GetRun(ctx, run.ID()); err == nil {
		t.Fatalf("the deleted run is back: %+v", info.Params)
	}
}

// TestSeqGapRefused: one record numbered 10^15 made every later record of
// the run's own client look like a replay, silently skipped (its client saw
// no error, its run never ended). Now the forged batch is refused with an
// error its sender sees, and the run's client goes on.
func TestSeqGapRefused(t *testing.T) {
	ctx := ctxT(t, 60*time.Second)
	addr, rd := rulesDaemon(t, ctx)
	run := victimRun(t, ctx, addr, 100)
	_, err := forgeBatch(t, ctx, addr, run.ID(), 1e15, store.Record{Kind: store.KindNote, Value: "silenced"})
	if err == nil || !strings.Contains(err.Error(), "past the run's last record") {
		t.Fatalf("a record at seq 10^15: %v", err)
	}
	t.Logf("refused: %v", err)
	for i := 100; i < 200; i++ {
		run.LogResult("x", float64(i), int64(i))
	}
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}
	info, err := rd.GetRun(ctx, run.ID())
	if err != nil {
		t.Fatal(err)
	}
	ser, err := rd.Series(ctx, run.ID(), "x", store.SeriesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != store.StatusFinished || ser.Len != 200 || len(info.Notes) != 0 {
		t.Fatalf("the victim's run: status %s, %d points, notes %v", info.Status, ser.Len, info.Notes)
	}
}
