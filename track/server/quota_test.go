package server

import (
	"context"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/sqlite"
	"github.com/sigoco/sigoco/wire/auth"
)

// TestMemoLeaseQuota: one identity holds at most Quotas.MaxLeases
// leases; at its quota it takes over its own expired lease (no double
// release), another identity is not held back, and an unlock makes room.
func TestMemoLeaseQuota(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv, err := New(ctx, st, Options{Quotas: Quotas{MaxLeases: 2}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	m, err := NewMemo(srv, MemoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	alice := auth.NewContext(ctx, auth.Identity{Name: "alice", Role: auth.Runner})
	bob := auth.NewContext(ctx, auth.Identity{Name: "bob", Role: auth.Runner})
	key := func(s string) store.MemoKey { return store.MemoKey{Project: "p", Name: "n", Params: s} }
	lock := func(ctx context.Context, k string, ttlMs int64) (string, error) { return m.Lock(ctx, key(k), ttlMs, 0) }
	if _, err := lock(alice, "short", 50); err != nil {
		t.Fatal(err)
	}
	long, err := lock(alice, "long", 60_000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock(alice, "third", 60_000); !store.IsQuota(err) {
		t.Fatalf("third lease: %v, want a quota error", err)
	}
	if tok, err := lock(bob, "third", 60_000); err != nil || tok == "" {
		t.Fatalf("bob's lease: %q %v", tok, err)
	}
	// At the quota, alice takes over her own lease once it expired.
	for deadline := time.Now().Add(10 * time.Second); ; {
		tok, err := lock(alice, "short", 60_000)
		if err == nil && tok != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the expired lease was not taken over: %q %v", tok, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := m.Unlock(alice, key("long"), long); err != nil {
		t.Fatal(err)
	}
	if tok, err := lock(alice, "fourth", 60_000); err != nil || tok == "" {
		t.Errorf("a lease after an unlock: %q %v", tok, err)
	}
}
