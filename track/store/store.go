package store

import (
	"context"
	"io"
)

// Store is the storage of the tracking server. Implementations must be safe
// for concurrent use.
type Store interface {
	// Ingest applies a batch in one transaction and returns its Ack after
	// the commit. A record that breaks a rule (a param conflict, a limit)
	// is listed in Ack.Rejected and the rest is stored. A batch that cannot
	// be applied at all (unknown run, a run id CheckRunID refuses, too
	// many records) returns an error and stores nothing. Ingest stores
	// what clients send: it rejects the records only the server writes
	// (ServerOnly), which the server writes with Edit.
	Ingest(ctx context.Context, b *Batch) (*Ack, error)
	// CreateRun creates a run before its client starts (a launcher such as
	// trackd's jobs does, then hands the id to the process in
	// SIGOCO_TRACK_RUN). It uses no record number, so the client's own
	// records, from 1, are all applied; its start record finds the run.
	// A run that exists is left as it is; an id CheckRunID refuses is an
	// error, a deleted one ErrDeletedRun.
	CreateRun(ctx context.Context, id, project, name string) error
	// ResumeRun lets another process continue a run (a requeued job, a
	// restarted simulation, a client after a crash): it returns the run's
	// highest stored record number, after which that process numbers its
	// records, and starts the run's status lifecycle again at registered
	// (ApplyResume). A run whose status is final is not resumed
	// (ErrResumeFinal).
	ResumeRun(ctx context.Context, id string) (lastSeq int64, err error)
	// Edit applies unsequenced records (notes and tags from a reader, a
	// status set by the server) to an existing run.
	Edit(ctx context.Context, run string, recs []Record) error
	// AppendLogs stores log records; records of unknown runs are dropped
	// and counted in the returned number.
	AppendLogs(ctx context.Context, logs []LogEntry) (dropped int, err error)

	// ListRuns returns one page of runs matching f, newest first.
	ListRuns(ctx context.Context, f RunFilter) (*RunPage, error)
	// QueryRuns returns one page of the runs a filter expression selects
	// (RunQuery, the grammar in ParseQuery), sorted, with the values of
	// the chosen columns, and the exact number of runs selected.
	QueryRuns(ctx context.Context, q RunQuery) (*RunTable, error)
	// ArchiveRun archives a run (hidden from the default lists, kept,
	// restorable) or restores it (ApplyArchive).
	ArchiveRun(ctx context.Context, id string, archived bool) error
	// GetRun returns a run with its params, metadata, notes, latest values,
	// series list, artifacts and counts.
	// It returns every value in full: its cost grows with what the run
	// holds (up to MaxKeysPerRun values of MaxValueSize each), so what
	// answers clients uses ViewRun.
	GetRun(ctx context.Context, id string) (*Run, error)
	// ViewRun is GetRun within the bounds of v: values over them are
	// markers (IsTruncated), entries left out are counted in Run.Omitted.
	// A zero View is GetRun.
	ViewRun(ctx context.Context, id string, v View) (*Run, error)
	// RunValue returns the stored encoding (msgpack) of one value of a
	// run: a param (kind KindParam), a metadata entry (KindMeta), a count
	// (KindCount) or a series' latest value (KindResult); an absent one is
	// an error wrapping ErrNotFound.
	RunValue(ctx context.Context, run string, kind Kind, key string) ([]byte, error)
	// RunValueSize returns the size in bytes of what RunValue returns,
	// without reading it.
	RunValueSize(ctx context.Context, run string, kind Kind, key string) (int64, error)
	// Series returns the points of one series.
	Series(ctx context.Context, run, key string, q SeriesQuery) (*Series, error)
	// Logs returns a page of a run's log records.
	Logs(ctx context.Context, q LogQuery) (*LogPage, error)
	// OpenRuns lists the runs whose status is not final and that are not
	// marked crashed.
	OpenRuns(ctx context.Context) ([]string, error)
	// DeleteRun deletes a run and everything it holds (blobs stay: others
	// may share them). The id stays deleted: a tombstone refuses any batch
	// or CreateRun under it (ErrDeletedRun).
	DeleteRun(ctx context.Context, id string) error

	// BlobState tells how much of a blob is stored.
	BlobState(ctx context.Context, sha256 string) (BlobState, error)
	// WriteBlob writes data at offset of an unfinished upload; offset must
	// equal the bytes received so far. It returns the new count.
	WriteBlob(ctx context.Context, sha256 string, offset int64, data []byte) (int64, error)
	// CommitBlob verifies the upload against its sha256 and makes it
	// present. A mismatch discards the upload and returns ErrChecksum.
	CommitBlob(ctx context.Context, sha256 string) (size int64, err error)
	// OpenBlob opens a present blob.
	OpenBlob(ctx context.Context, sha256 string) (io.ReadSeekCloser, int64, error)

	// Close closes the store. It is idempotent.
	Close() error
}
