package store

import (
	"context"
	"time"
)

// ChangeKind says what changed in a run.
type ChangeKind byte

const (
	ChangeBatch   ChangeKind = 'b' // records stored (Ingest)
	ChangeEdit    ChangeKind = 'e' // notes, tags, status set by a server, create, resume
	ChangeLogs    ChangeKind = 'l' // log records appended
	ChangeDeleted ChangeKind = 'd' // the run was deleted
	ChangeResync  ChangeKind = 'r' // changes may have been missed: re-read every run shown
)

// Change is one change to a run committed by another process sharing the
// store (another trackd node on the same database). Run is empty for
// ChangeResync.
type Change struct {
	Kind ChangeKind
	Run  string
	Seq  int64 // the run's highest stored record number after a ChangeBatch
}

// ChangeFeed is implemented by stores that several servers share (the
// PostgreSQL store); a single-process store (SQLite) does not need it.
//
// Changes delivers the changes committed by other processes until ctx ends,
// then closes the channel. Delivery is at most once and in commit order per
// run; when changes are lost (the feed's connection broke, or the reader
// fell behind the channel's buffer) a ChangeResync follows, after which
// the reader must re-read what it shows from the store. The first value is
// a ChangeResync too: what committed before the feed started was not
// delivered. One call per store.
type ChangeFeed interface {
	Changes(ctx context.Context) <-chan Change
}

// Leases is implemented by stores that several servers share: each server
// records which runs it heard from (a batch, a heartbeat), and a run is
// crashed only when no server heard from it within the timeout. A store
// without Leases leaves crash detection to the server's own memory.
type Leases interface {
	// Heard records that the runs were heard from now (by the store's
	// clock).
	Heard(ctx context.Context, runs []string) error
	// Silent returns those of runs that are open (status not final, not
	// marked crashed) and that no server heard from within timeout, or
	// that no server ever recorded (the caller gives only runs it has not
	// heard from itself for that long).
	Silent(ctx context.Context, runs []string, timeout time.Duration) ([]string, error)
}

// Nodes is implemented by stores that several servers share: each server
// records the address the others reach it by, and a server finds the one a
// run reports to (the one that last heard from it, as Leases records) to
// forward what only that one can do (a call to an object the run exposes).
type Nodes interface {
	// Announce records addr (host:port) as this server's.
	Announce(ctx context.Context, addr string) error
	// RunNode returns the address of the server that last heard from run
	// and whether that is this server; addr is "" when no server that
	// announced itself did.
	RunNode(ctx context.Context, run string) (addr string, self bool, err error)
}
