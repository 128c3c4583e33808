package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/sqlite"
	"github.com/sigoco/sigoco/wire/auth"
)

// TestUploadQuota: partial upload bytes are bounded per identity
// (MaxUploadBytes) and in all (MaxUploadTotal) with a *store.LimitError;
// a commit frees the identity's count, and so does an upload going stale.
func TestUploadQuota(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now()
	srv, err := New(ctx, st, Options{MaxUploadBytes: 64 << 10, MaxUploadTotal: 100 << 10, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	tr := srv.tracker
	alice := auth.NewContext(ctx, auth.Identity{Name: "alice", Role: auth.Runner})
	bob := auth.NewContext(ctx, auth.Identity{Name: "bob", Role: auth.Runner})
	blob := func(b byte, n int) ([]byte, string) {
		data := []byte(strings.Repeat(string(rune(b)), n))
		h := sha256.Sum256(data)
		return data, hex.EncodeToString(h[:])
	}
	write := func(ctx context.Context, sha string, off int64, data []byte) error {
		t.Helper()
		_, err := tr.WriteBlob(ctx, sha, off, data)
		return err
	}
	refused := func(err error, limit string) {
		t.Helper()
		var le *store.LimitError
		if !errors.As(err, &le) || le.Limit != limit || !errors.Is(err, store.ErrLimit) {
			t.Fatalf("got %v, want refused by %s", err, limit)
		}
	}

	a, shaA := blob('a', 50<<10)
	if err := write(alice, shaA, 0, a[:30<<10]); err != nil {
		t.Fatal(err)
	}
	if err := write(alice, shaA, 30<<10, a[30<<10:]); err != nil { // alice: 54 KiB
		t.Fatal(err)
	}
	b, shaB := blob('b', 20<<10)
	refused(write(alice, shaB, 0, b), "MaxUploadBytes")
	if st, _ := tr.BlobState(ctx, shaB); st.Received != 0 {
		t.Fatalf("refused write stored %d bytes", st.Received)
	}

	c, shaC := blob('c', 40<<10)
	if err := write(bob, shaC, 0, c); err != nil { // bob: 44 KiB, all: 98 KiB
		t.Fatal(err)
	}
	_, shaD := blob('d', 1)
	refused(write(bob, shaD, 0, []byte("d")), "MaxUploadTotal")

	// Committing frees alice's count.
	if _, err := tr.CommitBlob(alice, shaA); err != nil {
		t.Fatal(err)
	}
	if err := write(alice, shaB, 0, b); err != nil {
		t.Fatalf("after committing: %v", err)
	}

	// A day on, bob's upload of C is stale and no longer counts.
	e, shaE := blob('e', 40<<10)
	refused(write(bob, shaE, 0, e), "MaxUploadBytes")
	now = now.Add(25 * time.Hour)
	if err := write(bob, shaE, 0, e); err != nil {
		t.Fatalf("after C went stale: %v", err)
	}

	// A write of a blob already present counts nothing.
	srv.uploads.mu.Lock()
	before := srv.uploads.sum
	srv.uploads.mu.Unlock()
	if err := write(bob, shaA, 0, a[:10]); err != nil {
		t.Fatal(err)
	}
	srv.uploads.mu.Lock()
	after := srv.uploads.sum
	srv.uploads.mu.Unlock()
	if after != before {
		t.Fatalf("writing a present blob counted %d bytes", after-before)
	}
}
