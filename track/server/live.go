package server

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/sigoco/sigoco/syncstruct"
	"github.com/sigoco/sigoco/track/store"
)

// RunsNotifier is the name of the notifier listing runs: a dict run id →
// {project, name, status, message, progress, step, start, updated, tags,
// latest} (times in Unix seconds, latest: result key → last value).
const RunsNotifier = "runs"

// RunNotifier returns the name of a run's own notifier: the runs entry plus
// params, metadata, notes, artifacts, counts, series (key → {step, value}
// lists of the recent points), logs (the tail), exposed (object name →
// its methods) and omitted (what the bounds left out, by field).
//
// Live state is bounded per run (Options.Bounds): a param, metadata entry
// or count over ReadBounds.Live.MaxValue, or beyond its MaxTotal, is a
// marker {"__truncated__": true, "type", "size", "len"} (the full value:
// get_value); maps list at most MaxKeys entries, notes the newest
// MaxNotes; messages are cut to LiveText bytes and tags to LiveTags.
func RunNotifier(id string) string { return "run/" + id }

// Live owns the notifiers. Batches, logs and edits change its pending
// state, which a goroutine publishes every Options.LiveInterval: whatever
// changed in between coalesces into one mod per value (the latest value per
// key), so the cost of live state does not grow with the logging rate.
type Live struct {
	s    *Server
	runs *syncstruct.Notifier

	mu    sync.Mutex          // guards state and every liveRun's fields (except lock)
	state map[string]*liveRun // by run id
}

// liveRun is the server's memory of one run.
type liveRun struct {
	id   string
	lock sync.Mutex // serialises the batches of the run

	lastSeen time.Time
	open     bool // status not final
	crashed  bool
	listed   bool           // has an entry in "runs"
	entry    map[string]any // the "runs" entry as published next
	latest   map[string]any // latest values, published into entry["latest"]

	dirtyEntry  bool
	dirtyLatest map[string]bool
	dirtyDetail bool // params, metadata, notes, artifacts, counts: reread from the store
	dirtySeries map[string]bool
	recent      map[string]*recentSeries
	logs        []any // pending log tail entries
	exposed     map[string]any
	dirtyExpose bool

	n          *syncstruct.Notifier // the run's own notifier, nil when not published
	published  map[string][]byte    // encoding of each detail field last set in n
	nlogs      int                  // entries in n's log tail
	watchUntil time.Time
	endedAt    time.Time
}

type recentSeries struct {
	step  []any
	value []any
}

func newLive(s *Server) (*Live, error) {
	n, err := syncstruct.NewNotifier(map[string]any{}, syncstruct.NotifierOptions{})
	if err != nil {
		return nil, err
	}
	if err := s.pub.Add(RunsNotifier, n); err != nil {
		return nil, err
	}
	return &Live{s: s, runs: n, state: map[string]*liveRun{}}, nil
}

// Runs returns the "runs" notifier.
func (l *Live) Runs() *syncstruct.Notifier { return l.runs }

func unixSec(t store.Time) any {
	if t == 0 {
		return nil
	}
	return float64(t)
}

func (l *Live) entryOf(r *store.Run) map[string]any {
	return map[string]any{
		"project": r.Project, "name": r.Name, "status": string(r.Status), "message": store.TruncateText(r.Message, l.s.opts.Bounds.LiveText),
		"progress": r.Progress, "step": r.Step, "start": unixSec(r.Start), "updated": unixSec(r.Updated),
		"end": unixSec(r.End), "tags": l.tagList(r.Tags), "latest": map[string]any{},
		"clientStatus": clientStatus(r.Status),
	}
}

func clientStatus(s store.Status) string {
	if s == store.StatusCrashed {
		return string(store.StatusRunning)
	}
	return string(s)
}

// smallValue returns v if it is small enough for a listing, else a
// placeholder naming its kind.
func smallValue(v any) any {
	if _, ok := store.ScalarOf(v); ok {
		return v
	}
	if b, err := store.EncodeValue(v); err == nil && len(b) <= 256 {
		return v
	}
	return "…"
}

