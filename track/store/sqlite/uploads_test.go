package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStaleUploadsRemovedAtOpen: a .part not written for UploadMaxAge does
// not survive a restart (issue 22: abandoned uploads filled the disk).
func TestStaleUploadsRemovedAtOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir, Options{UploadMaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	sha := strings.Repeat("ab", 32)
	if _, err := s.WriteBlob(ctx, sha, 0, []byte("partial")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	stamp := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "uploads", sha+".part"), stamp, stamp); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, dir, Options{UploadMaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st, err := s.BlobState(ctx, sha); err != nil || st.Received != 0 {
		t.Fatalf("stale upload after reopening: %+v %v, want removed", st, err)
	}
}
