package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/store"
)

// Sweeps.
//
// create_jobs(solver, version, [inputs…], throttle=T) makes a sweep: one
// job per inputs (an element), each validated exactly as create_job's,
// and one more job, the sweep, whose run is every element's parent run
// (store/parent.go). All inputs are validated before anything is made.
// The sweep starts at once:
//   - on Slurm, as one job array (sbatch --array=0-N%T): trackd writes each
//     element's argv and environment into its job directory, and a fixed
//     batch script (arrayScript) runs element $SLURM_ARRAY_TASK_ID's as
//     they are; each element is then followed as any Slurm job (the
//     batched squeue, one row per element);
//   - locally, as N queued jobs, at most T started at a time (a feeder
//     goroutine starts the next as one ends).
//
// The sweep is a job (listed by list_jobs, Sweep set): STARTED while its
// elements run, then SUCCESS when all succeeded, FAILED when one failed,
// else ABORTED. stop_job on it (or stop_jobs) stops every element: on
// Slurm with one scancel of the array. inspect_job counts its elements by
// state. While it runs the manager speaks for its run (heartbeats, as for
// a created job).

// MaxSweep bounds a sweep's elements (Slurm's default MaxArraySize, 1001,
// allows indices 0–1000).
const MaxSweep = 1000

// ErrSweep: a sweep that cannot be made as asked (no inputs, too many,
// a negative throttle).
var ErrSweep = errors.New("jobs: bad sweep")

// SweepOptions are create_jobs' options (keyword arguments over rpc).
type SweepOptions struct {
	// Throttle bounds the elements running at once (0: only the
	// executor's bounds): Slurm's --array=…%Throttle; locally, elements
	// are started at most Throttle at a time.
	Throttle int `msgpack:"throttle,omitempty" json:"throttle,omitempty"`
}

// Sweep describes a sweep's job.
type Sweep struct {
	Size     int `msgpack:"size" json:"size"`
	Throttle int `msgpack:"throttle,omitempty" json:"throttle,omitempty"`
	// Counts are the elements by state when the sweep was read.
	Counts map[State]int `msgpack:"counts,omitempty" json:"counts,omitempty"`
}

// sweepRun is a sweep the manager drives (its feeder or watcher runs).
type sweepRun struct {
	stop     chan struct{} // closed by stopSweep: start no more elements
	stopOnce sync.Once
	done     chan struct{} // closed once the sweep is final (or left to the next manager)
}

// arrayStarter is an executor that starts many jobs as one (Slurm's job
// arrays).
type arrayStarter interface {
	// StartArray starts specs[k] as element idx[k] of one array, in dir
	// (the sweep's directory), at most throttle at once (0: no bound). It
	// returns the array's id and each element's handle.
	StartArray(ctx context.Context, dir string, specs []*ExecSpec, idx []int, throttle int) (string, []Handle, error)
	// CancelArray cancels every element of an array.
	CancelArray(ctx context.Context, id string) error
}