// load fills "runs" with the newest runs and every open one.
func (l *Live) load(ctx context.Context) error {
	page, err := l.s.st.ListRuns(ctx, store.RunFilter{Limit: l.s.opts.RunsInLive})
	if err != nil {
		return err
	}
	open, err := l.s.st.OpenRuns(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	add := func(r *store.Run) *liveRun {
		lr := l.getLocked(r.ID)
		lr.entry = l.entryOf(r)
		for k, v := range r.Latest {
			lr.latest[k] = smallValue(v.Value)
		}
		lr.open = !r.Status.Final() && r.Status != store.StatusCrashed
		lr.crashed = r.Status == store.StatusCrashed
		lr.lastSeen = now // open runs get a heartbeat timeout to come back
		lr.dirtyEntry = true
		for k := range lr.latest {
			lr.dirtyLatest[k] = true
		}
		return lr
	}
	for i := range page.Runs {
		add(&page.Runs[i])
	}
	for _, id := range open {
		if _, ok := l.state[id]; ok {
			continue
		}
		if r, err := l.view(ctx, id); err == nil {
			add(r)
		}
	}
	return nil
}

func (l *Live) getLocked(id string) *liveRun {
	lr, ok := l.state[id]
	if !ok {
		lr = &liveRun{id: id, latest: map[string]any{}, dirtyLatest: map[string]bool{}, dirtySeries: map[string]bool{}, recent: map[string]*recentSeries{}, exposed: map[string]any{}}
		l.state[id] = lr
	}
	return lr
}

// lockRun serialises the batches of one run and returns the unlock.
func (l *Live) lockRun(id string) func() {
	l.mu.Lock()
	lr := l.getLocked(id)
	l.mu.Unlock()
	lr.lock.Lock()
	return lr.lock.Unlock
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
	if lr, ok := l.state[id]; ok && lr.entry == nil && lr.n == nil {
		delete(l.state, id)
	}
}

// stored reports whether the run's first batch has been stored.
func (l *Live) stored(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lr, ok := l.state[id]
	return ok && lr.entry != nil
}

func (l *Live) known(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.state[id]
	return ok
}

// silentRuns lists open runs last heard from before deadline.
func (l *Live) silentRuns(deadline time.Time) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	for id, lr := range l.state {
		if lr.open && !lr.crashed && lr.entry != nil && lr.lastSeen.Before(deadline) {
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
	if lr.entry != nil {
		st, _ := lr.entry["clientStatus"].(string)
		if crashed {
			lr.entry["status"] = string(store.StatusCrashed)
		} else if st != "" {
			lr.entry["status"] = st
		}
		lr.dirtyEntry = true
	}
}

// batch notes what a stored batch changed.
func (l *Live) batch(ctx context.Context, b *store.Batch, ack *store.Ack) {
	rejected := map[int64]bool{}
	for _, r := range ack.Rejected {
		rejected[r.Seq] = true
	}
	l.mu.Lock()
	lr := l.getLocked(b.Run)
	needLoad := lr.entry == nil
	l.mu.Unlock()
	if needLoad {
		r, err := l.view(ctx, b.Run)
		if err != nil {
			return
		}
		l.mu.Lock()
		lr.entry = l.entryOf(r)
		l.mu.Unlock()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lr.open, lr.dirtyEntry = true, true
	e := lr.entry
	e["updated"] = unixSec(store.Now())
	for i := range b.Records {
		r := &b.Records[i]
		if rejected[r.Seq] || r.Seq <= ack.Prev {
			continue
		}
		switch r.Kind {
		case store.KindStatus:
			e["status"], e["clientStatus"] = r.Key, r.Key
			msg, _ := r.Value.(string)
			e["message"] = store.TruncateText(msg, l.s.opts.Bounds.LiveText)
			if store.Status(r.Key).Final() {
				lr.open, lr.endedAt = false, time.Now()
				e["end"] = unixSec(store.TimeOf(time.Unix(0, r.Time)))
			}
		case store.KindProgress:
			if p, ok := store.ScalarOf(r.Value); ok {
				e["progress"] = p
			}
		case store.KindStep:
			e["step"] = r.Step
		case store.KindTag, store.KindUntag:
			tags, _ := e["tags"].([]any)
			tags = slices.DeleteFunc(slices.Clone(tags), func(t any) bool { return t == r.Key })
			if r.Kind == store.KindTag && len(tags) < l.s.opts.Bounds.LiveTags {
				tags = append(tags, r.Key)
			}
			e["tags"] = tags
			lr.dirtyDetail = true
		case store.KindResult:
			lr.addPoint(r.Key, r.Step, r.Value, l.s.opts.RecentPoints)
		case store.KindParam, store.KindMeta, store.KindNote, store.KindArtifact, store.KindCount:
			lr.dirtyDetail = true
		}
	}
	// Only the last RecentPoints points of each key can show: walk back
	// from the end, then add those in order.
	p := &b.Points
	keep := l.s.opts.RecentPoints
	taken := make([]int, len(p.Keys))
	var idx []int
	for i := len(p.Seq) - 1; i >= 0 && p.Seq[i] > ack.Prev; i-- {
		if k := p.Key[i]; taken[k] < keep {
			taken[k]++
			idx = append(idx, i)
		}
	}
	for j := len(idx) - 1; j >= 0; j-- {
		i := idx[j]
		lr.addPoint(p.Keys[p.Key[i]], p.Step[i], p.Value[i], keep)
	}
	if lr.n == nil && lr.open {
		l.publishRunLocked(lr)
	}
}

func (lr *liveRun) addPoint(key string, step int64, v any, keep int) {
	rs := lr.recent[key]
	if rs == nil {
		rs = &recentSeries{}
		lr.recent[key] = rs
	}
	rs.step = append(rs.step, step)
	rs.value = append(rs.value, smallValue(v))
	if len(rs.step) > 2*keep {
		rs.step = append(rs.step[:0], rs.step[len(rs.step)-keep:]...)
		rs.value = append(rs.value[:0], rs.value[len(rs.value)-keep:]...)
	}
	lr.latest[key] = smallValue(v)
	lr.dirtyLatest[key] = true
	lr.dirtySeries[key] = true
}

// logs notes stored log records of a run.
func (l *Live) logs(run string, entries []any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lr, ok := l.state[run]
	if !ok || lr.n == nil {
		return
	}
	for _, e := range entries {
		if m, ok := e.(map[string]any); ok {
			for _, k := range []string{"message", "logger"} {
				if text, ok := m[k].(string); ok {
					m[k] = store.TruncateText(text, l.s.opts.Bounds.LiveText)
				}
			}
		}
	}
	lr.logs = append(lr.logs, entries...)
	if over := len(lr.logs) - l.s.opts.LogTail; over > 0 {
		lr.logs = lr.logs[over:]
	}
}

func (l *Live) edited(ctx context.Context, run string) {
	r, err := l.s.st.ViewRun(ctx, run, probeView)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lr := l.getLocked(run)
	if lr.entry == nil {
		lr.entry = l.entryOf(r)
	}
	lr.entry["tags"] = l.tagList(r.Tags)
	lr.dirtyEntry, lr.dirtyDetail = true, true
}

func (l *Live) deleted(run string) {
	l.mu.Lock()
	lr, ok := l.state[run]
	delete(l.state, run)
	l.mu.Unlock()
	if ok && lr.n != nil {
		l.s.pub.Remove(RunNotifier(run))
	}
	if err := l.runs.Delete(run); err != nil && !errors.Is(err, syncstruct.ErrNoKey) {
		l.s.log.Debug("track: removing a run from the live list", "run", run, "err", err)
	}
}

func (l *Live) setExposed(run, name string, info any) {
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
		lr.entry = l.entryOf(r)
		for k, v := range r.Latest {
			lr.latest[k] = smallValue(v.Value)
		}
	}
	lr.watchUntil = time.Now().Add(l.s.opts.RunLinger)
	if lr.n == nil {
		l.publishRunLocked(lr)
	}
	return RunNotifier(run), nil
}

func (l *Live) publishRunLocked(lr *liveRun) {
	n, err := syncstruct.NewNotifier(map[string]any{"id": lr.id, "series": map[string]any{}, "logs": []any{}, "exposed": map[string]any{}}, syncstruct.NotifierOptions{})
	if err != nil {
		return
	}
	if err := l.s.pub.Add(RunNotifier(lr.id), n); err != nil {
		l.s.log.Warn("track: publishing a run", "run", lr.id, "err", err)
		return
	}
	lr.n, lr.published = n, map[string][]byte{}
	lr.dirtyEntry, lr.dirtyDetail, lr.dirtyExpose = true, true, true
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

// flush publishes every pending change.
func (l *Live) flush(ctx context.Context) {
	var detail []*liveRun
	var remove []string
	now := time.Now()
	l.mu.Lock()
	for id, lr := range l.state {
		if lr.entry != nil && (lr.dirtyEntry || len(lr.dirtyLatest) > 0) {
			l.flushEntryLocked(lr)
		}
		if lr.n == nil {
			continue
		}
		if lr.dirtyDetail {
			detail = append(detail, lr)
			lr.dirtyDetail = false
		}
		for k := range lr.dirtySeries {
			rs := lr.recent[k]
			from := max(0, len(rs.step)-l.s.opts.RecentPoints)
			lr.n.At("series").Set(k, map[string]any{"step": rs.step[from:], "value": rs.value[from:]})
		}
		clear(lr.dirtySeries)
		for _, e := range lr.logs {
			lr.n.At("logs").Append(e)
			lr.nlogs++
		}
		lr.logs = lr.logs[:0]
		for ; lr.nlogs > l.s.opts.LogTail; lr.nlogs-- {
			lr.n.At("logs").Pop(0)
		}
		if lr.dirtyExpose {
			lr.n.Set("exposed", lr.exposed)
			lr.dirtyExpose = false
		}
		if !lr.open && now.After(lr.watchUntil) && now.Sub(lr.endedAt) > l.s.opts.RunLinger {
			remove = append(remove, id)
			lr.n, lr.nlogs, lr.published = nil, 0, nil
			clear(lr.recent) // only the run's own notifier shows them
		}
	}
	l.pruneLocked()
	l.mu.Unlock()
	for _, id := range remove {
		l.s.pub.Remove(RunNotifier(id))
	}
	for _, lr := range detail {
		r, err := l.view(ctx, lr.id)
		if err != nil {
			continue
		}
		fields := detailFields(r)
		l.mu.Lock()
		if n := lr.n; n != nil {
			// Only what changed is sent: a note or a tag does not send the
			// params again.
			for _, f := range fields {
				enc, err := store.EncodeValue(f.value)
				if err == nil && string(enc) == string(lr.published[f.name]) {
					continue
				}
				n.Set(f.name, f.value)
				lr.published[f.name] = enc
			}
		}
		l.mu.Unlock()
	}
}

var entryKeys = []string{"project", "name", "status", "message", "progress", "step", "start", "updated", "end", "tags"}

func (l *Live) flushEntryLocked(lr *liveRun) {
	if !lr.listed {
		e := map[string]any{}
		for _, k := range entryKeys {
			e[k] = lr.entry[k]
		}
		e["latest"] = lr.latest
		if err := l.runs.Set(lr.id, e); err != nil {
			l.s.log.Warn("track: live entry", "run", lr.id, "err", err)
			return
		}
		lr.listed = true
	} else if lr.dirtyEntry {
		for _, k := range entryKeys {
			l.runs.At(lr.id).Set(k, lr.entry[k])
		}
	}
	if lr.listed {
		for k := range lr.dirtyLatest {
			l.runs.At(lr.id, "latest").Set(k, lr.latest[k])
		}
	}
	if lr.n != nil {
		for _, k := range entryKeys {
			if lr.dirtyEntry {
				lr.n.Set(k, lr.entry[k])
			}
		}
		if len(lr.dirtyLatest) > 0 {
			lr.n.Set("latest", lr.latest)
		}
	}
	lr.dirtyEntry = false
	clear(lr.dirtyLatest)
}

// pruneLocked keeps the memory and the "runs" notifier bounded: beyond
// RunsInLive finished runs, the oldest (ids are time-ordered) that have no
// notifier of their own are forgotten. They stay in the store.
func (l *Live) pruneLocked() {
	var done []string
	for id, lr := range l.state {
		if !lr.open && lr.n == nil && !lr.crashed {
			done = append(done, id)
		}
	}
	if len(done) <= l.s.opts.RunsInLive {
		return
	}
	slices.Sort(done)
	for _, id := range done[:len(done)-l.s.opts.RunsInLive] {
		lr := l.state[id]
		if lr.listed {
			l.runs.Delete(id)
		}
		delete(l.state, id)
	}
}
