package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/wire/auth"
)

// Runs reported to other servers on the same store (trackd nodes on one
// PostgreSQL database) reach this server's notifiers through the store's
// store.ChangeFeed: a change names a run, and the run is re-read from the
// store and published here as if ingested here. Changes arriving within a
// quarter of LiveInterval coalesce into one read per run.

// maxRemoteRefresh bounds the runs re-read in one round; the rest wait
// for the next round (a resync after a long disconnection names every
// run shown).
const maxRemoteRefresh = 1000

// remoteRun is what the follower remembers of a run it refreshed.
type remoteRun struct {
	lastLog int64     // id of the last log record published (0: none yet)
	logs    bool      // new logs to read
	read    time.Time // when last re-read
}

// follower is the state of follow between rounds: the runs changed
// elsewhere since the last round, what it remembers of runs it refreshed,
// and whether every shown run is to be re-read (a resync).
type follower struct {
	s       *Server
	pending map[string]store.ChangeKind
	known   map[string]*remoteRun
	resync  bool
}

// follow reads feed's changes until ctx ends, refreshing the runs they
// name every LiveInterval.
func (s *Server) follow(ctx context.Context, feed store.ChangeFeed) {
	ch := feed.Changes(ctx)
	s.announce(ctx)
	f := &follower{s: s, pending: map[string]store.ChangeKind{}, known: map[string]*remoteRun{}}
	// A quarter of LiveInterval: a remote change waits at most that long
	// before the live state's own publishing round.
	t := time.NewTicker(max(s.opts.LiveInterval/4, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case c, ok := <-ch:
			if !ok {
				return
			}
			f.note(c)
		case <-ctx.Done():
			return
		case <-t.C:
			f.round(ctx)
		}
	}
}

// remote is what f remembers of run, made on first use.
func (f *follower) remote(run string) *remoteRun {
	rr := f.known[run]
	if rr == nil {
		rr = &remoteRun{}
		f.known[run] = rr
	}
	return rr
}

// note records a change for the next round: a deletion wins over any
// other change of the run.
func (f *follower) note(c store.Change) {
	switch c.Kind {
	case store.ChangeResync:
		f.resync = true
	case store.ChangeLogs:
		f.remote(c.Run).logs = true
		if _, ok := f.pending[c.Run]; !ok {
			f.pending[c.Run] = c.Kind
		}
	case store.ChangeDeleted:
		f.pending[c.Run] = c.Kind
	default:
		if f.pending[c.Run] != store.ChangeDeleted {
			f.pending[c.Run] = c.Kind
		}
	}
}

// round re-reads the pending runs (at most maxRemoteRefresh, each at most
// once per LiveInterval), after reloading the live state on a resync.
func (f *follower) round(ctx context.Context) {
	s := f.s
	if f.resync {
		f.resync = false
		s.announce(ctx)
		for _, id := range s.live.shownRuns() {
			f.pending[id] = store.ChangeEdit
		}
		if err := s.live.load(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("track: resync of the live state", "err", err)
			f.resync = true
		}
	}
	n := 0
	now := time.Now()
	for id, kind := range f.pending {
		if n == maxRemoteRefresh || ctx.Err() != nil {
			break
		}
		if kind == store.ChangeDeleted {
			delete(f.pending, id)
			delete(f.known, id)
			s.live.deleted(id)
			continue
		}
		rr := f.remote(id)
		// A run is re-read at most once per LiveInterval: the first
		// change after a quiet spell shows within a quarter of it, a busy
		// run costs a node 1/LiveInterval reads a second however often
		// it commits.
		if now.Sub(rr.read) < s.opts.LiveInterval {
			continue
		}
		n++
		delete(f.pending, id)
		rr.read = now
		if err := s.live.refreshRemote(ctx, id, rr); err != nil {
			if errors.Is(err, store.ErrUnknownRun) {
				delete(f.known, id)
			} else if ctx.Err() == nil {
				s.log.Debug("track: re-reading a run changed elsewhere", "run", id, "err", err)
			}
		}
	}
	// Forget what the live state forgot.
	if len(f.known) > 2*s.opts.RunsInLive {
		for id := range f.known {
			if !s.live.known(id) {
				delete(f.known, id)
			}
		}
	}
}

// shownRuns lists the runs the live state holds.
func (l *Live) shownRuns() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := make([]string, 0, len(l.state))
	for id := range l.state {
		ids = append(ids, id)
	}
	return ids
}

// seriesTail is the new points of one series of a watched run.
type seriesTail struct {
	key  string
	step []int64
	ns   []int64
	val  []any
}