// createSweep validates every inputs, makes the sweep and its elements,
// and starts them.
func (m *Manager) createSweep(ctx context.Context, name, version string, inputs []map[string]any, opts SweepOptions) (*Job, error) {
	s, err := m.solver(name, version)
	if err != nil {
		return nil, err
	}
	if len(inputs) == 0 || len(inputs) > MaxSweep {
		return nil, fmt.Errorf("%w: a sweep has 1 to %d elements, not %d", ErrSweep, MaxSweep, len(inputs))
	}
	if opts.Throttle < 0 {
		return nil, fmt.Errorf("%w: throttle %d (0: none)", ErrSweep, opts.Throttle)
	}
	valid, err := m.validateSweep(ctx, s, inputs)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	p := &Job{ID: track.NewID(), Solver: s.Name, Version: s.Version, State: StatePending, Created: now(),
		Inputs: map[string]any{}, Executor: m.executorOf(s).Name(), Sweep: &Sweep{Size: len(inputs), Throttle: opts.Throttle}}
	if err := m.admitJobs(ctx, p.ID, len(inputs)); err != nil { // quota.go: the sweep weighs its size
		return nil, err
	}
	if err := m.makeSweepRun(ctx, s, p); err != nil {
		return nil, err
	}
	m.hold(ctx, p.ID) // before it is listed PENDING: no other node ends it as left half made (leases.go)
	if err := m.saveJob(ctx, p, ""); err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.pending[p.ID] = struct{}{} // heartbeats for the sweep's run while it runs
	m.mu.Unlock()
	elems := make([]*Job, len(valid))
	for i, in := range valid {
		j, err := m.newJob(ctx, s, in, p.ID, i)
		if err != nil {
			for _, e := range elems[:i] {
				m.stop(ctx, e.ID)
			}
			m.endSweep(ctx, p.ID, "making element "+strconv.Itoa(i)+": "+err.Error())
			return nil, err
		}
		elems[i] = j
	}
	p.State, p.Started = StateStarted, now()
	if err := m.saveJob(ctx, p, StatePending); err != nil {
		return nil, err
	}
	if _, err := m.ingest(ctx, p.ID, 0, []store.Record{{Kind: store.KindStatus, Key: string(store.StatusRunning)}}); err != nil {
		m.log.Warn("jobs: sweep status", "sweep", p.ID, "err", err)
	}
	sr := m.driveSweep(p.ID)
	if sr == nil {
		return nil, ErrClosed
	}
	ids := make([]string, len(elems))
	for i, j := range elems {
		ids[i] = j.ID
	}
	if as, ok := m.executorOf(s).(arrayStarter); ok {
		m.submitArray(ctx, s, p, elems, as)
		m.goWatch(sr, p.ID, ids)
	} else {
		m.goFeed(sr, p.ID, ids, opts.Throttle)
	}
	return m.inspect(ctx, p.ID)
}

// validateSweep validates every element's inputs; the problems of all
// elements are reported together, each port prefixed by its element
// ("[3].x").
func (m *Manager) validateSweep(ctx context.Context, s *Solver, inputs []map[string]any) ([]map[string]any, error) {
	valid := make([]map[string]any, len(inputs))
	bad := &InputError{Solver: s.ID()}
	for i, in := range inputs {
		v, err := validateInputs(ctx, m.st, s, in)
		var ie *InputError
		switch {
		case errors.As(err, &ie):
			for _, p := range ie.Problems {
				bad.Problems = append(bad.Problems, PortProblem{Port: fmt.Sprintf("[%d].%s", i, p.Port), Reason: p.Reason})
			}
			continue
		case err != nil:
			return nil, fmt.Errorf("jobs: sweep element %d: %w", i, err)
		}
		valid[i] = v
	}
	if len(bad.Problems) > 0 {
		return nil, bad
	}
	return valid, nil
}

// makeSweepRun makes sweep p's directory and its run (its size and
// throttle as params, tagged as a job of s).
func (m *Manager) makeSweepRun(ctx context.Context, s *Solver, p *Job) error {
	dir, err := m.jobPath(p.ID)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	t := time.Now().UnixNano()
	if _, err := m.rec.Ingest(ctx, &store.Batch{Run: p.ID, Records: []store.Record{
		{Seq: 1, Kind: store.KindStart, Key: s.Project, Value: "sweep " + s.ID(), Time: t},
		{Seq: 2, Kind: store.KindParam, Key: "sweep_size", Value: int64(p.Sweep.Size), Time: t},
		{Seq: 3, Kind: store.KindParam, Key: "sweep_throttle", Value: int64(p.Sweep.Throttle), Time: t},
	}}); err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("jobs: creating the sweep's run: %w", err)
	}
	return m.st.Edit(ctx, p.ID, []store.Record{
		{Kind: store.KindTag, Key: TagJob},
		{Kind: store.KindTag, Key: tagSolver(s.Name)},
		{Kind: store.KindTag, Key: tagVersion(s.Name, s.Version)},
	})
}

// driveSweep registers a sweep the manager drives (nil: closed).
func (m *Manager) driveSweep(id string) *sweepRun {
	m.hold(m.ctx, id) // leases.go (a sweep taken over holds it already)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	if m.sweeps == nil {
		m.sweeps = map[string]*sweepRun{}
	}
	sr := &sweepRun{stop: make(chan struct{}), done: make(chan struct{})}
	m.sweeps[id] = sr
	m.pending[id] = struct{}{}
	m.wg.Add(1) // for goFeed or goWatch
	return sr
}

