package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track/store"
)

// TestRunIDsAndServerOnly: no bad run id enters the store (Ingest,
// CreateRun); Ingest rejects the records only the server writes and
// Edit takes them.
func TestRunIDsAndServerOnly(t *testing.T) {
	s := openStore(t, Options{})
	ctx := context.Background()
	now := time.Now().UnixNano()
	for _, id := range []string{"../../x", "a/b", "", ".."} {
		_, err := s.Ingest(ctx, &store.Batch{Run: id, Records: []store.Record{{Seq: 1, Kind: store.KindStart, Key: "p", Time: now}}})
		if !errors.Is(err, store.ErrBadRunID) {
			t.Errorf("Ingest %q: %v", id, err)
		}
		if err := s.CreateRun(ctx, id, "p", "n"); !errors.Is(err, store.ErrBadRunID) {
			t.Errorf("CreateRun %q: %v", id, err)
		}
	}
	ack, err := s.Ingest(ctx, &store.Batch{Run: "r", Records: []store.Record{
		{Seq: 1, Kind: store.KindStart, Key: "p", Time: now},
		{Seq: 2, Kind: store.KindMeta, Key: "job", Value: "forged", Time: now},
		{Seq: 3, Kind: store.KindTag, Key: "state=PENDING", Time: now},
	}})
	if err != nil || len(ack.Rejected) != 2 || ack.HighSeq != 3 || ack.Gap != 0 {
		t.Fatalf("ack %+v %v", ack, err)
	}
	if err := s.Edit(ctx, "r", []store.Record{{Kind: store.KindMeta, Key: "job", Value: "server"}, {Kind: store.KindTag, Key: "job"}}); err != nil {
		t.Fatal(err)
	}
	r, err := s.GetRun(ctx, "r")
	if err != nil || r.Metadata["job"] != "server" || len(r.Tags) != 1 || r.Tags[0] != "job" {
		t.Fatalf("run %+v %v", r, err)
	}
}
