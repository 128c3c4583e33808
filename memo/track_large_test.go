package memo

import (
	"strings"
	"testing"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

// TestTrackLargeValueInParts: a value over the server's 1 MiB reply part
// (track/server.MemoChunk) comes back whole, read in parts; get alone
// answers only the first part and the size.
func TestTrackLargeValueInParts(t *testing.T) {
	addr, _ := startTrackd(t, server.MemoOptions{})
	ctx := testCtx(t)
	s := openTrack(t, addr, "p")
	big := strings.Repeat("0123456789abcdef", (9<<20)/16) // 9 MiB: nine parts
	key := Key{"m", "big"}
	if err := s.Save(ctx, &Entry{Key: key, Value: big}); err != nil {
		t.Fatal(err)
	}
	e, err := s.Load(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if e.Value != big {
		t.Fatalf("value of %T came back different", e.Value)
	}
	c, err := rpc.Dial(ctx, addr, TrackTarget, rpc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got server.MemoGot
	if err := c.CallInto(ctx, &got, "get", store.MemoKey{Project: "p", Name: "m", Params: "big"}); err != nil {
		t.Fatal(err)
	}
	if !got.Found || len(got.Entry.Value) != server.MemoChunk || got.Size <= server.MemoChunk {
		t.Fatalf("get of a 9 MiB entry: %d bytes, size %d", len(got.Entry.Value), got.Size)
	}
}
