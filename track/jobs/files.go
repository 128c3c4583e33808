package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/sigoco/sigoco/track/store"
)

// chunkSize is the piece StoreFile writes at a time.
const chunkSize = 1 << 20

// StoreFile puts a file's content into the store (content-addressed,
// deduplicated, resumed where an unfinished upload stopped) and returns
// its sha256 and size.
func StoreFile(ctx context.Context, st store.Store, path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	return storeOpen(ctx, st, f, path)
}

// storeOpen is StoreFile of an open file (read from its start); path
// names it in errors.
func storeOpen(ctx context.Context, st store.Store, f *os.File, path string) (string, int64, error) {
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	sha := hex.EncodeToString(h.Sum(nil))
	bs, err := st.BlobState(ctx, sha)
	if err != nil {
		return "", 0, err
	}
	if bs.Present {
		return sha, size, nil
	}
	off := bs.Received
	if off > size {
		off = 0
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return "", 0, err
	}
	if size == 0 {
		if _, err := st.WriteBlob(ctx, sha, 0, []byte{}); err != nil {
			return "", 0, fmt.Errorf("jobs: storing %s: %w", path, err)
		}
	}
	buf := make([]byte, min(chunkSize, size-off+1))
	for {
		n, err := f.Read(buf)
		if n > 0 {
			if off, err = st.WriteBlob(ctx, sha, off, buf[:n]); err != nil {
				return "", 0, fmt.Errorf("jobs: storing %s: %w", path, err)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", 0, err
		}
	}
	if _, err := st.CommitBlob(ctx, sha); err != nil {
		return "", 0, fmt.Errorf("jobs: storing %s: %w", path, err)
	}
	return sha, size, nil
}

// copyBlob writes a stored file's content to path.
func copyBlob(ctx context.Context, st store.Store, sha, path string) error {
	r, _, err := st.OpenBlob(ctx, sha)
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|openNoFollow, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
