package track_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

// TestReaderLargeValues: GetRun returns a marker for a large param (issue
// 22: reading such runs took the server down) and Value returns it in
// full; a value the readers could not return is refused at ingest.
func TestReaderLargeValues(t *testing.T) {
	ts := startServer(t, "", "", server.Options{})
	ctx := ctxT(t, 30*time.Second)
	run, err := track.Start(ctx, track.Options{Project: "big", Addr: ts.addr, SpoolDir: t.TempDir(), NoSource: true, NoMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("v", 200<<10)
	run.LogParam("big", big)
	run.LogParam("small", 3)
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}
	rd, err := track.Open(ctx, ts.addr, track.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	info, err := rd.GetRun(ctx, run.ID())
	if err != nil {
		t.Fatal(err)
	}
	if !store.IsTruncated(info.Params["big"]) || info.Params["small"] != int64(3) {
		t.Fatalf("params %v", info.Params)
	}
	v, err := rd.Value(ctx, run.ID(), store.KindParam, "big")
	if err != nil || v != big {
		t.Fatalf("Value: %T, %v", v, err)
	}
}
