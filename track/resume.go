package track

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sigoco/sigoco/track/store"
)

// EnvResume, set to 1 (or true), turns on Options.Resume: a launcher that
// requeues a job sets it with SIGOCO_TRACK_RUN.
const EnvResume = "SIGOCO_TRACK_RESUME"

// ErrResume: Start with Options.Resume could not learn where the run
// stands (the server unreachable, or the run final or deleted).
var ErrResume = errors.New("track: cannot resume the run")

func resumeFromEnv() bool {
	v := strings.ToLower(os.Getenv(EnvResume))
	return v == "1" || v == "true" || v == "yes"
}

// resume learns the number after which this process numbers its records:
// after the run's last stored record (the server's resume_run, which also
// starts the run's status lifecycle again) and after the last record of a
// spool a previous process left in the run's directory (replayed first, so
// its records are not overtaken). A run the server does not know starts
// from that spool, or from 1. Records that previous process lost (its
// spool's shift, wireBatch.Shift) are carried over, so the server sees no
// gap.
func (r *Run) resume(ctx context.Context) (int64, error) {
	spooled, carry := r.snd.spoolHighSeq()
	ctx, cancel := context.WithTimeout(ctx, r.opts.CallTimeout)
	defer cancel()
	c, err := r.snd.dial(ctx) // the first of Options.Addrs that answers (failover.go)
	if err != nil {
		return 0, fmt.Errorf("%w %s: %v", ErrResume, r.id, err)
	}
	defer c.Close()
	var last int64
	err = c.CallInto(ctx, &last, "resume_run", r.id)
	switch {
	case err != nil && strings.Contains(err.Error(), store.ErrUnknownRun.Error()):
		last = 0 // a new run after all
	case err != nil:
		return 0, fmt.Errorf("%w %s: %v", ErrResume, r.id, err)
	}
	if last > 0 && r.credential() == "" {
		// A credential of its own, for replays after a restart
		// (credential.go); a server without run credentials has none.
		var cred string
		if err := c.CallInto(ctx, &cred, "run_credential", r.id); err == nil {
			r.setCredential(cred)
		} else {
			r.log.Info("track: no write credential for the resumed run", "run", r.id, "err", err)
		}
	}
	r.log.Info("track: resuming run", "run", r.id, "last_seq", last, "spooled_seq", spooled)
	r.snd.lost = carry
	return max(last+carry, spooled), nil
}

// spoolHighSeq returns the highest record number in the spool file (0 when
// it is empty) and the wire shift of its frame; a damaged frame ends the
// scan (the replay stops there too).
func (s *sender) spoolHighSeq() (high, shift int64) {
	sr := newSpoolReader(io.NewSectionReader(s.spool, 0, s.spoolSize))
	for {
		b, err := sr.next()
		if err != nil {
			return high, shift
		}
		if m := b.maxSeq(); m > high {
			high, shift = m, b.Shift
		}
	}
}
