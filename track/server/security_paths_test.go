package server_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

// badRunIDs are run ids no store takes: they would name a path outside
// a directory (jobs use run ids as directory names), or are not plain
// names.
var badRunIDs = []string{"../../x", "..", ".", "a/b", `a\b`, "/etc", "-rf", ".x", "x y", "x\x00", "é", strings.Repeat("a", 65)}

// TestBadRunIDRefused: a batch for a run id that is not a plain name is
// refused with an error the client sees, and nothing is stored.
func TestBadRunIDRefused(t *testing.T) {
	addr, srv := start(t, server.Options{})
	c := dial(t, addr)
	ctx := ctxT(t)
	for _, id := range badRunIDs {
		_, err := logBatch(ctx, c, startRecords(id))
		var re *rpc.RemoteError
		if !errors.As(err, &re) || !strings.Contains(re.Message, "bad run id") || !errors.Is(err, rpc.ErrValue) {
			t.Errorf("log_batch for run %q: %v", id, err)
		}
		if _, err := srv.Store().GetRun(ctx, id); err == nil {
			t.Errorf("run %q was stored", id)
		}
	}
	page, err := srv.Store().ListRuns(ctx, store.RunFilter{})
	if err != nil || len(page.Runs) != 0 {
		t.Errorf("runs stored: %v %v", page, err)
	}
	// The server keeps serving the ids clients make.
	if _, err := logBatch(ctx, c, startRecords("0198f5a4-7d3c-7b1e-9a53-2f6d4e8c1a07")); err != nil {
		t.Fatal(err)
	}
}

// TestBadRunIDTyped: in process, the refusal is a *store.RunIDError,
// before the store or the live state sees the run.
func TestBadRunIDTyped(t *testing.T) {
	_, srv := start(t, server.Options{})
	ctx := ctxT(t)
	b := startRecords("../../x")
	_, err := srv.Ingest(ctx, &b)
	var re *store.RunIDError
	if !errors.As(err, &re) || re.ID != "../../x" || !errors.Is(err, store.ErrBadRunID) {
		t.Fatalf("Ingest: %v", err)
	}
}

// TestServerOnlyRecordsRejected: a client may not write the records
// trackd's jobs keep on a job's run (metadata "job", tags "job",
// "solver=…", "state=…"): they are rejected in the ack, the rest of the
// batch is stored, and add_tag / remove_tag refuse them too.
func TestServerOnlyRecordsRejected(t *testing.T) {
	addr, srv := start(t, server.Options{})
	c := dial(t, addr)
	ctx := ctxT(t)
	now := time.Now().UnixNano()
	run := "r1"
	b := store.Batch{Run: run, Records: []store.Record{
		{Seq: 1, Kind: store.KindStart, Key: "p", Value: "n", Time: now},
		{Seq: 2, Kind: store.KindMeta, Key: "job", Value: map[string]any{"id": run, "solver": "x", "version": "1", "state": "PENDING"}, Time: now},
		{Seq: 3, Kind: store.KindTag, Key: "job", Time: now},
		{Seq: 4, Kind: store.KindTag, Key: "solver=x", Time: now},
		{Seq: 5, Kind: store.KindTag, Key: "state=PENDING", Time: now},
		{Seq: 6, Kind: store.KindUntag, Key: "state=FAILED", Time: now},
		{Seq: 7, Kind: store.KindMeta, Key: "jobs", Value: "mine", Time: now},
		{Seq: 8, Kind: store.KindTag, Key: "mine", Time: now},
		{Seq: 9, Kind: store.KindTag, Key: "state", Time: now},
	}}
	ack, err := logBatch(ctx, c, b)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, r := range ack.Rejected {
		seqs = append(seqs, r.Seq)
		if !strings.Contains(r.Error, "only the server writes") {
			t.Errorf("rejected %d: %q", r.Seq, r.Error)
		}
	}
	if !slices.Equal(seqs, []int64{2, 3, 4, 5, 6}) || ack.HighSeq != 9 || ack.Applied != 4 {
		t.Errorf("ack %+v, want records 2–6 rejected, 9 the highest", ack)
	}
	r, err := srv.Store().GetRun(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	if r.Metadata["job"] != nil || r.Metadata["jobs"] != "mine" || !slices.Equal(r.Tags, []string{"mine", "state"}) {
		t.Errorf("run metadata %v tags %v", r.Metadata, r.Tags)
	}
	for _, call := range [][2]string{{"add_tag", "job"}, {"add_tag", "state=SUCCESS"}, {"add_tag", "solver=y@1"}, {"remove_tag", "mine"}, {"remove_tag", "state=PENDING"}} {
		_, err := c.Call(ctx, call[0], run, call[1])
		var re *rpc.RemoteError
		if call[1] == "mine" {
			if err != nil {
				t.Errorf("%s %q: %v", call[0], call[1], err)
			}
			continue
		}
		if !errors.As(err, &re) || !strings.Contains(re.Message, "only the server writes") {
			t.Errorf("%s %q: %v", call[0], call[1], err)
		}
	}
	if r, _ := srv.Store().GetRun(ctx, run); !slices.Equal(r.Tags, []string{"state"}) {
		t.Errorf("tags %v", r.Tags)
	}
	// The server itself writes them, with Edit.
	if err := srv.Store().Edit(ctx, run, []store.Record{{Kind: store.KindTag, Key: "job"}, {Kind: store.KindMeta, Key: "job", Value: "server"}}); err != nil {
		t.Fatal(err)
	}
}