// refreshRemote re-reads run from the store, as Refresh does, and
// brings the live state of a watched run (one with its own notifier) up
// to date with what another server stored: the new points of its series
// and its new log lines.
func (l *Live) refreshRemote(ctx context.Context, run string, rr *remoteRun) error {
	l.mu.Lock()
	gen := l.getLocked(run).gen
	l.mu.Unlock()
	r, err := l.s.st.ViewRun(ctx, run, l.entryView())
	if errors.Is(err, store.ErrUnknownRun) || errors.Is(err, store.ErrDeletedRun) {
		l.gone(run)
		return err
	}
	if err != nil {
		l.forgetIdle(run)
		return err
	}
	// The new points and log lines of a watched run, read before taking
	// the lock.
	watched, from := l.newSteps(run, r)
	tails := l.seriesTails(ctx, run, r, from)
	var logs []store.LogEntry
	if watched && (rr.logs || rr.lastLog == 0) {
		logs = l.newLogs(ctx, run, rr)
	}

	l.mu.Lock()
	lr := l.getLocked(run)
	if lr.gen != gen {
		lr.reread = true // a batch came in meanwhile: read again at the next flush
	} else {
		l.applyReadLocked(lr, r)
	}
	lr.dirtyDetail = true
	for _, t := range tails {
		for i := range t.step {
			l.addPointLocked(lr, t.key, t.step[i], t.ns[i], t.val[i], true)
		}
	}
	l.mu.Unlock()
	if len(logs) > 0 {
		l.logs(run, logs)
	}
	return nil
}

// newSteps says whether run is watched and, if so, for each series of r
// with points newer than the live state's recent ones, the last step the
// live state holds (math.MinInt64: none).
func (l *Live) newSteps(run string, r *store.Run) (watched bool, from map[string]int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lr := l.getLocked(run)
	from = map[string]int64{}
	if lr.n == nil {
		return false, from
	}
	for k, v := range r.Latest {
		last := int64(math.MinInt64)
		if rs := lr.recent[k]; rs != nil && len(rs.Step) > 0 {
			last = rs.Step[len(rs.Step)-1]
		}
		if v.Step > last {
			from[k] = last
		}
	}
	return true, from
}

// seriesTails reads the points of run's series after the steps in from
// (at most 2·RecentPoints each, downsampled); a series that cannot be
// read is left out.
func (l *Live) seriesTails(ctx context.Context, run string, r *store.Run, from map[string]int64) []seriesTail {
	keep := l.s.opts.RecentPoints
	var tails []seriesTail
	for k, last := range from {
		q := store.SeriesQuery{MinStep: last, MaxStep: r.Latest[k].Step, MaxPoints: 2 * keep}
		if last > math.MinInt64 {
			q.MinStep = last + 1
		}
		s, err := l.s.st.Series(ctx, run, k, q)
		if err != nil {
			continue
		}
		t := seriesTail{key: k, step: s.Step}
		for i := range s.Step {
			var ns int64
			if i < len(s.Time) {
				ns = s.Time[i]
			}
			t.ns = append(t.ns, ns)
			if i < len(s.Value) {
				t.val = append(t.val, s.Value[i])
			} else if i < len(s.Values) {
				t.val = append(t.val, s.Values[i])
			}
		}
		if len(t.val) == len(t.step) {
			tails = append(tails, t)
		}
	}
	return tails
}

// newLogs reads run's log lines after rr.lastLog (the last LogTail when
// none was read yet) and advances rr.lastLog; nil when they cannot be
// read.
func (l *Live) newLogs(ctx context.Context, run string, rr *remoteRun) []store.LogEntry {
	rr.logs = false
	q := store.LogQuery{Run: run, After: max(rr.lastLog, 0), Limit: l.s.opts.LogTail, Tail: rr.lastLog == 0}
	page, err := l.s.st.Logs(ctx, q)
	if err != nil {
		return nil
	}
	for _, e := range page.Logs {
		rr.lastLog = max(rr.lastLog, e.ID)
	}
	if rr.lastLog == 0 {
		rr.lastLog = -1 // none yet: from the first next time
	}
	return page.Logs
}

// startFollow starts following the store's changes and using its leases,
// when it has them (store.ChangeFeed, store.Leases).
func (s *Server) startFollow() {
	if l, ok := s.st.(store.Leases); ok {
		s.leases = &leaseBook{st: l, heard: map[string]bool{}}
	}
	if feed, ok := s.st.(store.ChangeFeed); ok {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.follow(s.ctx, feed) }()
	}
}

// leaseBook collects the runs this server heard from, written to the
// store's leases once per reaper round.
type leaseBook struct {
	st    store.Leases
	mu    sync.Mutex
	heard map[string]bool
}

