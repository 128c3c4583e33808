package server

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/syncstruct"
	"github.com/sigoco/sigoco/track/store"
)

// Live owns the notifiers (their trees: livestate.go). Batches, logs and
// edits change its pending state, which a goroutine publishes every
// Options.LiveInterval: whatever changed in between coalesces into one mod
// per value (the latest value per key), so the cost of live state does not
// grow with the logging rate.
//
// What it costs does not grow with the number of runs either: "runs"
// lists at most RunsOpenInLive open and RunsInLive finished runs, a run's
// own notifier exists only while the run is listed and open, lingers or
// is watched, and an open run that is not listed is remembered in a few
// words (its status and when it was last heard from), its entry read again
// from the store when it comes into the list.
type Live struct {
	s      *Server
	runs   *syncstruct.Notifier
	server *syncstruct.Notifier

	mu          sync.Mutex          // guards everything below and every liveRun's fields (except lock)
	state       map[string]*liveRun // by run id
	rankDirty   bool                // which runs "runs" lists must be decided again
	countsDirty bool                // ServerState.Runs must be counted again
	counts      RunCounts           // as published
	storage     storageWatch
}

// liveRun is the server's memory of one run.
type liveRun struct {
	id    string
	lock  sync.Mutex // serialises the batches of the run
	users int        // lockRun callers holding or waiting for lock: the run is not forgotten meanwhile

	stored   bool         // its first batch is stored, or it was read from the store
	status   store.Status // the last lifecycle status (never crashed)
	crashed  bool
	lastSeen time.Time // last heard from by this server; zero: not followed here (never reaped)
	endedAt  time.Time
	gen      int  // counts the batches: a read from the store older than a batch is not applied
	unranked bool // stored since the list was last decided: keeps its first points until then

	listed      bool      // "runs" should list it (the newest open or finished)
	inList      bool      // it is in "runs"
	listPub     pubCache  // its fields as last set in "runs"
	entry       *RunEntry // while listed, published or unranked; nil otherwise
	reread      bool      // entry and detail to be read from the store at the next flush
	dirtyEntry  bool
	dirtyLatest map[string]bool

	n           *syncstruct.Notifier // the run's own notifier, nil when not published
	published   pubCache             // its fields as last set in n
	dirtyDetail bool                 // params, metadata, notes, artifacts, counts: reread from the store
	recent      map[string]*RecentPoints
	dirtySeries map[string]bool
	logs        []LogLine // pending log tail entries
	nlogs       int       // entries in n's log tail
	exposed     map[string]*rpc.TargetInfo
	dirtyExpose bool
	watchUntil  time.Time
}

func (lr *liveRun) open() bool { return lr.stored && !lr.status.Final() }

// shownStatus is RunEntry.Status.
func (lr *liveRun) shownStatus() string {
	if lr.crashed {
		return string(store.StatusCrashed)
	}
	return string(lr.status)
}

// pubCache holds the pyon encoding of each field last set in a notifier,
// so that only what changed is sent (a note does not resend the params).
type pubCache map[string]string

// set sets in node (set) each key of tree whose encoding changed.
func (c pubCache) set(tree map[string]any, set func(k string, v any) error) error {
	for k, v := range tree {
		b, err := pyon.Encode(v)
		if err != nil {
			return err
		}
		if old, ok := c[k]; ok && old == string(b) {
			continue
		}
		if err := set(k, v); err != nil {
			return err
		}
		c[k] = string(b)
	}
	return nil
}

func newLive(s *Server) (*Live, error) {
	l := &Live{s: s, state: map[string]*liveRun{}}
	var err error
	if l.runs, err = syncstruct.NewNotifier(map[string]any{}, syncstruct.NotifierOptions{}); err != nil {
		return nil, err
	}
	l.counts = RunCounts{ByStatus: map[string]int64{}, MaxOpen: int64(s.opts.RunsOpenInLive), MaxFinished: int64(s.opts.RunsInLive)}
	l.storage.state = StorageState{State: StorageOK, MinFree: s.opts.MinFree}
	tree, err := liveValue(ServerState{Runs: l.counts, Storage: l.storage.state})
	if err != nil {
		return nil, err
	}
	if l.server, err = syncstruct.NewNotifier(tree, syncstruct.NotifierOptions{}); err != nil {
		return nil, err
	}
	if err := s.pub.Add(RunsNotifier, l.runs); err != nil {
		return nil, err
	}
	if err := s.pub.Add(ServerNotifier, l.server); err != nil {
		return nil, err
	}
	l.readStorage()
	return l, nil
}

