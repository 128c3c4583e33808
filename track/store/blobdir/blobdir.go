// Package blobdir is the file store of blobs (artifact contents) that the
// SQLite and PostgreSQL stores share: files named by their sha256 under a
// directory, blobs/ab/abcdef… once verified, uploads/abcdef….part while an
// upload is in progress. Uploads resume at the size of the .part file.
//
// A .part file not written for Options.PartMaxAge (default 24 h) is stale:
// its upload was abandoned (a client that crashed, or one filling the disk
// with uploads it never commits). Stale parts are removed when the Dir is
// opened and then on writes, at most every PartMaxAge/24 (an hour by
// default); a client resuming one afterwards is told to start again at 0.
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
	"strings"
	"sync"
	"time"

	"github.com/sigoco/sigoco/track/store"
)

// DefaultPartMaxAge is Options.PartMaxAge's default.
const DefaultPartMaxAge = 24 * time.Hour

// Options configures Open.
type Options struct {
	// MaxSize bounds one blob (store.Limits.MaxBlobSize). Required.
	MaxSize int64
	// PartMaxAge: a partial upload not written for this long is removed.
	// Default DefaultPartMaxAge (24 h).
	PartMaxAge time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Dir is a blob directory. Its methods are safe for concurrent use.
type Dir struct {
	root   string
	prefix string // of wrapped errors, e.g. "sqlite"
	opts   Options

	mu     sync.Mutex             // guards locks, lastGC
	locks  map[string]*sync.Mutex // one per upload in progress (this process)
	lastGC time.Time              // of the last sweep of stale parts
}

// Open makes (if needed) the directories of root, removes its stale
// partial uploads and returns the Dir. prefix starts the text of the
// errors it wraps ("sqlite: …").
func Open(root, prefix string, opts Options) (*Dir, error) {
	if opts.PartMaxAge <= 0 {
		opts.PartMaxAge = DefaultPartMaxAge
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	for _, d := range []string{root, filepath.Join(root, "blobs"), filepath.Join(root, "uploads")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("%s: %w", prefix, err)
		}
	}
	d := &Dir{root: root, prefix: prefix, opts: opts, locks: map[string]*sync.Mutex{}}
	d.lastGC = opts.Now()
	if _, err := d.RemoveStale(); err != nil {
		return nil, err
	}
	return d, nil
}

// RemoveStale removes the partial uploads not written for PartMaxAge and
// returns their shas. Open and Write call it; it is exported for tests and
// for callers that keep their own account of uploads.
func (d *Dir) RemoveStale() ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(d.root, "uploads"))
	if err != nil {
		return nil, d.wrap(err)
	}
	var removed []string
	for _, e := range ents {
		sha, ok := strings.CutSuffix(e.Name(), ".part")
		if !ok || !validSha(sha) || !d.stale(e) {
			continue
		}
		unlock := d.lock(sha)
		fi, err := os.Stat(d.partPath(sha)) // again, under the lock: a write may have come in
		if err == nil && d.opts.Now().Sub(fi.ModTime()) > d.opts.PartMaxAge && os.Remove(d.partPath(sha)) == nil {
			removed = append(removed, sha)
		}
		unlock()
	}
	return removed, nil
}

func (d *Dir) stale(e fs.DirEntry) bool {
	fi, err := e.Info()
	return err == nil && d.opts.Now().Sub(fi.ModTime()) > d.opts.PartMaxAge
}

// maybeRemoveStale runs RemoveStale if the last run is PartMaxAge/24 old.
// It is called before a write takes its blob's lock.
func (d *Dir) maybeRemoveStale() {
	now := d.opts.Now()
	d.mu.Lock()
	due := now.Sub(d.lastGC) >= d.opts.PartMaxAge/24
	if due {
		d.lastGC = now
	}
	d.mu.Unlock()
	if due {
		d.RemoveStale()
	}
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

// CheckSha returns store.ErrBadRecord unless sha is a sha256 in lower-case
// hex (64 characters), which makes it safe as a file name or a key.
func CheckSha(sha string) error {
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
	if err := CheckSha(sha); err != nil {
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
	if err := CheckSha(sha); err != nil {
		return 0, err
	}
	d.maybeRemoveStale()
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
	if offset+int64(len(data)) > d.opts.MaxSize {
		return fi.Size(), &store.LimitError{Limit: "MaxBlobSize", Item: "artifact " + sha[:12], Size: offset + int64(len(data)), Max: d.opts.MaxSize}
	}
	if _, err := f.WriteAt(data, offset); err != nil {
		return offset, d.wrap(err)
	}
	return offset + int64(len(data)), nil
}

// Commit implements store.Store.CommitBlob (before its errors are
// classified).
func (d *Dir) Commit(ctx context.Context, sha string) (int64, error) {
	if err := CheckSha(sha); err != nil {
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
	if err := CheckSha(sha); err != nil {
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
