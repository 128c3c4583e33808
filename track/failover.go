package track

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"

	"github.com/sigoco/sigoco/rpc"
)

// Failover: a run may be given several servers (trackd nodes on one
// PostgreSQL database, docs/scaling.md). The sender talks to one at a
// time; when it cannot reach that one it tries the next, in list order,
// wrapping around, and replays its spool to whichever answers. The
// database stores each record once whichever node receives it, so a
// replay after a failover doubles nothing.

// splitAddrs splits a comma-separated address list, dropping empty items.
func splitAddrs(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// addrDefaults sets Addrs and Addr: Addrs from Options.Addrs, else from
// Addr (which may be a comma-separated list), else $SIGOCO_TRACK_ADDR
// (likewise), else DefaultAddr; Addr is then Addrs[0].
func (o *Options) addrDefaults(env string) {
	var list []string
	for _, a := range o.Addrs {
		list = append(list, splitAddrs(a)...)
	}
	if len(list) == 0 {
		list = splitAddrs(o.Addr)
	}
	if len(list) == 0 {
		list = splitAddrs(env)
	}
	if len(list) == 0 {
		list = []string{DefaultAddr}
	}
	o.Addrs, o.Addr = list, list[0]
}

// failover is the sender's position in Options.Addrs.
type failover struct {
	cur atomic.Int64 // index in Options.Addrs of the server in use
}

// addr returns the address in use (or to try next).
func (s *sender) addr() string {
	a := s.r.opts.Addrs
	if len(a) == 0 {
		return s.r.opts.Addr
	}
	return a[int(s.fo.cur.Load())%len(a)]
}

// dial connects to the server in use or, if it cannot be reached, to the
// next in Options.Addrs that can, each attempt within CallTimeout; it
// returns the last error when none answers.
func (s *sender) dial(ctx context.Context) (*rpc.Client, error) {
	addrs := s.r.opts.Addrs
	if len(addrs) == 0 {
		addrs = []string{s.r.opts.Addr}
	}
	start := int(s.fo.cur.Load())
	var errs []error
	for i := range addrs {
		k := (start + i) % len(addrs)
		dctx, cancel := context.WithTimeout(ctx, s.r.opts.CallTimeout)
		c, err := s.r.dialTracker(dctx, addrs[k]) // the run's credential, else the token (credential.go)
		cancel()
		if err == nil {
			if k != start%len(addrs) {
				s.r.log.Info("track: failed over to another server", "run", s.r.id, "from", addrs[start%len(addrs)], "to", addrs[k])
			}
			s.fo.cur.Store(int64(k))
			return c, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// dialFirst connects to the first of addrs that answers.
func dialFirst(ctx context.Context, addrs []string, opts rpc.ClientOptions) (*rpc.Client, error) {
	var errs []error
	for _, a := range addrs {
		c, err := rpc.Dial(ctx, a, TrackerTarget, opts)
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 0 {
		return nil, errors.New("track: no server address")
	}
	return nil, errors.Join(errs...)
}