// submitArray submits the elements as one job array. Each element is an
// active job, followed as any other; an element that cannot be prepared
// is FAILED and left out of the array.
func (m *Manager) submitArray(ctx context.Context, s *Solver, p *Job, elems []*Job, as arrayStarter) {
	ex := m.executorOf(s)
	type prepared struct {
		a          *active
		spec       *ExecSpec
		outW, errW *lineWriter
		closer     func()
	}
	var ok []prepared
	var specs []*ExecSpec
	var idx []int
	// all elements become active at once, each then given its goroutine
	// (m.element) whatever happens
	actives := make([]*active, len(elems))
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return // the elements stay PENDING: the next manager aborts them (resumeSweep)
	}
	for i, j := range elems {
		j.Queued, j.Executor = true, ex.Name()
		actives[i] = newActive(m, s, j)
		m.active[j.ID] = actives[i]
		delete(m.pending, j.ID)
		m.wg.Add(1)
	}
	m.mu.Unlock()
	ids := make([]string, len(elems))
	for i, j := range elems {
		ids[i] = j.ID
	}
	m.hold(ctx, ids...) // leases.go
	for _, a := range actives {
		a.save(ctx)
		spec, outW, errW, closer, err := a.spec(ctx, ex)
		if err != nil {
			go m.element(a, func() { a.finish(context.Background(), StateFailed, err.Error(), nil) })
			continue
		}
		ok = append(ok, prepared{a, spec, outW, errW, closer})
		specs = append(specs, spec)
		idx = append(idx, a.job.Index)
	}
	if len(ok) == 0 {
		return
	}
	dir, _ := m.jobPath(p.ID) // checked by createSweep
	id, hs, err := as.StartArray(m.ctx, dir, specs, idx, p.Sweep.Throttle)
	if err != nil {
		for _, e := range ok {
			e := e
			go m.element(e.a, func() { defer e.closer(); e.a.finish(context.Background(), StateFailed, err.Error(), nil) })
		}
		return
	}
	p.ExecutorID = id
	if err := m.saveJob(ctx, p, p.State); err != nil {
		m.log.Warn("jobs: saving a sweep", "sweep", p.ID, "err", err)
	}
	for k, e := range ok {
		e, h := e, hs[k]
		go m.element(e.a, func() { defer e.closer(); e.a.follow(context.Background(), h, e.outW, e.errW) })
	}
}

// element runs body as the goroutine of an active element (for which
// m.wg.Add was done), then retires it as run does.
func (m *Manager) element(a *active, body func()) {
	defer m.wg.Done()
	defer close(a.done)
	defer m.finished(a)
	body()
}

// goWatch waits for the elements (run by their executor) and ends the
// sweep once all are final.
func (m *Manager) goWatch(sr *sweepRun, id string, elems []string) {
	go func() {
		defer m.wg.Done()
		defer close(sr.done)
		for _, e := range elems {
			m.mu.Lock()
			a := m.active[e]
			m.mu.Unlock()
			if a != nil {
				<-a.done
			}
		}
		m.sweepEnded(id)
	}()
}

// goFeed starts the elements in order, at most throttle at a time (0:
// all, the slots bound them), and ends the sweep once all are final.
func (m *Manager) goFeed(sr *sweepRun, id string, elems []string, throttle int) {
	if throttle <= 0 {
		throttle = len(elems)
	}
	go func() {
		defer m.wg.Done()
		defer close(sr.done)
		ctx := context.Background()
		slots := make(chan struct{}, throttle)
		var started []*active
		for _, e := range elems {
			select {
			case slots <- struct{}{}:
			case <-sr.stop:
			case <-m.ctx.Done():
				return // left to the next manager (resumeSweep)
			}
			select {
			case <-sr.stop:
				continue // stopSweep stops the rest
			default:
			}
			if _, err := m.start(ctx, e); err != nil {
				<-slots // stopped (ABORTED) or deleted meanwhile
				continue
			}
			m.mu.Lock()
			a := m.active[e]
			m.mu.Unlock()
			if a == nil {
				<-slots // already final
				continue
			}
			started = append(started, a)
			go func() { <-a.done; <-slots }()
		}
		for _, a := range started {
			<-a.done
		}
		m.sweepEnded(id)
	}()
}

// sweepEnded ends the sweep when every element is final (a manager
// closing leaves it STARTED for the next one).
func (m *Manager) sweepEnded(id string) {
	ctx := context.Background()
	counts, _, err := m.sweepCounts(ctx, id)
	if err != nil {
		m.log.Warn("jobs: reading a sweep's elements", "sweep", id, "err", err)
		return
	}
	if counts[StatePending]+counts[StateStarted] > 0 {
		return
	}
	m.endSweep(ctx, id, "")
}

