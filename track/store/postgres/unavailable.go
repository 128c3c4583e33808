package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sigoco/sigoco/track/store"
)

// unavailable returns err as a *store.UnavailableError when it is a storage
// failure that is not the records' fault — the database unreachable or
// restarting (connection errors, SQLSTATE class 08 and 57), a transaction
// rolled back for a serialisation failure or a deadlock (40), out of
// resources (53: disk full, out of memory, too many connections), a system
// error (58), a full blob directory — so that the client keeps the batch
// and retries; any other error as it is.
func unavailable(err error) error {
	if err == nil {
		return nil
	}
	var ue *store.UnavailableError
	if errors.As(err, &ue) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		if len(pe.Code) >= 2 {
			switch pe.Code[:2] {
			case "08", "40", "53", "57", "58":
				return &store.UnavailableError{Err: err}
			}
		}
		return err
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || pgconn.Timeout(err) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &store.UnavailableError{Err: err}
	}
	var fe *fatalError
	if errors.As(err, &fe) && errors.Is(err, io.EOF) {
		return &store.UnavailableError{Err: err}
	}
	for _, errno := range []error{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EPIPE, syscall.ENOSPC, syscall.EFBIG, syscall.EDQUOT, syscall.EIO, syscall.EROFS} {
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
