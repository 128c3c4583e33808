package server_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

// TestFreeSpaceWatermark: with the free-space reading below MinFree, a
// new run and an artifact upload are refused as unavailable (the client
// spools and retries) while a run already stored keeps logging; once
// space returns the new run goes in.
func TestFreeSpaceWatermark(t *testing.T) {
	var free atomic.Int64
	free.Store(10 << 30)
	addr, srv := start(t, server.Options{MinFree: 1 << 30, FreeSpace: func() (int64, error) { return free.Load(), nil }})
	c := dial(t, addr)
	ctx := ctxT(t)
	if _, err := logBatch(ctx, c, startRecords("old")); err != nil {
		t.Fatal(err)
	}
	free.Store(100 << 20)

	unavailable := func(what string, err error) {
		t.Helper()
		var re *rpc.RemoteError
		if !errors.As(err, &re) || !store.UnavailableText(re.Message) || !strings.Contains(re.Message, server.ErrLowSpace.Error()) {
			t.Fatalf("%s below the watermark: %v, want store: unavailable … %v", what, err, server.ErrLowSpace)
		}
	}
	_, err := logBatch(ctx, c, startRecords("new"))
	unavailable("new run", err)
	var n int64
	err = c.CallInto(ctx, &n, "write_blob", strings.Repeat("ab", 32), int64(0), []byte("x"))
	unavailable("write_blob", err)
	// In-process callers (jobs) get the error value.
	b := startRecords("new2")
	_, err = srv.Ingest(ctx, &b)
	var ue *store.UnavailableError
	if !errors.As(err, &ue) || !errors.Is(err, server.ErrLowSpace) || !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ingest of a new run below the watermark: %v", err)
	}

	// A stored run still logs, its start's replay included.
	old := startRecords("old")
	old.Records = append(old.Records, store.Record{Seq: 3, Kind: store.KindNote, Value: "still here"})
	if ack, err := logBatch(ctx, c, old); err != nil || ack.HighSeq != 3 {
		t.Fatalf("stored run below the watermark: %+v, %v", ack, err)
	}
	var info map[string]any
	err = c.CallInto(ctx, &info, "get_run", "new")
	if err == nil || strings.Contains(err.Error(), "unavailable") {
		t.Fatalf("refused new run left something behind: %v %v", info, err)
	}

	free.Store(2 << 30)
	if _, err := logBatch(ctx, c, startRecords("new")); err != nil {
		t.Fatal(err)
	}
	if err := c.CallInto(ctx, &n, "write_blob", strings.Repeat("ab", 32), int64(0), []byte("x")); err != nil {
		t.Fatal(err)
	}
}
