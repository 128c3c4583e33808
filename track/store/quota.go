package store

import (
	"errors"
	"fmt"
	"strings"
)

// ErrQuota: an identity is at one of its quotas (docs/security.md,
// "Quotas"). Its *QuotaError says which. Over rpc the message starts with
// "quota exceeded:" and IsQuota matches it on the caller's side.
var ErrQuota = errors.New("quota exceeded")

// QuotaError is a request refused because its identity is at a quota
// (the tracking server's open runs and memo leases, jobs' queued jobs).
// It is a refusal, not unavailability: retrying will not help until the
// identity frees something.
type QuotaError struct {
	Identity string // who
	Quota    string // the option: "MaxOpenRuns", "MaxLeases", "MaxQueuedJobs"
	Flag     string // trackd's flag setting it
	Count    int64  // what the identity holds
	Max      int64  // the quota
	What     string // "open runs", "memo leases", …
	Hint     string // what frees room
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("%s: %s holds %d %s, the most one identity may (%s = %d, trackd %s); %s",
		ErrQuota, short(e.Identity), e.Count, e.What, e.Quota, e.Max, e.Flag, e.Hint)
}

// Unwrap makes errors.Is(err, ErrQuota) hold.
func (e *QuotaError) Unwrap() error { return ErrQuota }

// IsQuota reports whether err is a quota refusal: a *QuotaError, or an
// error received over the wire whose text carries one (rpc's
// *RemoteError, a refused batch the track client reports).
func IsQuota(err error) bool {
	return errors.Is(err, ErrQuota) || (err != nil && strings.Contains(err.Error(), ErrQuota.Error()+": "))
}