// endSweep makes the sweep final from its elements' states (or FAILED
// with reason, when not "").
func (m *Manager) endSweep(ctx context.Context, id, reason string) {
	m.sweepMu.Lock() // one ends it
	defer m.sweepMu.Unlock()
	m.mu.Lock()
	delete(m.pending, id)
	delete(m.sweeps, id)
	m.mu.Unlock()
	defer m.release(id)
	p, err := m.loadJob(ctx, id)
	if err != nil || p.Sweep == nil || p.State.Final() {
		return
	}
	counts, progress, err := m.sweepCounts(ctx, id)
	if err != nil {
		m.log.Warn("jobs: reading a sweep's elements", "sweep", id, "err", err)
	}
	prev := p.State
	p.Sweep.Counts, p.Progress = counts, progress
	switch {
	case reason != "":
		p.State = StateFailed
	case counts[StateFailed] > 0:
		p.State, reason = StateFailed, fmt.Sprintf("%d of %d elements failed", counts[StateFailed], p.Sweep.Size)
	case counts[StateAborted] > 0:
		p.State, reason = StateAborted, fmt.Sprintf("%d of %d elements aborted", counts[StateAborted], p.Sweep.Size)
	default:
		p.State = StateSuccess
	}
	p.Reason, p.Stopped = reason, now()
	if err := m.saveJob(ctx, p, prev); err != nil {
		m.log.Warn("jobs: saving a sweep", "sweep", id, "err", err)
	}
	if _, err := m.ingest(ctx, id, 0, []store.Record{
		{Kind: store.KindProgress, Value: progress},
		{Kind: store.KindStatus, Key: string(p.State.runStatus()), Value: reason},
	}); err != nil {
		m.log.Warn("jobs: sweep status", "sweep", id, "err", err)
	}
}

