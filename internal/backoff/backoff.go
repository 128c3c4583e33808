// Package backoff holds the one jittered, doubling reconnect wait shared
// by syncstruct's Subscriber and logfwd's Forwarder.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Wait returns the wait before attempt n+1 (n counts failed attempts from
// 0): lo·2ⁿ capped at hi, jittered to between half and all of it so that
// many clients cut at once do not come back in step. lo ≤ 0 is taken as
// 1 ms; hi < lo is taken as lo.
func Wait(n int, lo, hi time.Duration) time.Duration {
	lo = max(lo, time.Millisecond)
	hi = max(hi, lo)
	d := hi
	if n >= 0 && n < 30 {
		d = min(lo<<n, hi)
	}
	return d/2 + rand.N(d/2+1)
}
