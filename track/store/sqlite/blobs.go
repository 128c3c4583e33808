package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/sigoco/sigoco/track/store"
)

// Blobs (artifact contents) are files named by their sha256 beside the
// database: blobs/ab/abcdef… once verified, uploads/abcdef….part while an
// upload is in progress. Uploads resume at the size of the .part file.

func validSha(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func (s *Store) blobPath(sha string) string { return filepath.Join(s.dir, "blobs", sha[:2], sha) }
func (s *Store) partPath(sha string) string { return filepath.Join(s.dir, "uploads", sha+".part") }

func checkSha(sha string) error {
	if !validSha(sha) {
		return fmt.Errorf("%w: %q is not a sha256 in lower-case hex", store.ErrBadRecord, store.ValueText(sha))
	}
	return nil
}

// lockBlob serialises uploads of one blob (two runs may upload the same
// file at once) and returns the unlock function.
func (s *Store) lockBlob(sha string) func() {
	s.blobMu.Lock()
	m, ok := s.blobLk[sha]
	if !ok {
		m = new(sync.Mutex)
		s.blobLk[sha] = m
	}
	s.blobMu.Unlock()
	m.Lock()
	return m.Unlock
}

// BlobState implements store.Store.
func (s *Store) BlobState(ctx context.Context, sha string) (store.BlobState, error) {
	if err := checkSha(sha); err != nil {
		return store.BlobState{}, err
	}
	if _, err := os.Stat(s.blobPath(sha)); err == nil {
		return store.BlobState{Present: true}, nil
	}
	fi, err := os.Stat(s.partPath(sha))
	if errors.Is(err, fs.ErrNotExist) {
		return store.BlobState{}, nil
	}
	if err != nil {
		return store.BlobState{}, fmt.Errorf("sqlite: %w", err)
	}
	return store.BlobState{Received: fi.Size()}, nil
}

// writeBlob is WriteBlob (unavailable.go) before its errors are classified.
func (s *Store) writeBlob(ctx context.Context, sha string, offset int64, data []byte) (int64, error) {
	if err := checkSha(sha); err != nil {
		return 0, err
	}
	defer s.lockBlob(sha)()
	if _, err := os.Stat(s.blobPath(sha)); err == nil {
		return 0, nil // already present: nothing to upload
	}
	f, err := os.OpenFile(s.partPath(sha), os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	if fi.Size() != offset {
		return fi.Size(), fmt.Errorf("%w: upload of %s is at byte %d, not %d (resume from there)", store.ErrBadRecord, sha[:12], fi.Size(), offset)
	}
	if offset+int64(len(data)) > s.limits.MaxBlobSize {
		return fi.Size(), &store.LimitError{Limit: "MaxBlobSize", Item: "artifact " + sha[:12], Size: offset + int64(len(data)), Max: s.limits.MaxBlobSize}
	}
	if _, err := f.WriteAt(data, offset); err != nil {
		return offset, fmt.Errorf("sqlite: %w", err)
	}
	return offset + int64(len(data)), nil
}

// commitBlob is CommitBlob (unavailable.go) before its errors are classified.
func (s *Store) commitBlob(ctx context.Context, sha string) (int64, error) {
	if err := checkSha(sha); err != nil {
		return 0, err
	}
	defer s.lockBlob(sha)()
	if fi, err := os.Stat(s.blobPath(sha)); err == nil {
		return fi.Size(), nil
	}
	part := s.partPath(sha)
	f, err := os.Open(part)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("%w: no upload of %s", store.ErrNotFound, sha[:12])
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	if err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha {
		os.Remove(part)
		return 0, fmt.Errorf("%w: %d bytes uploaded as %s have sha256 %s; upload discarded", store.ErrChecksum, n, sha[:12], got[:12])
	}
	if err := os.MkdirAll(filepath.Dir(s.blobPath(sha)), 0o755); err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	if err := os.Rename(part, s.blobPath(sha)); err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	return n, nil
}

// OpenBlob implements store.Store.
func (s *Store) OpenBlob(ctx context.Context, sha string) (io.ReadSeekCloser, int64, error) {
	if err := checkSha(sha); err != nil {
		return nil, 0, err
	}
	f, err := os.Open(s.blobPath(sha))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("%w: artifact content %s", store.ErrNotFound, sha[:12])
	}
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("sqlite: %w", err)
	}
	return f, fi.Size(), nil
}
