package store

import (
	"context"
	"time"
)

// JobLeases is implemented by stores that several servers share (the
// PostgreSQL store): the job manager of each server holds a lease on every
// job it follows (a started job: queued, or its process running) and
// renews it; when a node dies its leases expire, and another node takes
// the jobs over — one node only, as a take is one conditional write — and
// follows them to their end (jobs.Manager). The leases are timed by the
// store's clock, so the nodes' clocks need not agree.
//
// A store without JobLeases (SQLite) has one server, which follows again,
// when it starts, every job it left started.
type JobLeases interface {
	// TakeJobs takes the lease of each of jobs for this store's node when
	// no node holds it, when the lease was not renewed within expiry (its
	// node died), or when this node holds it already (then it is renewed),
	// and returns the jobs taken. Of several nodes taking one job at once,
	// one gets it.
	TakeJobs(ctx context.Context, jobs []string, expiry time.Duration) (taken []string, err error)
	// RenewJobs renews the leases this node holds on jobs and returns
	// those of jobs it does not hold any more (another node took them
	// over after they expired, or they were released).
	RenewJobs(ctx context.Context, jobs []string) (lost []string, err error)
	// Unfollowed returns those of jobs that no node follows: no lease, or
	// one not renewed within expiry. It takes nothing (TakeJobs does): it
	// spares a node reading the jobs other nodes follow.
	Unfollowed(ctx context.Context, jobs []string, expiry time.Duration) ([]string, error)
	// ReleaseJobs drops the leases this node holds on jobs (a job ended,
	// or was left running at shutdown: another node may take it at once).
	ReleaseJobs(ctx context.Context, jobs []string) error
}
