package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/wire/auth"
)

// Owners.
//
// A run belongs to the identity whose batch created it: the server
// records that identity's name as the run's metadata "owner" (a record
// only the server writes, store.MetaOwner). From then on only the owner,
// or an admin, writes the run (batches, its end, notes and tags, logs,
// heartbeats), calls its exposed objects or deletes it; others get an
// error wrapping auth.ErrForbidden. A run without an owner (started
// without an access file, or by an admin, or before owners existed) is
// written by admins only. Callers without an identity in their context
// (in-process: jobs' own bookkeeping) and admins are not checked, and an
// admin's run gets no owner. A run's write credential (credential.go)
// writes that run whoever presents it.
//
// The owner of a run is read from the store once and kept in a map (a
// run that does not exist is asked again after ownerRecheck), so the
// check costs a map lookup per batch or log record.

// ownerRecheck is how long "no such run" is believed.
const ownerRecheck = time.Second

// maxOwners bounds the owner map; past it the map starts afresh.
const maxOwners = 200_000

type ownerEntry struct {
	owner  string
	creds  []string // hex SHA-256 of the run's credentials, newest first (credential.go)
	exists bool
	at     time.Time
}

type owners struct {
	mu     sync.Mutex
	m      map[string]ownerEntry
	credMu sync.Mutex // serializes minting credentials (RunCredential)
	open   openRuns   // open runs per identity (quota.go)
}

// runOwner returns the owner of run ("" when it has none) and whether
// it exists.
func (s *Server) runOwner(ctx context.Context, run string) (string, bool, error) {
	e, err := s.ownerEntry(ctx, run, false)
	return e.owner, e.exists, err
}

// ownerEntry returns what is known of run's owner and credentials,
// read from the store when not known (or when fresh is set).
func (s *Server) ownerEntry(ctx context.Context, run string, fresh bool) (ownerEntry, error) {
	o := &s.owners
	o.mu.Lock()
	e, ok := o.m[run]
	o.mu.Unlock()
	if !fresh && ok && (e.exists || time.Since(e.at) < ownerRecheck) {
		return e, nil
	}
	// A probe of the run and its two small records, never its values: a
	// run's params may be large (docs/security.md, Memory bounds).
	err := s.runExists(ctx, run)
	switch {
	case errors.Is(err, store.ErrUnknownRun):
		e = ownerEntry{at: time.Now()}
	case err != nil:
		return ownerEntry{}, err
	default:
		e = ownerEntry{exists: true, at: time.Now()}
		v, err := s.metaValue(ctx, run, store.MetaOwner)
		if err != nil {
			return ownerEntry{}, err
		}
		e.owner, _ = v.(string)
		if v, err = s.metaValue(ctx, run, store.MetaCredential); err != nil {
			return ownerEntry{}, err
		}
		cs, _ := v.([]any)
		for _, c := range cs {
			if h, ok := c.(string); ok && strings.HasPrefix(h, "sha256:") {
				e.creds = append(e.creds, strings.TrimPrefix(h, "sha256:"))
			}
		}
	}
	s.setOwner(run, e)
	return e, nil
}

// metaValue returns a run's metadata entry key (nil when absent).
func (s *Server) metaValue(ctx context.Context, run, key string) (any, error) {
	b, err := s.st.RunValue(ctx, run, store.KindMeta, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return store.DecodeValue(b)
}

func (s *Server) setOwner(run string, e ownerEntry) {
	o := &s.owners
	o.mu.Lock()
	if o.m == nil || len(o.m) >= maxOwners {
		o.m = map[string]ownerEntry{}
	}
	if old, ok := o.m[run]; ok && e.exists && e.creds == nil && old.exists {
		e.creds = old.creds // claimRun knows the owner, not the credentials
	}
	o.m[run] = e
	o.mu.Unlock()
}

// forgetOwner drops what is known of run (deleted).
func (s *Server) forgetOwner(run string) {
	s.owners.mu.Lock()
	delete(s.owners.m, run)
	s.owners.mu.Unlock()
}

// mayWrite returns nil when the identity in ctx may write run (what says
// what it would do, for the error), and claim, the name to record as the
// owner when the write creates the run ("" for none).
func (s *Server) mayWrite(ctx context.Context, run, what string) (claim string, err error) {
	id, ok := auth.FromContext(ctx)
	if !ok || id.Role >= auth.Admin {
		return "", nil
	}
	if cr := credentialRun(id); cr != "" {
		// Checked when the connection authenticated; it writes only its
		// own run, which exists.
		if cr == run {
			return "", nil
		}
		return "", fmt.Errorf("%w: a write credential of run %q may not %s run %q", auth.ErrForbidden, truncate(cr, 64), what, truncate(run, 64))
	}
	owner, exists, err := s.runOwner(ctx, run)
	switch {
	case err != nil:
		return "", err
	case !exists:
		return id.Name, nil
	case owner == id.Name:
		return "", nil
	case owner == "":
		return "", fmt.Errorf("%w: run %q has no owner, so only an admin may %s it; %s is %s", auth.ErrForbidden, truncate(run, 64), what, truncate(id.Name, 64), id.Role)
	}
	return "", fmt.Errorf("%w: run %q belongs to %s; %s may not %s it", auth.ErrForbidden, truncate(run, 64), truncate(owner, 64), truncate(id.Name, 64), what)
}

// AuthorizeRun refuses, with an error wrapping auth.ErrForbidden, an
// identity in ctx that may not act on run (what says how, for the error)
// by the owner rule above: the check of the jobs target (jobs.API) before
// it starts, stops or deletes a job, whose run is the job. A run that does
// not exist is not refused here: the caller reports it unknown.
func (s *Server) AuthorizeRun(ctx context.Context, run, what string) error {
	_, err := s.mayWrite(ctx, run, what)
	return err
}

// claimRun records name as the owner of run, which the caller's batch
// just created.
func (s *Server) claimRun(ctx context.Context, run, name string) {
	err := s.st.Edit(ctx, run, []store.Record{{Kind: store.KindMeta, Key: store.MetaOwner, Value: name, Time: time.Now().UnixNano()}})
	if err != nil {
		s.log.Warn("track: recording a run's owner", "run", run, "owner", name, "err", err)
		return
	}
	s.setOwner(run, ownerEntry{owner: name, exists: true, at: time.Now()})
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
