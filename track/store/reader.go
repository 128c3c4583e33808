package store

import (
	"context"
	"errors"
	"fmt"
)

// # Reading
//
// The read side of a backend is written once, here, as Reader: bounded
// views of a run (ViewRun), lists and queries of runs (ListRuns,
// QueryRuns), series with streaming downsampling, logs. A backend gives it
// a Querier (its read connections) and a Dialect (what differs in its SQL)
// and embeds it, as it hands a RunTx to the rules for writes. The SQL is
// written with ? placeholders; a backend whose driver wants others
// rewrites them in Querier.

// Rows is a backend's result set, as database/sql's and pgx's are.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Row is one row of a result; its Scan returns ErrNoRows when there is
// none.
type Row interface {
	Scan(dest ...any) error
}

// ErrNoRows is what Row.Scan of a Querier returns for a query that found
// nothing.
var ErrNoRows = errors.New("store: no rows")

// Querier runs the Reader's queries on a backend's read connections. The
// queries use ? placeholders, booleans as the Dialect writes them; a
// boolean column scans into a *bool.
type Querier interface {
	Query(ctx context.Context, q string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, q string, args ...any) Row
	// BlobState tells whether an artifact's blob is present.
	BlobState(ctx context.Context, sha256 string) (BlobState, error)
}

// Dialect is what differs between the backends' read SQL.
type Dialect struct {
	// Name prefixes the backend's errors ("sqlite", "postgres").
	Name string
	// True and False are the literals of the boolean columns (crashed,
	// archived, scalar, result).
	True, False string
	// NotesQuery selects, for placeholders (cut, run, limit), the newest
	// notes of a run as (time, the text's length in bytes, its first cut
	// bytes), newest first.
	NotesQuery string
	// HexByte1 is an expression of the first byte of the blob %s, as two
	// upper-case hex digits ("A3").
	HexByte1 string
}

// Reader implements the read methods of Store over a Querier. It is safe
// for concurrent use if its Querier is.
type Reader struct {
	q Querier
	d Dialect
}

// NewReader returns the Reader of a backend.
func NewReader(q Querier, d Dialect) *Reader { return &Reader{q: q, d: d} }

// fail wraps a backend's error with its name.
func (r *Reader) fail(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", r.d.Name, err)
}

// nsTime converts Unix nanoseconds to a Time.
func nsTime(t int64) Time { return Time(float64(t) / 1e9) }

// exists returns an error wrapping ErrUnknownRun when run is not stored
// (or the backend's error when it cannot tell).
func (r *Reader) exists(ctx context.Context, run string) error {
	if !StorableText(run) { // no run has it (text.go)
		return fmt.Errorf("%w %q", ErrUnknownRun, run)
	}
	var n int64
	if err := r.q.QueryRow(ctx, `SELECT count(*) FROM runs WHERE id = ?`, run).Scan(&n); err != nil {
		return r.fail(err)
	}
	if n == 0 {
		return fmt.Errorf("%w %q", ErrUnknownRun, run)
	}
	return nil
}