// Runs returns the "runs" notifier.
func (l *Live) Runs() *syncstruct.Notifier { return l.runs }

// Server returns the "server" notifier (ServerState).
func (l *Live) Server() *syncstruct.Notifier { return l.server }

// entryView reads what a run's entry shows.
func (l *Live) entryView() store.View {
	return store.View{MaxValue: 256, MaxTotal: 16 << 10, MaxKeys: l.s.opts.Bounds.LiveLatest, MaxNotes: 1}
}

// nonFinal are the statuses of runs the server follows after a restart.
var nonFinal = []store.Status{store.StatusRegistered, store.StatusLoaded, store.StatusInitialized, store.StatusStarted, store.StatusRunning}

// load remembers the newest runs and every open one (not crashed); the
// first flush decides which are listed.
func (l *Live) load(ctx context.Context) error {
	page, err := l.s.st.ListRuns(ctx, store.RunFilter{Limit: min(l.s.opts.RunsInLive, 1000)})
	if err != nil {
		return err
	}
	now := time.Now()
	l.mu.Lock()
	for i := range page.Runs {
		lr := l.getLocked(page.Runs[i].ID)
		l.applyReadLocked(lr, &page.Runs[i])
		if lr.open() && !lr.crashed {
			lr.lastSeen = now // open runs get a heartbeat timeout to come back
		}
	}
	l.mu.Unlock()
	// Every open run, a page at a time, in a few words each.
	f := store.RunFilter{Status: nonFinal, Limit: 1000}
	for {
		page, err := l.s.st.ListRuns(ctx, f)
		if err != nil {
			return err
		}
		l.mu.Lock()
		for i := range page.Runs {
			r := &page.Runs[i]
			lr := l.getLocked(r.ID)
			if !lr.stored {
				lr.stored, lr.status, lr.lastSeen = true, r.Status, now
			}
		}
		l.mu.Unlock()
		if page.Next == "" || len(page.Runs) == 0 {
			break
		}
		f.After = page.Next
	}
	l.mu.Lock()
	l.rankDirty, l.countsDirty = true, true
	l.mu.Unlock()
	return nil
}

// applyReadLocked sets what a read of the store says of a run.
func (l *Live) applyReadLocked(lr *liveRun, r *store.Run) {
	wasStored := lr.stored
	if !lr.stored {
		l.rankDirty = true
	}
	lr.stored = true
	if r.Status == store.StatusCrashed {
		lr.crashed = true
		if lr.status == "" {
			lr.status = store.StatusRunning
		}
	} else {
		if lr.status.Final() != r.Status.Final() {
			l.rankDirty = true
			if r.Status.Final() && wasStored {
				lr.endedAt = time.Now() // ended elsewhere (another node): it lingers as one ended here
			}
		}
		lr.crashed, lr.status = false, r.Status
	}
	lr.entry = l.entryOf(r)
	lr.entry.Status = lr.shownStatus()
	lr.dirtyEntry = true
	lr.dirtyLatest = map[string]bool{}
	for k := range lr.entry.Latest {
		lr.dirtyLatest[k] = true
	}
	l.countsDirty = true
}

func (l *Live) getLocked(id string) *liveRun {
	lr, ok := l.state[id]
	if !ok {
		lr = &liveRun{id: id, dirtyLatest: map[string]bool{}, dirtySeries: map[string]bool{}, recent: map[string]*RecentPoints{},
			exposed: map[string]*rpc.TargetInfo{}, listPub: pubCache{}}
		l.state[id] = lr
	}
	return lr
}

// lockRun serialises the batches of one run and returns the unlock. The
// run is not forgotten between the two (it may not be stored yet).
func (l *Live) lockRun(id string) func() {
	l.mu.Lock()
	lr := l.getLocked(id)
	lr.users++
	l.mu.Unlock()
	lr.lock.Lock()
	return func() {
		lr.lock.Unlock()
		l.mu.Lock()
		lr.users--
		l.mu.Unlock()
	}
}

// touch records that a run was heard from; it reports whether the run was
// marked crashed (the caller lifts the mark in the store).
func (l *Live) touch(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lr := l.getLocked(id)
	lr.lastSeen = time.Now()
	return lr.crashed
}

