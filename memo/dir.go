package memo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// DefaultMaxFileSize is DirOptions.MaxFileSize's default: 4 GiB.
const DefaultMaxFileSize = 4 << 30

// DirOptions configure a DirStorage; the zero value works.
type DirOptions struct {
	// MaxFileSize: a larger entry file is reported as corrupt rather than
	// read into memory. 0 means DefaultMaxFileSize.
	MaxFileSize int64
	// NoSync skips fsync of each written file (faster, but an entry written
	// just before a power cut may be lost; it is never corrupt, as the file
	// is checksummed).
	NoSync bool
}

// DirStorage keeps one file per entry in a directory, shared safely by
// any number of processes:
//
//	DIR/NAME/PARAMS.HASH.npy      an array value: a numpy .npy file
//	DIR/NAME/PARAMS.HASH.npz      several arrays (a map of them, or a list): a numpy .npz file
//	DIR/NAME/PARAMS.HASH.msgpack  any other value, as msgpack
//
// where PARAMS is the parameters made file-name safe (shortened) and
// HASH 16 hex digits of the SHA-256 of the key. numpy.load reads the .npy
// and .npz files as they are. Each file ends with the entry's metadata (key, dates,
// run) and a CRC-32C, so a truncated or damaged file is detected and
// reported as corrupt, never returned. Files are written to a temporary
// file in the same directory and renamed, so readers see the old file or
// the new one; a process killed mid-write leaves at most a ".tmp-*" file,
// which the first Save of that metric by a later DirStorage removes once it
// is an hour old.
//
// # Locking
//
// Lock takes an exclusive flock(2) on DIR/NAME/PARAMS.HASH.lock. The
// kernel releases it when its holder exits or is killed, so a crashed
// process never blocks the others: the rule for stale locks is that there
// are none. A lock file left behind is harmless (it is reused). On systems
// without flock, Lock only excludes goroutines of this process. flock works
// on local file systems and NFSv4; on other network file systems processes
// on different machines may both compute an entry (the result is still
// consistent, one file replaces the other).
type DirStorage struct {
	dir   string
	opts  DirOptions
	swept sync.Map // metric directories already cleared of old temporary files
}

// OpenDir returns a DirStorage in dir, creating the directory if needed.
func OpenDir(dir string, opts DirOptions) (*DirStorage, error) {
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("memo: %w", err)
	}
	return &DirStorage{dir: dir, opts: opts}, nil
}

// Dir is the storage's directory.
func (s *DirStorage) Dir() string { return s.dir }

// Path returns the file an entry is stored in when its value is an array
// (ext "npy"), several arrays ("npz") or anything else ("msgpack"), for
// programs that read the files directly (numpy.load).
func (s *DirStorage) Path(key Key, ext string) string {
	return s.base(key) + "." + ext
}

func (s *DirStorage) base(key Key) string {
	sum := sha256.Sum256([]byte(key.String()))
	return filepath.Join(s.dir, key.Name, safeParams(key.Params)+"."+hex.EncodeToString(sum[:8]))
}

// safeParams: the parameters with every run of characters other than
// letters, digits, '-' and '.' replaced by '_', at most 64 bytes; "_" for
// none. (The hash makes file names unique; this makes them readable.)
func safeParams(p string) string {
	var b strings.Builder
	under := false
	for i := 0; i < len(p) && b.Len() < 64; i++ {
		c := p[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' {
			b.WriteByte(c)
			under = false
		} else if !under {
			b.WriteByte('_')
			under = true
		}
	}
	s := strings.Trim(b.String(), "_.")
	if s == "" {
		return "_"
	}
	return s
}

// fileKinds are the extensions of entry files, one per kind of value.
var fileKinds = [...]string{"npy", "npz", "msgpack"}

// Load reads the entry. When files of several kinds exist (a
// crash between a Save that changed the value's kind and its cleanup) the
// later computed one wins.
func (s *DirStorage) Load(ctx context.Context, key Key) (*Entry, error) {
	if !validName(key.Name) {
		return nil, fmt.Errorf("%w: invalid metric name %q", ErrParams, key.Name)
	}
	var best *Entry
	var firstErr error
	for _, ext := range fileKinds {
		e, err := s.loadFile(key, s.Path(key, ext))
		switch {
		case err == nil:
			if best == nil || e.Computed.After(best.Computed) {
				best = e
			}
		case errors.Is(err, ErrNotFound):
		case firstErr == nil:
			firstErr = err
		}
	}
	if best != nil {
		return best, nil
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
}

func (s *DirStorage) loadFile(key Key, path string) (*Entry, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("memo: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("memo: %w", err)
	}
	if fi.Size() > s.opts.MaxFileSize {
		return nil, &CorruptError{Key: key, Path: path, Reason: fmt.Sprintf("%d bytes, more than MaxFileSize", fi.Size())}
	}
	b := make([]byte, fi.Size())
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, &CorruptError{Key: key, Path: path, Reason: err.Error()}
	}
	e, err := decodeFile(b)
	if err != nil {
		return nil, &CorruptError{Key: key, Path: path, Reason: err.Error()}
	}
	if e.Key != key {
		return nil, &CorruptError{Key: key, Path: path, Reason: "holds " + e.Key.String()}
	}
	return e, nil
}

// Exists reports whether an entry file is present (without reading it);
// GetAll uses it to skip stored entries.
func (s *DirStorage) Exists(ctx context.Context, key Key) (bool, error) {
	for _, ext := range fileKinds {
		if _, err := os.Stat(s.Path(key, ext)); err == nil {
			return true, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("memo: %w", err)
		}
	}
	return false, nil
}

// Save writes the entry atomically (temporary file, fsync, rename).
func (s *DirStorage) Save(ctx context.Context, e *Entry) error {
	if !validName(e.Key.Name) {
		return fmt.Errorf("%w: invalid metric name %q", ErrParams, e.Key.Name)
	}
	b, kind, err := encodeFile(e)
	if err != nil {
		return fmt.Errorf("memo: %s: %w", e.Key, err)
	}
	path := s.Path(e.Key, kind)
	dir := filepath.Dir(path)
	if err := writeFileAtomic(path, b, !s.opts.NoSync); err != nil {
		return err
	}
	for _, other := range fileKinds {
		if other == kind {
			continue
		}
		if err := os.Remove(s.Path(e.Key, other)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("memo: %w", err)
		}
	}
	if _, done := s.swept.LoadOrStore(dir, true); !done {
		removeOldTemps(dir)
	}
	return nil
}

// Delete removes the entry's files.
func (s *DirStorage) Delete(ctx context.Context, key Key) error {
	for _, ext := range fileKinds {
		if err := os.Remove(s.Path(key, ext)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("memo: %w", err)
		}
	}
	return nil
}

// writeFileAtomic writes b to a temporary file beside path, syncs it
// (when sync), and renames it to path.
func writeFileAtomic(path string, b []byte, sync bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("memo: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("memo: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(b); err != nil {
		return fmt.Errorf("memo: %w", err)
	}
	if sync {
		if err := tmp.Sync(); err != nil {
			return fmt.Errorf("memo: %w", err)
		}
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("memo: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("memo: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("memo: %w", err)
	}
	ok = true
	return nil
}
