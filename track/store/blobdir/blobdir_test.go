package blobdir_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/blobdir"
)

func shaOf(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// TestUploadResumeCommit: an upload resumes at the .part size, a wrong
// offset is refused, a commit verifies and the blob reads back; a
// mismatch discards the upload.
func TestUploadResumeCommit(t *testing.T) {
	ctx := context.Background()
	d, err := blobdir.Open(t.TempDir(), "test", 1<<20)
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
