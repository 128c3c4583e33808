package sqlite

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/track/store"
)

func TestMemoEntries(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	k := store.MemoKey{Project: "p", Name: "m", Params: "1, 2"}
	if _, err := s.GetMemo(ctx, k); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("absent: %v", err)
	}
	for i, v := range [][]byte{{1}, {2, 3}} {
		e := &store.MemoEntry{Project: k.Project, Name: k.Name, Params: k.Params, Value: v, CRC: uint32(i), ComputedNs: 5, DurationNs: 6, Run: "r"}
		if err := s.PutMemo(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetMemo(ctx, k)
	if err != nil || string(got.Value) != "\x02\x03" || got.CRC != 1 || got.ComputedNs != 5 || got.DurationNs != 6 || got.Run != "r" || got.StoredNs == 0 {
		t.Fatalf("%+v %v", got, err)
	}
	if ok, err := s.MemoExists(ctx, store.MemoKey{Project: "q", Name: "m", Params: "1, 2"}); ok || err != nil {
		t.Fatalf("other project: %v %v", ok, err)
	}
	if err := s.DeleteMemo(ctx, k); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.MemoExists(ctx, k); ok || err != nil {
		t.Fatalf("deleted: %v %v", ok, err)
	}
	err = s.PutMemo(ctx, &store.MemoEntry{Project: "p", Name: strings.Repeat("n", 300)})
	if !errors.Is(err, store.ErrLimit) || !strings.Contains(err.Error(), "MaxKeyLen") {
		t.Fatalf("long name: %v", err)
	}
}
