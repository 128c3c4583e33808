package jobs

import (
	"context"

	"github.com/sigoco/sigoco/track/store"
)

// Recorder is where a Manager records the runs of its jobs. Under a
// tracking server it is the server (*server.Server satisfies it), so the
// runs' live state (the dashboard, watchers) follows every change and the
// runs the manager speaks for count as alive; a manager without a server
// takes StoreRecorder. There is no default: a manager given the bare
// store under a server would leave the live state behind silently.
type Recorder interface {
	// Store is the store jobs are kept in and read from.
	Store() store.Store
	// Ingest stores a batch of records of a job's run.
	Ingest(ctx context.Context, b *store.Batch) (*store.Ack, error)
	// AppendLogs stores log records of jobs' runs (their stdout and
	// stderr lines).
	AppendLogs(ctx context.Context, logs []store.LogEntry) (dropped int, err error)
	// Edited is told after the manager edited a run in the store (its job
	// record, tags).
	Edited(ctx context.Context, run string)
	// Alive is told every Options.HeartbeatInterval of each job whose run
	// the manager speaks for (created or queued, or running a solver
	// without track), so the server does not mark the run crashed.
	Alive(ctx context.Context, run string)
}

// CredentialMinter is a Recorder that can mint a run's write credential
// (*server.Server can): the manager then gives a job's solver its run's
// credential ($SIGOCO_RUN_CREDENTIAL) and nothing more, instead of
// Options.Token (docs/security.md).
type CredentialMinter interface {
	RunCredential(ctx context.Context, run string) (string, error)
}

// RunAuthorizer is a Recorder that says who may act on a run
// (*server.Server does: a run's owner or an admin, docs/security.md): the
// API asks it before it starts, stops or deletes a job, or stops a
// sweep, in the caller's name (the identity in ctx), whichever protocol
// the call came by. An error wrapping auth.ErrForbidden refuses; a run
// that does not exist is not refused. Without it (StoreRecorder) every
// caller may.
type RunAuthorizer interface {
	AuthorizeRun(ctx context.Context, run, what string) error
}

// StoreRecorder records straight into st, with no live state and no
// heartbeats: for a Manager without a tracking server (tools, tests).
// Under a server, give New the server.
func StoreRecorder(st store.Store) Recorder { return storeRecorder{st} }

type storeRecorder struct{ st store.Store }

func (r storeRecorder) Store() store.Store { return r.st }
func (r storeRecorder) Ingest(ctx context.Context, b *store.Batch) (*store.Ack, error) {
	return r.st.Ingest(ctx, b)
}
func (r storeRecorder) AppendLogs(ctx context.Context, logs []store.LogEntry) (int, error) {
	return r.st.AppendLogs(ctx, logs)
}
func (storeRecorder) Edited(context.Context, string) {}
func (storeRecorder) Alive(context.Context, string)  {}
