package track

import (
	"context"

	"github.com/sigoco/sigoco/internal/failover"
	"github.com/sigoco/sigoco/rpc"
)

// Failover: a run may be given several servers (trackd nodes on one
// PostgreSQL database, docs/scaling.md). The sender talks to one at a
// time; when it cannot reach that one it tries the next, in list order,
// wrapping around, and replays its spool to whichever answers. The
// database stores each record once whichever node receives it, so a
// replay after a failover doubles nothing.

// splitAddrs splits a comma-separated address list, dropping empty items.
func splitAddrs(s string) []string { return failover.Split(s) }

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

// addr returns the address in use (or to try next).
func (s *sender) addr() string {
	if a := s.fo.Current(); a != "" {
		return a
	}
	return s.r.opts.Addr
}

// dial connects to the server in use or, if it cannot be reached, to the
// next in Options.Addrs that can, each attempt within CallTimeout; it
// returns every error when none answers.
func (s *sender) dial(ctx context.Context) (*rpc.Client, error) {
	from := s.addr()
	c, to, err := failover.Dial(ctx, s.fo, func(ctx context.Context, addr string) (*rpc.Client, error) {
		dctx, cancel := context.WithTimeout(ctx, s.r.opts.CallTimeout)
		defer cancel()
		return s.r.dialTracker(dctx, addr) // the run's credential, else the token (credential.go)
	})
	if err == nil && to != from {
		s.r.log.Info("track: failed over to another server", "run", s.r.id, "from", from, "to", to)
	}
	return c, err
}

// dialFirst connects to the first of addrs that answers.
func dialFirst(ctx context.Context, addrs []string, opts rpc.ClientOptions) (*rpc.Client, error) {
	c, _, err := failover.Dial(ctx, failover.NewList(addrs...), func(ctx context.Context, addr string) (*rpc.Client, error) {
		return rpc.Dial(ctx, addr, TrackerTarget, opts)
	})
	return c, err
}