// forgetUnstored drops the memory of a run that has no stored batch (a
// refused batch for an unknown run), so garbage ids cost nothing.
func (l *Live) forgetUnstored(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lr, ok := l.state[id]; ok && !lr.stored && lr.n == nil && lr.users <= 1 && len(lr.exposed) == 0 {
		delete(l.state, id) // lockRun's unlock still holds lr
	}
}

// stored reports whether the run's first batch has been stored.
func (l *Live) stored(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lr, ok := l.state[id]
	return ok && lr.stored
}

func (l *Live) known(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.state[id]
	return ok
}

// silentRuns lists open runs this server follows last heard from before
// deadline.
func (l *Live) silentRuns(deadline time.Time) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	for id, lr := range l.state {
		if lr.open() && !lr.crashed && !lr.lastSeen.IsZero() && lr.lastSeen.Before(deadline) {
			ids = append(ids, id)
		}
	}
	return ids
}

func (l *Live) setCrashed(id string, crashed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lr := l.getLocked(id)
	lr.crashed = crashed
	if lr.status == "" {
		lr.status = store.StatusRunning
	}
	if lr.entry != nil {
		lr.entry.Status = lr.shownStatus()
		lr.dirtyEntry = true
	}
	l.countsDirty = true
}

// batch notes what a stored batch changed. It never reads the store: a run
// coming into the list is read at the next flush.
func (l *Live) batch(ctx context.Context, b *store.Batch, ack *store.Ack) {
	rejected := map[int64]bool{}
	for _, r := range ack.Rejected {
		rejected[r.Seq] = true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lr := l.getLocked(b.Run)
	lr.gen++
	if !lr.stored {
		lr.stored, lr.unranked = true, true
		if lr.status == "" {
			lr.status = store.StatusRegistered
		}
		l.rankDirty, l.countsDirty = true, true
		if lr.entry == nil {
			lr.reread = true
		}
	}
	keep := lr.n != nil || lr.unranked // recent points only show in a run's own notifier
	e := lr.entry
	if e != nil {
		e.Updated = unixSec(store.Now())
		lr.dirtyEntry = true
	}
	for i := range b.Records {
		if r := &b.Records[i]; !rejected[r.Seq] && r.Seq > ack.Prev {
			l.recordLocked(lr, e, r, keep)
		}
	}
	l.pointsLocked(lr, e, &b.Points, ack.Prev, rejected, keep)
}

// recordLocked notes one stored record of lr's batch; e is lr's entry in
// the runs list, or nil.
func (l *Live) recordLocked(lr *liveRun, e *RunEntry, r *store.Record, keep bool) {
	switch r.Kind {
	case store.KindStatus:
		st := store.Status(r.Key)
		if st == store.StatusRegistered && lr.status != "" && lr.status != store.StatusRegistered {
			return // Start's announcement to a run already further: a no-op in the store too
		}
		if st.Final() && !lr.status.Final() {
			lr.endedAt, l.rankDirty = time.Now(), true
		}
		lr.status, l.countsDirty = st, true
		if e != nil {
			msg, _ := r.Value.(string)
			e.Status, e.Message = lr.shownStatus(), store.TruncateText(msg, l.s.opts.Bounds.LiveText)
			if st.Final() {
				e.End = unixSec(store.TimeOf(time.Unix(0, r.Time)))
			}
			if st == store.StatusFinished {
				e.Progress = 100
			}
		}
	case store.KindProgress:
		if p, ok := store.ScalarOf(r.Value); ok && e != nil {
			e.Progress = p
		}
		l.activeStepLocked(lr, e, -1)
	case store.KindStep:
		if e != nil {
			e.Step = r.Step
		}
		l.activeStepLocked(lr, e, -1)
	case store.KindTag, store.KindUntag:
		if e != nil {
			e.Tags = slices.DeleteFunc(slices.Clone(e.Tags), func(t string) bool { return t == r.Key })
			if r.Kind == store.KindTag && len(e.Tags) < l.s.opts.Bounds.LiveTags {
				e.Tags = append(e.Tags, r.Key)
			}
		}
		lr.dirtyDetail = true
	case store.KindResult:
		l.addPointLocked(lr, r.Key, r.Step, r.Time, r.Value, keep)
		l.activeStepLocked(lr, e, r.Step)
	case store.KindParam, store.KindMeta, store.KindNote, store.KindArtifact, store.KindCount:
		lr.dirtyDetail = true
	}
}

// pointsLocked notes the packed points of lr's batch stored after prev.
// Only the last RecentPoints points of each key can show: it walks back
// from the end, then adds those in order.
func (l *Live) pointsLocked(lr *liveRun, e *RunEntry, p *store.Points, prev int64, rejected map[int64]bool, keep bool) {
	n := l.s.opts.RecentPoints
	taken := make([]int, len(p.Keys))
	var idx []int
	for i := len(p.Seq) - 1; i >= 0 && p.Seq[i] > prev; i-- {
		if !rejected[p.Seq[i]] {
			l.activeStepLocked(lr, e, p.Step[i])
		}
		if k := p.Key[i]; taken[k] < n {
			taken[k]++
			idx = append(idx, i)
		}
	}
	for j := len(idx) - 1; j >= 0; j-- {
		i := idx[j]
		l.addPointLocked(lr, p.Keys[p.Key[i]], p.Step[i], pointTime(p, i), p.Value[i], keep)
	}
}

// activeStepLocked mirrors the store's implicit rule (store/rules.go
// applier.active): a registered run that reports is running; results
// raise its step (step -1: none).
func (l *Live) activeStepLocked(lr *liveRun, e *RunEntry, step int64) {
	l.activeLocked(lr)
	if e != nil && step > e.Step {
		e.Step = step
	}
}

// activeLocked makes a registered run running (its first data record or
// log line) and reports whether it was registered.
func (l *Live) activeLocked(lr *liveRun) bool {
	if lr.status != store.StatusRegistered {
		return false
	}
	lr.status, l.countsDirty = store.StatusRunning, true
	if lr.entry != nil {
		lr.entry.Status = lr.shownStatus()
		lr.dirtyEntry = true
	}
	return true
}

// logged notes that run logged: a registered run becomes running; true
// when it was registered, for the caller to tell the store.
func (l *Live) logged(run string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lr, ok := l.state[run]
	return ok && l.activeLocked(lr)
}

// pointTime is the time of point i of p (Unix ns; 0 when absent).
func pointTime(p *store.Points, i int) int64 {
	if i < len(p.Time) {
		return p.Time[i]
	}
	return 0
}

// addPointLocked notes a point of a series (its step, its time in Unix
// ns, its value).
func (l *Live) addPointLocked(lr *liveRun, key string, step, ns int64, v any, keep bool) {
	if keep {
		rs := lr.recent[key]
		if rs == nil {
			rs = &RecentPoints{}
			lr.recent[key] = rs
		}
		n := l.s.opts.RecentPoints
		rs.Step = append(rs.Step, step)
		rs.Time = append(rs.Time, float64(ns)/1e9)
		rs.Value = append(rs.Value, smallValue(v))
		if len(rs.Step) > 2*n {
			rs.Step = append(rs.Step[:0], rs.Step[len(rs.Step)-n:]...)
			rs.Time = append(rs.Time[:0], rs.Time[len(rs.Time)-n:]...)
			rs.Value = append(rs.Value[:0], rs.Value[len(rs.Value)-n:]...)
		}
		lr.dirtySeries[key] = true
	}
	if e := lr.entry; e != nil {
		if _, ok := e.Latest[key]; ok || len(e.Latest) < l.s.opts.Bounds.LiveLatest {
			e.Latest[key] = smallValue(v)
			lr.dirtyLatest[key] = true
		}
	}
}

// logs notes stored log records of a run.
func (l *Live) logs(run string, entries []store.LogEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lr, ok := l.state[run]
	if !ok || lr.n == nil {
		return
	}
	for i := range entries {
		e := &entries[i]
		lr.logs = append(lr.logs, LogLine{
			Time: unixSec(e.Time), Level: int64(e.Level),
			Logger:  store.TruncateText(e.Logger, l.s.opts.Bounds.LiveText),
			Message: store.TruncateText(e.Message, l.s.opts.Bounds.LiveText),
			Attrs:   liveAttrs(e.Attrs, l.s.opts.Bounds.LiveText),
		})
	}
	if over := len(lr.logs) - l.s.opts.LogTail; over > 0 {
		lr.logs = lr.logs[over:]
	}
}

// edited notes that a run changed in the store outside its batches (a
// note, a tag, resume).
func (l *Live) edited(ctx context.Context, run string) {
	if err := l.Refresh(ctx, run); err != nil {
		l.s.log.Debug("track: reading an edited run", "run", run, "err", err)
	}
}

// Refresh reads run id from the store again and publishes what changed:
// the hook for a run changed in the store by someone else (another server
// on the same PostgreSQL database, an edit behind the server's back). A
// run the store no longer holds leaves the live state. Refresh does not
// make this server watch the run's heartbeats: only batches and
// heartbeats it receives do.
func (l *Live) Refresh(ctx context.Context, id string) error {
	l.mu.Lock()
	gen := l.getLocked(id).gen
	l.mu.Unlock()
	r, err := l.s.st.ViewRun(ctx, id, l.entryView())
	if errors.Is(err, store.ErrUnknownRun) || errors.Is(err, store.ErrDeletedRun) {
		l.gone(id)
		return nil
	}
	if err != nil {
		l.forgetIdle(id)
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lr := l.getLocked(id)
	if lr.gen != gen {
		lr.reread = true // a batch came in meanwhile: read again at the next flush
	} else {
		l.applyReadLocked(lr, r)
	}
	lr.dirtyDetail = true
	return nil
}

// gone handles a run the store does not hold: deleted (by another server
// on the same store) if it was stored, else forgotten unless its first
// batch is being stored now.
func (l *Live) gone(id string) {
	l.mu.Lock()
	lr, ok := l.state[id]
	stored := ok && lr.stored
	l.mu.Unlock()
	if stored {
		l.deleted(id)
	} else {
		l.forgetIdle(id)
	}
}

// forgetIdle drops a run's memory if nothing holds it.
func (l *Live) forgetIdle(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lr, ok := l.state[id]; ok && l.forgettable(lr) {
		delete(l.state, id)
	}
}

// forgettable: nothing needs the run's memory (it stays in the store).
func (l *Live) forgettable(lr *liveRun) bool {
	return lr.users == 0 && lr.n == nil && !lr.listed && !lr.inList && !lr.unranked && !lr.open() && len(lr.exposed) == 0
}

func (l *Live) deleted(run string) {
	l.mu.Lock()
	lr, ok := l.state[run]
	delete(l.state, run)
	l.countsDirty = true
	l.mu.Unlock()
	if ok && lr.n != nil {
		l.s.pub.Remove(RunNotifier(run))
	}
	if err := l.runs.Delete(run); err != nil && !errors.Is(err, syncstruct.ErrNoKey) {
		l.s.log.Debug("track: removing a run from the live list", "run", run, "err", err)
	}
}

func (l *Live) setExposed(run, name string, info *rpc.TargetInfo) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lr := l.getLocked(run)
	if info == nil {
		delete(lr.exposed, name)
	} else {
		lr.exposed[name] = info
	}
	lr.dirtyExpose = true
}

func (l *Live) blobCommitted(sha string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, lr := range l.state {
		if lr.n != nil {
			lr.dirtyDetail = true // artifacts show whether their content arrived
		}
	}
}

// watch publishes a run's own notifier until RunLinger from now.
func (l *Live) watch(ctx context.Context, run string) (string, error) {
	r, err := l.view(ctx, run)
	if err != nil {
		return "", err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lr := l.getLocked(run)
	if lr.entry == nil {
		l.applyReadLocked(lr, r)
	}
	lr.watchUntil = time.Now().Add(l.s.opts.RunLinger)
	if lr.n == nil {
		l.publishRunLocked(lr)
	}
	return RunNotifier(run), nil
}

func (l *Live) publishRunLocked(lr *liveRun) {
	st := RunState{ID: lr.id, Exposed: lr.exposed}
	if lr.entry != nil {
		lr.entry.Status = lr.shownStatus()
		st.RunEntry = *lr.entry // a subscriber never sees an empty entry
	}
	tree, err := liveMap(st)
	if err != nil {
		l.s.log.Warn("track: publishing a run", "run", lr.id, "err", err)
		return
	}
	n, err := syncstruct.NewNotifier(tree, syncstruct.NotifierOptions{})
	if err != nil {
		return
	}
	if err := l.s.pub.Add(RunNotifier(lr.id), n); err != nil {
		l.s.log.Warn("track: publishing a run", "run", lr.id, "err", err)
		return
	}
	lr.n, lr.published = n, pubCache{}
	for k, v := range tree { // what is still the zero value is not sent again
		if b, err := pyon.Encode(v); err == nil {
			lr.published[k] = string(b)
		}
	}
	lr.dirtyDetail, lr.dirtyExpose = true, false
	for k := range lr.recent {
		lr.dirtySeries[k] = true
	}
}

// run publishes pending changes every LiveInterval until ctx ends.
func (l *Live) run(ctx context.Context) {
	t := time.NewTicker(l.s.opts.LiveInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		l.flush(ctx)
	}
}

// flush publishes every pending change: it decides which runs "runs"
// lists, reads from the store what must be read (outside the lock), then
// sets what changed.
func (l *Live) flush(ctx context.Context) {
	l.readStorage()
	details := l.readRuns(ctx, l.pendingReads())
	l.mu.Lock()
	remove := l.publishLocked(details)
	l.mu.Unlock()
	for _, id := range remove {
		l.s.pub.Remove(RunNotifier(id))
	}
}

// liveRead is a run flush reads from the store: at generation gen, with
// its detail (Bounds.Live) or only its entry.
type liveRead struct {
	lr     *liveRun
	gen    int
	detail bool
}

// pendingReads ranks the runs list if it must be, and returns the runs
// whose entry or detail must be read again.
func (l *Live) pendingReads() []liveRead {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rankDirty {
		release := l.runs.Hold()
		l.rankLocked()
		release()
	}
	var reads []liveRead
	for _, lr := range l.state {
		needEntry := lr.reread && (lr.listed || lr.n != nil)
		needDetail := lr.n != nil && (lr.dirtyDetail || lr.reread)
		if needEntry || needDetail {
			reads = append(reads, liveRead{lr, lr.gen, needDetail})
			lr.reread, lr.dirtyDetail = false, false
		}
	}
	return reads
}

// readRuns reads reads from the store (without the lock held), applies
// each entry read and returns the details read.
func (l *Live) readRuns(ctx context.Context, reads []liveRead) map[*liveRun]RunDetail {
	details := map[*liveRun]RunDetail{}
	for _, rd := range reads {
		v := l.entryView()
		if rd.detail {
			v = l.s.opts.Bounds.Live
		}
		r, err := l.s.st.ViewRun(ctx, rd.lr.id, v)
		if errors.Is(err, store.ErrUnknownRun) || errors.Is(err, store.ErrDeletedRun) {
			l.gone(rd.lr.id)
			continue
		}
		if err != nil {
			l.mu.Lock()
			rd.lr.reread = true // the next flush tries again
			l.mu.Unlock()
			continue
		}
		l.mu.Lock()
		if rd.lr.gen != rd.gen {
			rd.lr.reread = true // a batch came in meanwhile: read again next time
		} else {
			l.applyReadLocked(rd.lr, r)
		}
		l.mu.Unlock()
		if rd.detail {
			details[rd.lr] = detailOf(r)
		}
	}
	return details
}

// publishLocked sets what changed in every notifier, forgets what no
// notifier shows any more, and returns the run notifiers to remove.
func (l *Live) publishLocked(details map[*liveRun]RunDetail) (remove []string) {
	now := time.Now()
	// What this flush changes reaches each subscriber as one group (one
	// WebSocket message, made once for all of them), not mod by mod.
	releaseRuns, releaseServer := l.runs.Hold(), l.server.Hold()
	defer releaseServer()
	defer releaseRuns()
	for id, lr := range l.state {
		var releaseRun func()
		if lr.n != nil {
			releaseRun = lr.n.Hold()
		}
		l.publishChangesLocked(lr, details)
		if releaseRun != nil {
			releaseRun()
		}
		if lr.n != nil {
			lingered := now.After(lr.watchUntil) && (lr.open() && !lr.listed || !lr.open() && now.Sub(lr.endedAt) > l.s.opts.RunLinger)
			if lingered {
				remove = append(remove, id)
				lr.n, lr.nlogs, lr.published = nil, 0, nil
			}
		}
		if lr.n == nil && !lr.unranked {
			clear(lr.recent) // only the run's own notifier shows them
			lr.logs = nil
			if !lr.listed {
				lr.entry = nil
			}
		}
		if l.forgettable(lr) {
			delete(l.state, id)
		}
	}
	if l.countsDirty {
		l.countLocked()
	}
	return remove
}

// publishChangesLocked sets lr's changes: its entry in the runs list and
// its own notifier's tree (with its detail, if read).
func (l *Live) publishChangesLocked(lr *liveRun, details map[*liveRun]RunDetail) {
	if lr.entry != nil && (lr.dirtyEntry || len(lr.dirtyLatest) > 0 || (lr.listed && !lr.inList)) {
		l.flushEntryLocked(lr)
	}
	if lr.n == nil {
		return
	}
	if d, ok := details[lr]; ok {
		if tree, err := liveMap(d); err == nil {
			lr.published.set(tree, func(k string, v any) error { return lr.n.Set(k, v) })
		}
	}
	l.flushRunLocked(lr)
}

// rankLocked decides which runs "runs" lists: the RunsOpenInLive newest
// open runs (crashed ones included) and the RunsInLive newest finished
// ones. Runs whose first batch is still being stored are not runs yet.
func (l *Live) rankLocked() {
	open, done := newest{n: l.s.opts.RunsOpenInLive}, newest{n: l.s.opts.RunsInLive}
	for id, lr := range l.state {
		switch {
		case !lr.stored:
		case lr.open():
			open.offer(id)
		default:
			done.offer(id)
		}
	}
	want := make(map[string]bool, len(open.ids)+len(done.ids))
	for _, id := range open.ids {
		want[id] = true
	}
	for _, id := range done.ids {
		want[id] = true
	}
	for id, lr := range l.state {
		lr.unranked = false
		lr.listed = want[id]
		if lr.listed && lr.entry == nil {
			lr.reread = true
		}
		if !lr.listed && lr.inList {
			if err := l.runs.Delete(id); err != nil && !errors.Is(err, syncstruct.ErrNoKey) {
				l.s.log.Debug("track: removing a run from the live list", "run", id, "err", err)
			}
			lr.inList, lr.listPub, l.countsDirty = false, pubCache{}, true
		}
		if lr.listed && lr.open() && lr.n == nil {
			l.publishRunLocked(lr)
		}
	}
	l.rankDirty, l.countsDirty = false, true
}

// countLocked publishes ServerState.Runs if it changed.
func (l *Live) countLocked() {
	c := RunCounts{ByStatus: map[string]int64{}, MaxOpen: int64(l.s.opts.RunsOpenInLive), MaxFinished: int64(l.s.opts.RunsInLive)}
	for _, lr := range l.state {
		if lr.inList {
			c.Listed++
		}
		if lr.open() {
			c.Open++
			c.ByStatus[lr.shownStatus()]++
		}
	}
	l.countsDirty = false
	if c.Open == l.counts.Open && c.Listed == l.counts.Listed && maps.Equal(c.ByStatus, l.counts.ByStatus) {
		return
	}
	l.counts = c
	if tree, err := liveValue(c); err == nil {
		l.server.Set("runs", tree)
	}
}

// flushEntryLocked publishes a run's entry into "runs" (when listed) and
// into its own notifier.
func (l *Live) flushEntryLocked(lr *liveRun) {
	lr.entry.Status = lr.shownStatus()
	tree, err := liveMap(lr.entry)
	if err != nil {
		l.s.log.Warn("track: live entry", "run", lr.id, "err", err)
		return
	}
	latest, _ := tree["latest"].(map[string]any)
	delete(tree, "latest")
	if lr.listed {
		if !lr.inList {
			full := maps.Clone(tree)
			full["latest"] = latest
			if err := l.runs.Set(lr.id, full); err != nil {
				l.s.log.Warn("track: live entry", "run", lr.id, "err", err)
				return
			}
			lr.inList, lr.listPub, l.countsDirty = true, pubCache{}, true
			for k, v := range tree {
				if b, err := pyon.Encode(v); err == nil {
					lr.listPub[k] = string(b)
				}
			}
		} else {
			lr.listPub.set(tree, func(k string, v any) error { return l.runs.At(lr.id).Set(k, v) })
			for k := range lr.dirtyLatest {
				if v, ok := latest[k]; ok {
					l.runs.At(lr.id, "latest").Set(k, v)
				}
			}
		}
	}
	if lr.n != nil {
		lr.published.set(tree, func(k string, v any) error { return lr.n.Set(k, v) })
		if len(lr.dirtyLatest) > 0 {
			lr.n.Set("latest", latest)
		}
	}
	lr.dirtyEntry = false
	clear(lr.dirtyLatest)
}

// flushRunLocked publishes a run's recent points, log tail and exposed
// objects into its own notifier.
func (l *Live) flushRunLocked(lr *liveRun) {
	for k := range lr.dirtySeries {
		rs := lr.recent[k]
		if rs == nil {
			continue
		}
		from := max(0, len(rs.Step)-l.s.opts.RecentPoints)
		if v, err := liveValue(RecentPoints{Step: rs.Step[from:], Time: rs.Time[from:], Value: rs.Value[from:]}); err == nil {
			lr.n.At("series").Set(k, v)
		}
	}
	clear(lr.dirtySeries)
	for _, e := range lr.logs {
		if v, err := liveValue(e); err == nil {
			lr.n.At("logs").Append(v)
			lr.nlogs++
		}
	}
	lr.logs = lr.logs[:0]
	for ; lr.nlogs > l.s.opts.LogTail; lr.nlogs-- {
		lr.n.At("logs").Pop(0)
	}
	if lr.dirtyExpose {
		if v, err := liveValue(lr.exposed); err == nil {
			lr.n.Set("exposed", v)
		}
		lr.dirtyExpose = false
	}
}

// storageWatch follows the server's storage for StorageState.
type storageWatch struct {
	state     StorageState // as published
	read      time.Time    // of the last free-space reading
	free      *int64
	errors    [60]struct{ sec, n int64 } // unavailable errors per second of the last minute
	lastErr   string
	lastErrAt time.Time
}

// storeFailed notes an error of a store write: an unavailable one (full,
// I/O error, busy; not the server's own low-space refusal, which
// StorageLow shows) makes the storage state StorageUnavailable for
// StorageErrorWindow.
func (l *Live) storeFailed(err error) {
	var ue *store.UnavailableError
	if !errors.As(err, &ue) || errors.Is(err, ErrLowSpace) {
		return
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := &l.storage.errors[now.Unix()%int64(len(l.storage.errors))]
	if b.sec != now.Unix() {
		b.sec, b.n = now.Unix(), 0
	}
	b.n++
	l.storage.lastErr, l.storage.lastErrAt = store.TruncateText(err.Error(), l.s.opts.Bounds.LiveText), now
}

// readStorage reads the free space (at most once a second) and publishes
// StorageState when it changed.
func (l *Live) readStorage() {
	now := time.Now()
	l.mu.Lock()
	due := l.s.opts.FreeSpace != nil && now.Sub(l.storage.read) >= time.Second
	if due {
		l.storage.read = now
	}
	l.mu.Unlock()
	var free *int64
	if due {
		if f, err := l.s.opts.FreeSpace(); err == nil {
			free = &f
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	w := &l.storage
	if due {
		w.free = free
	}
	st := StorageState{State: StorageOK, FreeBytes: w.free, MinFree: l.s.opts.MinFree, LastError: w.lastErr}
	if !w.lastErrAt.IsZero() {
		st.LastErrorTime = unixSec(store.TimeOf(w.lastErrAt))
	}
	for _, b := range w.errors {
		if b.sec > now.Unix()-int64(StorageErrorWindow/time.Second) {
			st.Errors += b.n
		}
	}
	switch {
	case st.Errors > 0:
		st.State = StorageUnavailable
	case st.MinFree > 0 && st.FreeBytes != nil && *st.FreeBytes < st.MinFree:
		st.State = StorageLow
	}
	if sameStorage(st, w.state) {
		return
	}
	w.state = st
	if tree, err := liveValue(st); err == nil {
		l.server.Set("storage", tree)
	}
}

func sameStorage(a, b StorageState) bool {
	eq := func(x, y *int64) bool { return x == nil && y == nil || x != nil && y != nil && *x == *y }
	eqf := func(x, y *float64) bool { return x == nil && y == nil || x != nil && y != nil && *x == *y }
	return a.State == b.State && eq(a.FreeBytes, b.FreeBytes) && a.MinFree == b.MinFree && a.Errors == b.Errors &&
		a.LastError == b.LastError && eqf(a.LastErrorTime, b.LastErrorTime)
}