// sweepRuns lists the runs of the sweep's elements (children of its run).
func (m *Manager) sweepRuns(ctx context.Context, id string) ([]store.Run, error) {
	var out []store.Run
	after := ""
	for {
		page, err := m.st.ListRuns(ctx, store.RunFilter{Parent: id, Tags: []string{TagJob}, After: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		out = append(out, page.Runs...)
		if page.Next == "" {
			return out, nil
		}
		after = page.Next
	}
}

// sweepElements lists the sweep's elements, in index order, as jobs in
// their current state.
func (m *Manager) sweepElements(ctx context.Context, id string) ([]*Job, error) {
	runs, err := m.sweepRuns(ctx, id)
	if err != nil {
		return nil, err
	}
	var out []*Job
	for _, r := range runs {
		j, err := m.inspect(ctx, r.ID)
		if err != nil {
			continue // deleted meanwhile
		}
		out = append(out, j)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Index < out[k].Index })
	return out, nil
}

// sweepCounts counts the sweep's elements by state (a running element's
// from memory, the others' from their runs' state tags, without reading
// each job), and their mean progress.
func (m *Manager) sweepCounts(ctx context.Context, id string) (map[State]int, float64, error) {
	runs, err := m.sweepRuns(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	counts := map[State]int{}
	sum := 0.0
	for _, r := range runs {
		m.mu.Lock()
		a := m.active[r.ID]
		m.mu.Unlock()
		if a != nil {
			a.mu.Lock()
			counts[a.job.State]++
			sum += a.job.Progress
			a.mu.Unlock()
			continue
		}
		st := StatePending
		for _, t := range r.Tags {
			if v, ok := strings.CutPrefix(t, store.TagStatePrefix); ok {
				st = State(v)
			}
		}
		counts[st]++
		if st == StateSuccess {
			sum += 100
		} else {
			sum += r.Progress
		}
	}
	if len(runs) == 0 {
		return counts, 0, nil
	}
	return counts, sum / float64(len(runs)), nil
}

// inspectSweep fills a sweep's counts and progress (while it runs).
func (m *Manager) inspectSweep(ctx context.Context, j *Job) {
	if j.Sweep == nil || j.State.Final() {
		return
	}
	if counts, progress, err := m.sweepCounts(ctx, j.ID); err == nil {
		j.Sweep.Counts, j.Progress = counts, progress
	}
}

// stopSweep stops every element of a sweep (a Slurm array with one
// scancel) and returns the sweep once final (bounded by ctx).
func (m *Manager) stopSweep(ctx context.Context, p *Job) (*Job, error) {
	if p.State.Final() {
		return p, nil
	}
	m.mu.Lock()
	sr := m.sweeps[p.ID]
	m.mu.Unlock()
	if sr != nil {
		sr.stopOnce.Do(func() { close(sr.stop) })
	}
	elems, err := m.sweepElements(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	as, isArray := m.executors[p.Executor].(arrayStarter)
	if isArray && p.ExecutorID != "" {
		for _, j := range elems {
			m.mu.Lock()
			a := m.active[j.ID]
			m.mu.Unlock()
			if a != nil {
				a.markStopped(errStopped) // the array's scancel stops it
			}
		}
		if err := as.CancelArray(ctx, p.ExecutorID); err != nil {
			m.log.Warn("jobs: cancelling a job array", "sweep", p.ID, "array", p.ExecutorID, "err", err)
		}
	}
	var errs []error
	for _, j := range elems {
		if !j.State.Final() {
			if _, err := m.stop(ctx, j.ID); err != nil && !errors.Is(err, ErrUnknownJob) {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if sr != nil {
		select {
		case <-sr.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	// the driver may have ended before the last element was stopped (or
	// none drives it: a manager restarted)
	m.endSweep(ctx, p.ID, "")
	return m.inspect(ctx, p.ID)
}

// markStopped records cause as the job's stop cause without stopping its
// handle (a whole array is cancelled at once); false when a stop was
// already requested.
func (a *active) markStopped(cause error) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopCause != nil {
		return false
	}
	a.stopCause = cause
	close(a.stopCh)
	return true
}

// resumeSweep drives again a sweep a previous manager left running, once
// its elements were adopted or aborted (recover): a local sweep starts
// its elements still PENDING; an array's elements never submitted are
// aborted, the others followed to the end.
func (m *Manager) resumeSweep(ctx context.Context, p *Job) {
	elems, err := m.sweepElements(ctx, p.ID)
	if err != nil {
		m.log.Warn("jobs: reading a sweep's elements", "sweep", p.ID, "err", err)
		return
	}
	if p.State == StatePending { // trackd stopped while it was being made
		for _, j := range elems {
			m.stop(ctx, j.ID)
		}
		m.endSweep(ctx, p.ID, "trackd stopped while the sweep was being made")
		return
	}
	sr := m.driveSweep(p.ID)
	if sr == nil {
		return
	}
	ids := make([]string, len(elems))
	for i, j := range elems {
		ids[i] = j.ID
	}
	if _, ok := m.executors[p.Executor].(arrayStarter); ok {
		for _, j := range elems {
			if j.State == StatePending && !j.Queued {
				m.stop(ctx, j.ID)
			}
		}
		m.goWatch(sr, p.ID, ids)
		return
	}
	var pending []string
	for _, j := range elems {
		if j.State == StatePending && !j.Queued {
			pending = append(pending, j.ID)
		}
	}
	m.goFeed(sr, p.ID, pending, p.Sweep.Throttle)
}

// arrayIndices writes idx (ascending) as sbatch's --array list: ranges
// "0-19", "0-4,6-19".
func arrayIndices(idx []int) string {
	var b strings.Builder
	for i := 0; i < len(idx); {
		k := i
		for k+1 < len(idx) && idx[k+1] == idx[k]+1 {
			k++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(idx[i]))
		if k > i {
			b.WriteString("-" + strconv.Itoa(idx[k]))
		}
		i = k + 1
	}
	return b.String()
}

// arrayEntries encodes items for arrayScript: per item, its number of
// lines, then those lines, each ended by a newline; the script reads
// them with read -r and IFS empty, so that no byte is interpreted. A NUL
// byte cannot be in an argument or a variable: refused.
func arrayEntries(items []string) ([]byte, error) {
	var b []byte
	for _, it := range items {
		if strings.IndexByte(it, 0) >= 0 {
			return nil, fmt.Errorf("jobs: %q holds a NUL byte", it)
		}
		lines := strings.Split(it, "\n")
		b = strconv.AppendInt(b, int64(len(lines)), 10)
		b = append(b, '\n')
		for _, l := range lines {
			b = append(b, l...)
			b = append(b, '\n')
		}
	}
	return b, nil
}