func (b *leaseBook) note(run string) {
	b.mu.Lock()
	b.heard[run] = true
	b.mu.Unlock()
}

// silentRuns lists the runs to mark crashed: those this server has not
// heard from within the heartbeat timeout and, with leases, that no other
// server has heard from either.
func (s *Server) silentRuns(ctx context.Context) []string {
	ids := s.live.silentRuns(time.Now().Add(-s.opts.HeartbeatTimeout))
	b := s.leases
	if b == nil {
		return ids
	}
	b.mu.Lock()
	heard := make([]string, 0, len(b.heard))
	for id := range b.heard {
		heard = append(heard, id)
	}
	clear(b.heard)
	b.mu.Unlock()
	if err := b.st.Heard(ctx, heard); err != nil {
		if ctx.Err() == nil {
			s.log.Warn("track: recording run leases", "runs", len(heard), "err", err)
		}
		return nil // not knowing what others heard, crash nothing
	}
	if len(ids) == 0 {
		return nil
	}
	silent, err := b.st.Silent(ctx, ids, s.opts.HeartbeatTimeout)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("track: reading run leases", "err", err)
		}
		return nil
	}
	return silent
}

// NodeOptions lets a server on a shared store (store.Nodes) forward what
// only another server can do: a call to an object a run exposes over its
// connection to that server.
type NodeOptions struct {
	// Addr is the host:port other servers reach this one by; "" turns
	// forwarding off (and this server is not announced).
	Addr string
	// Token is the node credential this server presents to the others
	// (their access files map it to Identity).
	Token string
	// TLS, if set, is the client configuration for dialing other servers.
	TLS *tls.Config
	// Identity is the name the node credential authenticates as; calls
	// arriving from it are not forwarded again. Default "trackd-node".
	Identity string
	// CallTimeout bounds dialing another server. Default 10 s.
	CallTimeout time.Duration
}

// DefaultNodeIdentity is NodeOptions.Identity's default.
const DefaultNodeIdentity = "trackd-node"

// announce records this server's address in a shared store.
func (s *Server) announce(ctx context.Context) {
	nodes, ok := s.st.(store.Nodes)
	if !ok || s.opts.Nodes.Addr == "" {
		return
	}
	if err := nodes.Announce(ctx, s.opts.Nodes.Addr); err != nil && ctx.Err() == nil {
		s.log.Warn("track: announcing this node", "addr", s.opts.Nodes.Addr, "err", err)
	}
}

// forwardExposed calls an object of run exposed on another server when it
// is not exposed here; ok is false when the call is for this server.
func (s *Server) forwardExposed(ctx context.Context, run, name, method string, args []any, kwargs map[string]any) (result any, ok bool, err error) {
	if s.expose.get(run, name) != nil {
		return nil, false, nil
	}
	if kwargs == nil {
		kwargs = map[string]any{}
	}
	if args == nil {
		args = []any{}
	}
	var v any
	ok, err = s.ForwardCall(ctx, &v, run, TargetName, "call_exposed", run, name, method, args, kwargs)
	if ok && err != nil && errors.Is(err, errNodeUnreachable) {
		err = fmt.Errorf("%w: %v", ErrNotExposed, err)
	}
	return v, ok, err
}

var errNodeUnreachable = errors.New("track: the node holding the run cannot be reached")

// ForwardCall calls method of rpc target on the server that last heard
// from run, when that is another server on the same store, decoding its
// result into out (as rpc.Client.CallInto does); forwarded is
// false when the call is for this server: forwarding is off (no
// NodeOptions.Addr, a store without store.Nodes), the caller is itself a
// node (a forwarded call is answered where it lands), or no other server
// holds the run. The caller has checked that its caller may make the call.
func (s *Server) ForwardCall(ctx context.Context, out any, run, target, method string, args ...any) (forwarded bool, err error) {
	o := s.opts.Nodes
	nodes, shared := s.st.(store.Nodes)
	if !shared || o.Addr == "" {
		return false, nil
	}
	if id, has := auth.FromContext(ctx); has && id.Name == o.Identity {
		return false, nil
	}
	addr, self, err := nodes.RunNode(ctx, run)
	if err != nil || self || addr == "" || addr == o.Addr {
		return false, nil
	}
	dctx, cancel := context.WithTimeout(ctx, o.CallTimeout)
	c, err := rpc.Dial(dctx, addr, target, rpc.ClientOptions{TLS: o.TLS, Token: o.Token, Protocol: rpc.ProtocolNative, Logger: s.log})
	cancel()
	if err != nil {
		return true, fmt.Errorf("%w: run %s reports to node %s: %v", errNodeUnreachable, run, addr, err)
	}
	defer c.Close()
	return true, c.CallInto(ctx, out, method, args...)
}
