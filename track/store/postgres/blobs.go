package postgres

import (
	"context"
	"io"

	"github.com/sigoco/sigoco/track/store"
)

// Blobs (artifact contents) are in the database (blobsdb.go) with
// Options.BlobsInDatabase, else files named by their sha256 (package
// track/store/blobdir): blobs/ab/abcdef… once verified, uploads/abcdef….part
// while an upload is in progress. Uploads resume at the size of the .part
// file.

// BlobState implements store.Store.
func (s *Store) BlobState(ctx context.Context, sha string) (store.BlobState, error) {
	return s.blobs.State(ctx, sha)
}

// writeBlob is WriteBlob (unavailable.go) before its errors are classified.
func (s *Store) writeBlob(ctx context.Context, sha string, offset int64, data []byte) (int64, error) {
	return s.blobs.Write(ctx, sha, offset, data)
}

// commitBlob is CommitBlob (unavailable.go) before its errors are classified.
func (s *Store) commitBlob(ctx context.Context, sha string) (int64, error) {
	return s.blobs.Commit(ctx, sha)
}

// OpenBlob implements store.Store.
func (s *Store) OpenBlob(ctx context.Context, sha string) (io.ReadSeekCloser, int64, error) {
	return s.blobs.OpenBlob(ctx, sha)
}
