package store

import (
	"context"
	"errors"
	"fmt"
)

// # Backends
//
// The record rules (exactly once by (run, seq), write-once params, the
// status state machine, tombstones, sequence gaps, limits) are written once,
// here, free of SQL: Ingest, Edit, CreateRun and ResumeRun of this package
// apply them to a RunTx, which a backend implements with plain storage
// operations inside one of its transactions. A backend's Store methods are
// then: begin a transaction, call the function here, commit. The SQLite
// store (store/sqlite) is one; the PostgreSQL one (store/postgres)
// implements RunTx over its own tables and passes the same suite
// (store/storetest).

// RunState is the mutable part of a run that a batch changes, as a backend
// keeps it (one row).
type RunState struct {
	Status   Status
	Message  string
	Crashed  bool
	Progress float64
	Step     int64
	Update   int64 // Unix ns of the last change
	End      int64 // Unix ns of the final status, 0 while open
	HighSeq  int64 // the highest record number applied (exactly once)
}

// SeriesState describes a stored series, as the rules need it.
type SeriesState struct {
	Exists bool
	Scalar bool  // holds numbers (Chunk.Value), else encoded values
	N      int64 // its points
}

// ArtifactRow is an artifact record as stored.
type ArtifactRow struct {
	Name        string
	SHA256      string
	Size        int64
	ContentType string
	Result      bool
	Time        int64
}

// RunTx is a backend's transaction on one run, as the rules use it. It
// holds no rules: every method reads or writes what it says. Any error it
// returns is a storage failure: the rules abort the whole call with it and
// the backend rolls back (a record that breaks a rule is the rules' own
// error, listed in Ack.Rejected).
type RunTx interface {
	// LoadRun reads the run; ok is false when it does not exist.
	LoadRun(ctx context.Context) (st RunState, ok bool, err error)
	// Deleted reports whether the run id was deleted (a tombstone).
	Deleted(ctx context.Context) (bool, error)
	// InsertRun creates the run, status registered, started at start,
	// updated at now, HighSeq 0.
	InsertRun(ctx context.Context, project, name string, start, now int64) error
	// SaveRun writes the run's mutable state.
	SaveRun(ctx context.Context, st *RunState) error

	// Param returns a param's encoded value; ok is false when it is unset.
	Param(ctx context.Context, key string) (value []byte, ok bool, err error)
	// CountParams counts the run's params.
	CountParams(ctx context.Context) (int, error)
	// InsertParam stores a new param; num is its value as a number (for
	// filters and sorting), nil when it is not one.
	InsertParam(ctx context.Context, key string, value []byte, num any) error
	// PutMeta sets a metadata entry.
	PutMeta(ctx context.Context, key string, value []byte) error
	// AddNote appends a note.
	AddNote(ctx context.Context, time int64, text string) error
	// CountTags counts the run's tags other than tag.
	CountTags(ctx context.Context, tag string) (int, error)
	// AddTag adds a tag (present: nothing changes); RemoveTag removes one
	// (absent: nothing changes).
	AddTag(ctx context.Context, tag string) error
	RemoveTag(ctx context.Context, tag string) error
	// PutCount sets a count.
	PutCount(ctx context.Context, name string, value []byte) error
	// PutArtifact adds or replaces the artifact of that name; a result
	// flag once set stays set (a result file logged again is still a
	// result).
	PutArtifact(ctx context.Context, a *ArtifactRow) error

	// Series describes a series (Exists false when it has no point yet).
	Series(ctx context.Context, key string) (SeriesState, error)
	// CountSeries counts the run's series.
	CountSeries(ctx context.Context) (int, error)
	// AppendSeries appends the points of c (all new, in seq order; c is
	// consumed) to the series key described by st, creating it when
	// !st.Exists, and records its latest value (step, time, encoded
	// value). How points are cut in chunks is the backend's.
	AppendSeries(ctx context.Context, key string, st SeriesState, c *Chunk, step, time int64, latest []byte) error

	// SetArchived sets the run's archived flag (ApplyArchive).
	SetArchived(ctx context.Context, archived bool) error
}

// storageError marks an error of a RunTx (a storage failure that aborts the
// call) as opposed to a rule's error (which rejects one record).
type storageError struct{ err error }

func (e *storageError) Error() string { return e.err.Error() }
func (e *storageError) Unwrap() error { return e.err }

func storage(err error) error {
	if err == nil {
		return nil
	}
	return &storageError{err}
}

func isStorage(err error) bool {
	var s *storageError
	return errors.As(err, &s)
}

// unwrapStorage returns the backend's own error, as it returned it.
func unwrapStorage(err error) error {
	if s, ok := err.(*storageError); ok {
		return s.err
	}
	return err
}

// ErrDeletedRun: a batch or CreateRun names a run id that was deleted. A
// deleted id stays deleted (a tombstone), so that nobody re-creates a run
// under an id others have seen and referred to, with other write-once
// params. An administrator who wants the id back purges the tombstone in
// the backend (SQLite: DELETE FROM deleted_runs WHERE id = '…' while trackd
// is stopped; docs/tracking.md).
var ErrDeletedRun = errors.New("store: run was deleted; its id cannot be used again")

func deletedRun(id string) error { return fmt.Errorf("%w: %q", ErrDeletedRun, id) }
