package sqlite

import (
	"context"
	"errors"
	"syscall"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sigoco/sigoco/track/store"
)

// unavailable returns err as a *store.UnavailableError when it is a storage
// failure that is not the records' fault — the database or its disk full,
// an I/O error (a file-size limit gives one), busy or locked, out of
// memory, read-only — so that the client keeps the batch and retries; any
// other error as it is.
func unavailable(err error) error {
	if err == nil {
		return nil
	}
	var ue *store.UnavailableError
	if errors.As(err, &ue) {
		return err
	}
	var se *msqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff { // the primary result code
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED,
			sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL:
			return &store.UnavailableError{Err: err}
		}
		return err
	}
	for _, errno := range []error{syscall.ENOSPC, syscall.EFBIG, syscall.EDQUOT, syscall.EIO, syscall.EROFS} {
		if errors.Is(err, errno) {
			return &store.UnavailableError{Err: err}
		}
	}
	return err
}

// AppendLogs implements store.Store.
func (s *Store) AppendLogs(ctx context.Context, logs []store.LogEntry) (int, error) {
	n, err := s.appendLogs(ctx, logs)
	return n, unavailable(err)
}

// WriteBlob implements store.Store.
func (s *Store) WriteBlob(ctx context.Context, sha string, offset int64, data []byte) (int64, error) {
	n, err := s.writeBlob(ctx, sha, offset, data)
	return n, unavailable(err)
}

// CommitBlob implements store.Store.
func (s *Store) CommitBlob(ctx context.Context, sha string) (int64, error) {
	n, err := s.commitBlob(ctx, sha)
	return n, unavailable(err)
}
