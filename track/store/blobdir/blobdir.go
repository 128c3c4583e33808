// Package blobdir is the file store of blobs (artifact contents) that the
// SQLite and PostgreSQL stores share: files named by their sha256 under a
// directory, blobs/ab/abcdef… once verified, uploads/abcdef….part while an
// upload is in progress. Uploads resume at the size of the .part file.
package blobdir

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

// Dir is a blob directory. Its methods are safe for concurrent use.
type Dir struct {
	root    string
	prefix  string // of wrapped errors, e.g. "sqlite"
	maxSize int64  // store.Limits.MaxBlobSize

	mu    sync.Mutex             // guards locks
	locks map[string]*sync.Mutex // one per upload in progress (this process)
}

// Open makes (if needed) the directories of root and returns the Dir.
// prefix starts the text of the errors it wraps ("sqlite: …"); maxSize
// bounds one blob (store.Limits.MaxBlobSize).
func Open(root, prefix string, maxSize int64) (*Dir, error) {
	for _, d := range []string{root, filepath.Join(root, "blobs"), filepath.Join(root, "uploads")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("%s: %w", prefix, err)
		}
	}
	return &Dir{root: root, prefix: prefix, maxSize: maxSize, locks: map[string]*sync.Mutex{}}, nil
}

func (d *Dir) wrap(err error) error { return fmt.Errorf("%s: %w", d.prefix, err) }

func (d *Dir) blobPath(sha string) string { return filepath.Join(d.root, "blobs", sha[:2], sha) }
func (d *Dir) partPath(sha string) string { return filepath.Join(d.root, "uploads", sha+".part") }

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

func checkSha(sha string) error {
	if !validSha(sha) {
		return fmt.Errorf("%w: %q is not a sha256 in lower-case hex", store.ErrBadRecord, store.ValueText(sha))
	}
	return nil
}

// lock serialises uploads of one blob (two runs may upload the same file
// at once) within this process (nodes sharing a directory are not
// serialised yet: docs/postgres.md) and returns the unlock function.
func (d *Dir) lock(sha string) func() {
	d.mu.Lock()
	m, ok := d.locks[sha]
	if !ok {
		m = new(sync.Mutex)
		d.locks[sha] = m
	}
	d.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// State implements store.Store.BlobState.
func (d *Dir) State(ctx context.Context, sha string) (store.BlobState, error) {
	if err := checkSha(sha); err != nil {
		return store.BlobState{}, err
	}
	if _, err := os.Stat(d.blobPath(sha)); err == nil {
		return store.BlobState{Present: true}, nil
	}
	fi, err := os.Stat(d.partPath(sha))
	if errors.Is(err, fs.ErrNotExist) {
		return store.BlobState{}, nil
	}
	if err != nil {
		return store.BlobState{}, d.wrap(err)
	}
	return store.BlobState{Received: fi.Size()}, nil
}

// Write implements store.Store.WriteBlob (before its errors are
// classified).
func (d *Dir) Write(ctx context.Context, sha string, offset int64, data []byte) (int64, error) {
	if err := checkSha(sha); err != nil {
		return 0, err
	}
	defer d.lock(sha)()
	if _, err := os.Stat(d.blobPath(sha)); err == nil {
		return 0, nil // already present: nothing to upload
	}
	f, err := os.OpenFile(d.partPath(sha), os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, d.wrap(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, d.wrap(err)
	}
	if fi.Size() != offset {
		return fi.Size(), fmt.Errorf("%w: upload of %s is at byte %d, not %d (resume from there)", store.ErrBadRecord, sha[:12], fi.Size(), offset)
	}
	if offset+int64(len(data)) > d.maxSize {
		return fi.Size(), &store.LimitError{Limit: "MaxBlobSize", Item: "artifact " + sha[:12], Size: offset + int64(len(data)), Max: d.maxSize}
	}
	if _, err := f.WriteAt(data, offset); err != nil {
		return offset, d.wrap(err)
	}
	return offset + int64(len(data)), nil
}

// Commit implements store.Store.CommitBlob (before its errors are
// classified).
func (d *Dir) Commit(ctx context.Context, sha string) (int64, error) {
	if err := checkSha(sha); err != nil {
		return 0, err
	}
	defer d.lock(sha)()
	if fi, err := os.Stat(d.blobPath(sha)); err == nil {
		return fi.Size(), nil
	}
	part := d.partPath(sha)
	f, err := os.Open(part)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("%w: no upload of %s", store.ErrNotFound, sha[:12])
	}
	if err != nil {
		return 0, d.wrap(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	if err != nil {
		return 0, d.wrap(err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha {
		os.Remove(part)
		return 0, fmt.Errorf("%w: %d bytes uploaded as %s have sha256 %s; upload discarded", store.ErrChecksum, n, sha[:12], got[:12])
	}
	if err := os.MkdirAll(filepath.Dir(d.blobPath(sha)), 0o755); err != nil {
		return 0, d.wrap(err)
	}
	if err := os.Rename(part, d.blobPath(sha)); err != nil {
		return 0, d.wrap(err)
	}
	return n, nil
}

// OpenBlob implements store.Store.OpenBlob.
func (d *Dir) OpenBlob(ctx context.Context, sha string) (io.ReadSeekCloser, int64, error) {
	if err := checkSha(sha); err != nil {
		return nil, 0, err
	}
	f, err := os.Open(d.blobPath(sha))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("%w: artifact content %s", store.ErrNotFound, sha[:12])
	}
	if err != nil {
		return nil, 0, d.wrap(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, d.wrap(err)
	}
	return f, fi.Size(), nil
}
