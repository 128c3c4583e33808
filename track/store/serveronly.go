package store

import (
	"errors"
	"fmt"
	"strings"
)

// The records only the server writes: what trackd's jobs keep on a job's
// run (track/jobs). A job's record decides which solver runs and which
// directory is the job's, so a client that could write it could start,
// serve or delete what it pleases.
const (
	MetaJob         = "job"        // metadata: the job record (state, solver, times, outputs)
	MetaOwner       = "owner"      // metadata: the identity that started the run (docs/security.md)
	MetaCredential  = "credential" // metadata: hashes of the run's write credentials (docs/security.md)
	TagJob          = "job"        // tag: the run is a job
	TagSolverPrefix = "solver="    // tags solver=NAME and solver=NAME@VERSION
	TagStatePrefix  = "state="     // tag state=STATE (PENDING, STARTED, …)
)

// ErrServerOnly: a client's record that only the server may write
// (ServerOnly).
var ErrServerOnly = errors.New("store: only the server writes this record")

// ServerOnly reports whether r is a record only the server writes: the
// metadata "job", "owner" and "credential", the tag "job" and the tags "solver=…" and "state=…"
// (set or removed). Ingest, which stores what clients send, rejects such
// records (listed in Ack.Rejected, the rest of the batch is stored); the
// server writes them with Edit, and the tracking server's own edit calls
// (add_tag, remove_tag) refuse them too.
func ServerOnly(r *Record) bool {
	switch r.Kind {
	case KindMeta:
		return r.Key == MetaJob || r.Key == MetaOwner || r.Key == MetaCredential
	case KindTag, KindUntag:
		return ReservedTag(r.Key)
	}
	return false
}

// ReservedTag reports whether tag is one only the server sets or removes.
func ReservedTag(tag string) bool {
	return tag == TagJob || strings.HasPrefix(tag, TagSolverPrefix) || strings.HasPrefix(tag, TagStatePrefix)
}

// CheckClientRecord returns an error wrapping ErrServerOnly when r is a
// record only the server writes (ServerOnly), nil otherwise.
func CheckClientRecord(r *Record) error {
	if !ServerOnly(r) {
		return nil
	}
	what := fmt.Sprintf("metadata %q", r.Key)
	switch r.Kind {
	case KindTag:
		what = fmt.Sprintf("tag %q", short(r.Key))
	case KindUntag:
		what = fmt.Sprintf("removing tag %q", short(r.Key))
	}
	return fmt.Errorf("%w: %s is kept by trackd's jobs (docs/security.md, Paths)", ErrServerOnly, what)
}
