package blobdir_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/blobdir"
)

func shaOf(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// TestUploadResumeCommit: an upload resumes at the .part size, a wrong
// offset is refused, a commit verifies and the blob reads back; a
// mismatch discards the upload.
func TestUploadResumeCommit(t *testing.T) {
	ctx := context.Background()
	d, err := blobdir.Open(t.TempDir(), "test", blobdir.Options{MaxSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("hello, blob")
	sha := shaOf(data)
	if n, err := d.Write(ctx, sha, 0, data[:5]); err != nil || n != 5 {
		t.Fatalf("write: %d %v", n, err)
	}
	if st, err := d.State(ctx, sha); err != nil || st.Received != 5 || st.Present {
		t.Fatalf("state: %+v %v", st, err)
	}
	if _, err := d.Write(ctx, sha, 3, data[3:]); !errors.Is(err, store.ErrBadRecord) {
		t.Fatalf("write at a wrong offset: %v", err)
	}
	if n, err := d.Write(ctx, sha, 5, data[5:]); err != nil || n != int64(len(data)) {
		t.Fatalf("resume: %d %v", n, err)
	}
	if n, err := d.Commit(ctx, sha); err != nil || n != int64(len(data)) {
		t.Fatalf("commit: %d %v", n, err)
	}
	f, size, err := d.OpenBlob(ctx, sha)
	if err != nil || size != int64(len(data)) {
		t.Fatalf("open: %d %v", size, err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if string(got) != string(data) {
		t.Fatalf("read %q", got)
	}
	bad := shaOf([]byte("other"))
	d.Write(ctx, bad, 0, data)
	if _, err := d.Commit(ctx, bad); !errors.Is(err, store.ErrChecksum) {
		t.Fatalf("commit of a mismatch: %v", err)
	}
	if st, _ := d.State(ctx, bad); st.Received != 0 {
		t.Fatalf("mismatched upload kept: %+v", st)
	}
	if _, err := d.Write(ctx, sha256hex(2<<20), 0, make([]byte, 2<<20)); !errors.Is(err, store.ErrLimit) {
		t.Fatalf("write over MaxBlobSize: %v", err)
	}
}

func sha256hex(n int) string { return shaOf(make([]byte, n)) }

// TestRemoveStale: a partial upload not written for PartMaxAge is removed
// at Open and, with the clock moved on, on a later write; a fresh one and
// committed blobs stay.
func TestRemoveStale(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	now := time.Now()
	clock := func() time.Time { return now }
	d, err := blobdir.Open(root, "test", blobdir.Options{MaxSize: 1 << 20, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	old, fresh, done := shaOf([]byte("old")), shaOf([]byte("fresh")), []byte("done")
	for _, sha := range []string{old, fresh} {
		if _, err := d.Write(ctx, sha, 0, []byte("xx")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.Write(ctx, shaOf(done), 0, done); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Commit(ctx, shaOf(done)); err != nil {
		t.Fatal(err)
	}
	stamp := now.Add(-25 * time.Hour)
	if err := os.Chtimes(filepath.Join(root, "uploads", old+".part"), stamp, stamp); err != nil {
		t.Fatal(err)
	}
	received := func(d *blobdir.Dir, sha string) int64 {
		st, err := d.State(ctx, sha)
		if err != nil {
			t.Fatal(err)
		}
		return st.Received
	}
	d, err = blobdir.Open(root, "test", blobdir.Options{MaxSize: 1 << 20, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if received(d, old) != 0 || received(d, fresh) != 2 {
		t.Fatalf("after Open: old has %d bytes (want 0, removed), fresh %d (want 2)", received(d, old), received(d, fresh))
	}
	if st, _ := d.State(ctx, shaOf(done)); !st.Present {
		t.Fatal("committed blob removed")
	}

	// Lazily on writes: 23 h on, fresh is not stale yet; 25 h on it is,
	// and a write of another blob removes it.
	now = now.Add(23 * time.Hour)
	d.Write(ctx, shaOf([]byte("other")), 0, []byte("o"))
	if received(d, fresh) != 2 {
		t.Fatal("part removed before PartMaxAge")
	}
	now = now.Add(2 * time.Hour)
	d.Write(ctx, shaOf([]byte("other")), 1, []byte("o"))
	if received(d, fresh) != 0 {
		t.Fatal("stale part not removed on a write")
	}
	if n, err := d.Write(ctx, fresh, 2, []byte("x")); !errors.Is(err, store.ErrBadRecord) || n != 0 {
		t.Fatalf("resuming a removed part: %d %v, want told to start at 0", n, err)
	}
}
