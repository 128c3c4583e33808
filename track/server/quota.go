package server

import (
	"context"
	"sync"

	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/wire/auth"
)

// Quotas per identity (docs/security.md, "Quotas"): what one identity may
// make the server hold at once. Admins, and in-process callers (no
// identity in the context), are not limited; without an access file
// every client is an admin (trackd on loopback), so quotas bind where
// trackd is shared.
type Quotas struct {
	// MaxOpenRuns bounds the runs one identity started (in this server's
	// lifetime) that are open now: status not final (crashed ones
	// count until they are ended or deleted). A
	// batch that would start one more is refused whole with a
	// *store.QuotaError; the client reports it at Flush/End. Default
	// DefaultMaxOpenRuns; negative: no limit.
	MaxOpenRuns int
	// MaxLeases bounds the memo leases one identity holds at once (memo's
	// lock; expired leases do not count). Default DefaultMaxLeases;
	// negative: no limit.
	MaxLeases int
}

// Quota defaults.
const (
	DefaultMaxOpenRuns = 1000
	DefaultMaxLeases   = 1000
)

func (q Quotas) withDefaults() Quotas {
	if q.MaxOpenRuns == 0 {
		q.MaxOpenRuns = DefaultMaxOpenRuns
	}
	if q.MaxLeases == 0 {
		q.MaxLeases = DefaultMaxLeases
	}
	return q
}

// limitedIdentity returns the identity a quota applies to, or "" when
// none does (an admin, an in-process caller, a run credential — which
// starts no runs and holds what its run's owner is charged for).
func limitedIdentity(ctx context.Context) string {
	id, ok := auth.FromContext(ctx)
	if !ok || id.Role >= auth.Admin {
		return ""
	}
	return id.Name
}

// openRuns is, per identity, the runs it started that may still be open.
// Whether one is open is asked of the live state when the identity is at
// its quota (finished, crashed and deleted runs leave then), so the
// count costs nothing on the way of a batch.
type openRuns struct {
	mu    sync.Mutex
	byID  map[string]map[string]struct{}
	quota int
}

// admitRun counts run, which the batch in ctx's identity is about to
// start, against that identity's MaxOpenRuns, or refuses it.
func (s *Server) admitRun(ctx context.Context, run string) error {
	who := limitedIdentity(ctx)
	q := s.opts.Quotas.withDefaults().MaxOpenRuns
	if who == "" || q < 0 {
		return nil
	}
	o := &s.owners.open
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.byID == nil {
		o.byID = map[string]map[string]struct{}{}
	}
	runs := o.byID[who]
	if runs == nil {
		runs = map[string]struct{}{}
		o.byID[who] = runs
	}
	if len(runs) >= q {
		for id := range runs {
			if !s.live.isOpen(id) {
				delete(runs, id)
			}
		}
	}
	if len(runs) >= q {
		return &store.QuotaError{Identity: who, Quota: "MaxOpenRuns", Flag: "--max-open-runs", Count: int64(len(runs)), Max: int64(q),
			What: "open runs", Hint: "end (or delete) one of them before starting run " + truncate(run, 64)}
	}
	runs[run] = struct{}{}
	return nil
}

// isOpen reports whether the live state holds run as open (status not
// final; crashed or not), or as being started (its first batch is being
// stored: a refused one is forgotten, forgetUnstored). A crashed run
// counts: it stays in the live state until it is ended or deleted, and a
// client that never heartbeats would otherwise start a new quota of runs
// every heartbeat timeout.
func (l *Live) isOpen(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lr, ok := l.state[id]
	return ok && (!lr.stored || lr.open())
}
