package server

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/wire/auth"
)

// partOverhead is what each partial upload counts at least: a file's
// block, so that empty or one-byte uploads of many blobs are bounded too.
const partOverhead = 4096

// uploads counts, in memory, the partial (written, not yet committed)
// upload bytes of each identity and in all (Options.MaxUploadBytes,
// MaxUploadTotal). A blob's count is dropped when it is committed (or its
// commit finds it corrupt or gone), when an upload of it starts again at
// offset 0, and when it was not written for UploadMaxAge (the store
// removes such parts too: blobdir). Counts start at zero when the server
// starts: a part resumed after a restart counts from there.
type uploads struct {
	perID, total int64         // the caps
	maxAge       time.Duration // Options.UploadMaxAge
	now          func() time.Time

	mu     sync.Mutex
	parts  map[string]*partCount // by sha256
	byID   map[string]int64      // bytes charged to each identity
	sum    int64                 // bytes charged in all
	lastGC time.Time
}

type partCount struct {
	by   map[string]int64 // bytes each identity wrote (with partOverhead)
	last time.Time        // of the last write
}

func newUploads(perID, total int64, maxAge time.Duration, now func() time.Time) *uploads {
	return &uploads{perID: perID, total: total, maxAge: maxAge, now: now, parts: map[string]*partCount{}, byID: map[string]int64{}, lastGC: now()}
}

// identity names who uploads: the authenticated identity, or "anonymous"
// on a server without access control (everyone is one client then).
func identity(ctx context.Context) string {
	if id, ok := auth.FromContext(ctx); ok {
		return id.Name
	}
	return "anonymous"
}

// reserve charges n bytes of sha's upload to who, or refuses with a
// *store.LimitError when that would take who's or everyone's partial
// bytes over its cap. It returns the charge made, to release if the write
// fails.
func (u *uploads) reserve(who, sha string, n int64) (int64, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := u.now()
	if now.Sub(u.lastGC) >= u.maxAge/24 {
		u.lastGC = now
		for sha, p := range u.parts {
			if now.Sub(p.last) > u.maxAge {
				u.dropLocked(sha)
			}
		}
	}
	p := u.parts[sha]
	if p == nil || p.by[who] == 0 {
		n += partOverhead
	}
	if u.byID[who]+n > u.perID {
		return 0, &store.LimitError{Limit: "MaxUploadBytes", Item: "partial (uncommitted) upload bytes of " + truncate(who, 64), Size: u.byID[who] + n, Max: u.perID}
	}
	if u.sum+n > u.total {
		return 0, &store.LimitError{Limit: "MaxUploadTotal", Item: "partial (uncommitted) upload bytes of all clients", Size: u.sum + n, Max: u.total}
	}
	if p == nil {
		p = &partCount{by: map[string]int64{}}
		u.parts[sha] = p
	}
	p.by[who] += n
	p.last = now
	u.byID[who] += n
	u.sum += n
	return n, nil
}

// release undoes a charge whose write failed or wrote nothing.
func (u *uploads) release(who, sha string, charge int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	p := u.parts[sha]
	if p == nil {
		return
	}
	charge = min(charge, p.by[who])
	p.by[who] -= charge
	u.byID[who] -= charge
	u.sum -= charge
	if p.by[who] == 0 {
		delete(p.by, who)
	}
	if u.byID[who] == 0 {
		delete(u.byID, who)
	}
	if len(p.by) == 0 {
		delete(u.parts, sha)
	}
}

// restarted: who's write at offset 0 of sha succeeded, so the part holds
// only that write (charge): earlier counts of sha go.
func (u *uploads) restarted(who, sha string, charge int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.dropLocked(sha)
	u.parts[sha] = &partCount{by: map[string]int64{who: charge}, last: u.now()}
	u.byID[who] += charge
	u.sum += charge
}

// done drops sha's counts (committed, discarded or gone).
func (u *uploads) done(sha string) {
	u.mu.Lock()
	u.dropLocked(sha)
	u.mu.Unlock()
}

func (u *uploads) dropLocked(sha string) {
	p := u.parts[sha]
	if p == nil {
		return
	}
	for who, n := range p.by {
		u.byID[who] -= n
		if u.byID[who] <= 0 {
			delete(u.byID, who)
		}
		u.sum -= n
	}
	delete(u.parts, sha)
}

// writeBlob is Tracker.WriteBlob within the upload quotas.
func (s *Server) writeBlob(ctx context.Context, sha string, offset int64, data []byte) (int64, error) {
	who := identity(ctx)
	charge, err := s.uploads.reserve(who, sha, int64(len(data)))
	if err != nil {
		return 0, err
	}
	n, err := s.st.WriteBlob(ctx, sha, offset, data)
	switch {
	case err != nil || n == 0 && len(data) > 0: // refused, or the blob is present already
		s.uploads.release(who, sha, charge)
	case offset == 0:
		s.uploads.release(who, sha, charge)
		s.uploads.restarted(who, sha, charge)
	}
	return n, err
}

// commitBlob is Tracker.CommitBlob, dropping the blob's upload counts.
func (s *Server) commitBlob(ctx context.Context, sha string) (int64, error) {
	n, err := s.st.CommitBlob(ctx, sha)
	if err == nil || errors.Is(err, store.ErrChecksum) || errors.Is(err, store.ErrNotFound) {
		s.uploads.done(sha)
	}
	return n, err
}
