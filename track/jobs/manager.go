package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/store"
)

// Options configures New. The zero value works (with no solvers).
type Options struct {
	// Solvers are the solvers jobs can be made of (LoadConfig).
	Solvers []*Solver
	// Dir holds one directory per job: its work directory (work/) and its
	// stdout.log and stderr.log. Default "./sigoco-data/jobs".
	Dir string
	// Addr is the tracking server's address given to solvers as
	// SIGOCO_TRACK_ADDR. Default track.DefaultAddr.
	Addr string
	// Token is given to solvers as SIGOCO_TOKEN when the Recorder is no
	// CredentialMinter, so that they can report to a server with an access file.
	// Default: none (the SIGOCO_ variables of the manager's own
	// environment are never passed on).
	Token string
	// PublicAddr is the tracking server's address as cluster nodes reach
	// it, given to jobs of other executors than local as
	// SIGOCO_TRACK_ADDR. Default Addr.
	PublicAddr string
	// Executor runs the jobs of solvers that name none: "local" (default)
	// or "slurm".
	Executor string
	// Slurm configures the slurm executor (its zero value works).
	Slurm SlurmOptions
	// MaxJobs bounds the local jobs running at once (Slurm jobs are queued
	// by the cluster); more wait, queued, in the
	// order they were started. Default runtime.NumCPU().
	MaxJobs int
	// StderrTail is how many last lines of stderr a failed job reports.
	// Default 20.
	StderrTail int
	// MaxLogZip bounds the log file job_logfile returns over rpc. Default
	// 32 MiB (larger ones: WriteLogZip, over HTTP).
	MaxLogZip int64
	// MaxQueuedJobs bounds the jobs one identity has created that are not
	// final (pending, queued or running); create_job beyond it is refused
	// with a *store.QuotaError. Default DefaultMaxQueuedJobs; negative:
	// no limit. quota.go.
	MaxQueuedJobs int
	// HeartbeatInterval is how often the runs the manager speaks for are
	// told alive (Recorder.Alive). Default 2 s.
	HeartbeatInterval time.Duration
	// LeaseTimeout: on a store several trackd nodes share
	// (store.JobLeases), a started job whose lease its node did not renew
	// for this long is taken over by another node (its node died). Leases
	// are renewed, and expired ones looked for, every LeaseTimeout/4.
	// Default 20 s (trackd: --heartbeat-timeout). leases.go.
	LeaseTimeout time.Duration
	// executors replaces executors by name (tests: a fake cluster).
	executors map[string]Executor
	// Logger receives the manager's diagnostics. Default: discarded.
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.Dir == "" {
		o.Dir = filepath.Join("sigoco-data", "jobs")
	}
	if o.Addr == "" {
		o.Addr = track.DefaultAddr
	}
	if o.Executor == "" {
		o.Executor = ExecutorLocal
	}
	if o.MaxJobs <= 0 {
		o.MaxJobs = runtime.NumCPU()
	}
	if o.StderrTail <= 0 {
		o.StderrTail = 20
	}
	if o.MaxLogZip <= 0 {
		o.MaxLogZip = 32 << 20
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = 2 * time.Second
	}
	if o.LeaseTimeout <= 0 {
		o.LeaseTimeout = 20 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Manager runs jobs over a store. Its rpc face is API (Target).
//
// Concurrency: a Manager is safe for concurrent use. Each started job has
// one goroutine (waiting for a slot, then for its process); Close stops
// them all.
type Manager struct {
	opts    Options
	rec     Recorder
	st      store.Store // rec.Store()
	log     *slog.Logger
	solvers map[string]*Solver // by ID
	order   []*Solver          // by name, then version as declared

	slots chan struct{} // one token per running local job

	executors map[string]Executor // by name

	// leases: the store is shared by several nodes (leases.go); nil: this
	// manager alone follows every job of the store.
	leases store.JobLeases

	ctx    context.Context // the manager's lifetime, cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // job goroutines

	mu      sync.Mutex           // guards active, pending, closed
	active  map[string]*active   // started jobs not yet final
	pending map[string]struct{}  // created jobs not started, running sweeps (for heartbeats)
	sweeps  map[string]*sweepRun // sweeps driven here (sweep.go)
	sweepMu sync.Mutex           // serialises the ends of sweeps
	closed  bool

	queue queueQuota // jobs per identity (quota.go)

	closeOnce sync.Once
}

// New makes a manager that records its jobs' runs with rec: the tracking
// server it runs in, or StoreRecorder(st) without one. Jobs that a
// previous manager over the same store left STARTED or queued (trackd
// died) are marked ABORTED with the reason.
func New(ctx context.Context, rec Recorder, opts Options) (*Manager, error) {
	opts.defaults()
	st := rec.Store()
	m := &Manager{opts: opts, rec: rec, st: st, log: opts.Logger, solvers: map[string]*Solver{}, active: map[string]*active{}, pending: map[string]struct{}{}}
	for _, s := range opts.Solvers {
		if _, dup := m.solvers[s.ID()]; dup {
			return nil, fmt.Errorf("%w: solver %s declared twice", ErrConfig, s.ID())
		}
		if !s.checked {
			if err := s.check(); err != nil { // a Solver built in Go, not by LoadConfig
				return nil, err
			}
		}
		m.solvers[s.ID()] = s
		m.order = append(m.order, s)
	}
	sort.SliceStable(m.order, func(i, j int) bool { return m.order[i].Name < m.order[j].Name })
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	m.slots = make(chan struct{}, opts.MaxJobs)
	m.executors = map[string]Executor{ExecutorLocal: localExecutor{}, ExecutorSlurm: newSlurmExecutor(opts.Slurm, opts.Logger)}
	for name, ex := range opts.executors {
		m.executors[name] = ex
	}
	m.leases, _ = st.(store.JobLeases)
	if _, ok := m.executors[opts.Executor]; !ok {
		return nil, fmt.Errorf("%w: unknown executor %q (known: local, slurm)", ErrConfig, opts.Executor)
	}
	for _, s := range m.order {
		if _, ok := m.executors[s.Executor]; s.Executor != "" && !ok {
			return nil, fmt.Errorf("%w: solver %s: unknown executor %q", ErrConfig, s.ID(), s.Executor)
		}
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	if err := m.recover(ctx); err != nil {
		m.cancel()
		m.wg.Wait()
		return nil, err
	}
	m.wg.Add(1)
	go func() { defer m.wg.Done(); m.heartbeats() }()
	if m.leases != nil {
		m.wg.Add(1)
		go func() { defer m.wg.Done(); m.leaseLoop() }()
	}
	return m, nil
}

// heartbeats tells the server that the runs of the started jobs the
// manager speaks for are alive.
func (m *Manager) heartbeats() {
	t := time.NewTicker(m.opts.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		m.mu.Lock()
		ids := make([]string, 0, len(m.pending))
		for id := range m.pending {
			ids = append(ids, id)
		}
		for id, a := range m.active {
			a.mu.Lock()
			if a.job.Queued || !a.solver.Track {
				ids = append(ids, id)
			}
			a.mu.Unlock()
		}
		m.mu.Unlock()
		for _, id := range ids {
			m.rec.Alive(m.ctx, id)
		}
	}
}

// recover follows again the jobs a dead manager left running or queued
// (adopt), and marks those it cannot follow ABORTED. On a store several
// nodes share, only the jobs whose lease expired (takeOver, leases.go).
func (m *Manager) recover(ctx context.Context) error {
	if m.leases != nil {
		return m.takeOver(ctx, true)
	}
	var sweeps []*Job
	defer func() {
		for _, p := range sweeps {
			m.resumeSweep(ctx, p)
		}
	}()
	return m.leftStarted(ctx, true, nil, func(j *Job) error {
		if j.Sweep != nil {
			sweeps = append(sweeps, j) // once its elements are adopted
			return nil
		}
		return m.followAgain(ctx, j, "")
	})
}

// leftStarted calls f with each job of the store that is started or
// queued; with pending, a PENDING job not queued is added to the runs the
// manager keeps alive instead. keep, if not nil, picks the ids of a page
// worth reading.
func (m *Manager) leftStarted(ctx context.Context, pending bool, keep func([]string) ([]string, error), f func(*Job) error) error {
	for _, st := range []State{StateStarted, StatePending} {
		after := ""
		for {
			page, err := m.st.ListRuns(ctx, store.RunFilter{Tags: []string{TagJob, tagState(st)}, After: after, Limit: 1000})
			if err != nil {
				return fmt.Errorf("jobs: looking for jobs left running: %w", err)
			}
			ids := make([]string, len(page.Runs))
			for i := range page.Runs {
				ids[i] = page.Runs[i].ID
			}
			if keep != nil {
				if ids, err = keep(ids); err != nil {
					return err
				}
			}
			for _, id := range ids {
				j, err := m.loadJob(ctx, id)
				if err != nil {
					m.log.Warn("jobs: unreadable job", "run", id, "err", err)
					continue
				}
				if j.State == StatePending && !j.Queued && j.Sweep == nil {
					if pending {
						m.mu.Lock()
						m.pending[j.ID] = struct{}{}
						m.mu.Unlock()
					}
					continue
				}
				if err := f(j); err != nil {
					return err
				}
			}
			if page.Next == "" {
				break
			}
			after = page.Next
		}
	}
	return nil
}

// followAgain follows a started or queued job that no manager follows
// (adopt), or marks it ABORTED when its executor cannot follow it again
// (a local process: it died with its trackd, or runs on another host).
// node, if not "", says the job was taken over from a dead node.
func (m *Manager) followAgain(ctx context.Context, j *Job, node string) error {
	if m.adopt(ctx, j) {
		return nil
	}
	prev := j.State
	reason := "trackd stopped while the job was running (its process was not adopted)"
	switch {
	case node != "":
		reason = "the trackd node that ran the job stopped (" + node + "); its process was not adopted"
	case prev == StatePending && j.WaitReason == WaitStarting:
		reason = "trackd stopped while the job's process was starting"
	case prev == StatePending:
		reason = "trackd stopped while the job waited for a slot"
	}
	j.State, j.Queued, j.Reason, j.Stopped, j.WaitReason = StateAborted, false, reason, now(), ""
	if err := m.saveJob(ctx, j, prev); err != nil {
		return err
	}
	if _, err := m.ingest(ctx, j.ID, 0, []store.Record{{Kind: store.KindStatus, Key: string(store.StatusStopped), Value: reason}}); err != nil {
		m.log.Warn("jobs: run status", "run", j.ID, "err", err)
	}
	m.release(j.ID)
	m.log.Info("jobs: job aborted at restart", "job", j.ID, "was", prev)
	return nil
}

// adopt follows again a job whose executor keeps it running without
// trackd (a Slurm job); it reports whether it did.
func (m *Manager) adopt(ctx context.Context, j *Job) bool {
	ex, ok := m.executors[j.Executor]
	if !ok || j.Executor == ExecutorLocal {
		return false
	}
	s, err := m.solver(j.Solver, j.Version)
	if err != nil || s.Version != j.Version {
		m.log.Warn("jobs: a job left running whose solver is gone", "job", j.ID, "solver", j.Solver+"@"+j.Version)
		return false
	}
	a := newActive(m, s, j)
	following := false
	defer func() {
		if !following {
			a.cancel()
		}
	}()
	work, err := m.jobPath(j.ID, workDirName)
	if err != nil {
		return false
	}
	dir, err := m.jobPath(j.ID)
	if err != nil {
		return false
	}
	a.adopted = true
	spec, outW, errW, _, err := a.specFor(ex, work, dir)
	if err != nil {
		return false
	}
	id := j.ExecutorID
	if id == "" && j.Parent != "" { // submitted in an array, its id not saved yet
		if p, err := m.loadJob(ctx, j.Parent); err == nil && p.ExecutorID != "" {
			id = p.ExecutorID + "_" + strconv.Itoa(j.Index)
		}
	}
	h, err := ex.Recover(ctx, id, spec)
	if err != nil {
		m.log.Warn("jobs: following a job again", "job", j.ID, "executor", j.Executor, "id", j.ExecutorID, "err", err)
		return false
	}
	m.mu.Lock()
	m.active[j.ID] = a
	m.wg.Add(1)
	m.mu.Unlock()
	following = true
	go func() {
		defer m.wg.Done()
		defer close(a.done)
		defer m.finished(a)
		a.follow(context.Background(), h, outW, errW)
	}()
	m.log.Info("jobs: following a job again", "job", j.ID, "executor", j.Executor, "id", h.ID())
	return true
}

// Close stops every running local job (SIGTERM, then SIGKILL after its
// grace; they end ABORTED), leaves Slurm jobs running (STARTED or queued:
// the next New follows them) and waits for the jobs' goroutines. It is idempotent. Close the
// manager before its store.
func (m *Manager) Close() error {
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.closed = true
		m.mu.Unlock()
		m.cancel()
		m.wg.Wait()
		m.mu.Lock()
		sweeps := make([]string, 0, len(m.sweeps))
		for id := range m.sweeps {
			sweeps = append(sweeps, id)
		}
		m.mu.Unlock()
		m.release(sweeps...) // left running: another node may drive them at once
	})
	return nil
}

// Solvers lists the solvers, by name then version as declared.
func (m *Manager) Solvers() []*Solver { return m.order }

// solver finds a solver; version "" picks the last declared.
func (m *Manager) solver(name, version string) (*Solver, error) {
	if version != "" {
		if s, ok := m.solvers[name+"@"+version]; ok {
			return s, nil
		}
	}
	var versions []string
	var last *Solver
	for _, s := range m.order {
		if s.Name == name {
			versions = append(versions, s.Version)
			last = s
		}
	}
	if version == "" && last != nil {
		return last, nil
	}
	if len(versions) == 0 {
		names := []string{}
		for _, s := range m.order {
			if len(names) == 0 || names[len(names)-1] != s.Name {
				names = append(names, s.Name)
			}
		}
		return nil, fmt.Errorf("%w %q (solvers: %s)", ErrUnknownSolver, name, strings.Join(names, ", "))
	}
	return nil, fmt.Errorf("%w: %s has no version %q (versions: %s)", ErrUnknownSolver, name, version, strings.Join(versions, ", "))
}

// create makes a PENDING job.
func (m *Manager) create(ctx context.Context, name, version string, inputs map[string]any) (*Job, error) {
	s, err := m.solver(name, version)
	if err != nil {
		return nil, err
	}
	in, err := validateInputs(ctx, m.st, s, inputs)
	if err != nil {
		return nil, err
	}
	return m.newJob(ctx, s, in, "", 0)
}

// newJob makes a PENDING job of validated inputs; parent, if not "", is
// the sweep the job is element index of (sweep.go).
func (m *Manager) newJob(ctx context.Context, s *Solver, in map[string]any, parent string, index int) (*Job, error) {
	j := &Job{ID: track.NewID(), Solver: s.Name, Version: s.Version, State: StatePending, Created: now(), Parent: parent, Index: index}
	if parent == "" { // a sweep's elements count through their sweep (quota.go)
		if err := m.admitJob(ctx, j.ID); err != nil {
			return nil, err
		}
	}
	j.Inputs = map[string]any{}
	recs := []store.Record{{Seq: 1, Kind: store.KindStart, Key: s.Project, Value: s.ID()}}
	if parent != "" {
		recs = append(recs, store.Record{Kind: store.KindParent, Key: parent})
	}
	head := len(recs) // the records a solver with track finds stored
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := in[k]
		if f, ok := v.(FileRef); ok {
			v = f.value()
		}
		j.Inputs[k] = v
		recs = append(recs, store.Record{Kind: store.KindParam, Key: k, Value: v})
	}
	recs = append(recs, store.Record{Kind: store.KindStatus, Key: string(store.StatusRegistered)})
	if s.Track {
		// The solver's track client numbers its records from 1 (its start
		// record, which the store takes as a no-op for an existing run):
		// the inputs become params after it ended (finish). A sweep's
		// element also has its parent record (2): its solver resumes
		// the run after it (SIGOCO_TRACK_RESUME, env).
		recs = recs[:head]
	}
	dir, err := m.jobPath(j.ID)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	now := time.Now().UnixNano()
	for i := range recs {
		recs[i].Seq, recs[i].Time = int64(i+1), now
	}
	ack, err := m.rec.Ingest(ctx, &store.Batch{Run: j.ID, Records: recs})
	if err == nil && parent != "" && len(ack.Rejected) > 0 {
		err = errors.New(ack.Rejected[0].Error) // its parent record, first refused
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("jobs: creating the job's run: %w", err)
	}
	if err := m.st.Edit(ctx, j.ID, []store.Record{
		{Kind: store.KindTag, Key: TagJob},
		{Kind: store.KindTag, Key: tagSolver(s.Name)},
		{Kind: store.KindTag, Key: tagVersion(s.Name, s.Version)},
	}); err != nil {
		return nil, err
	}
	if err := m.saveJob(ctx, j, ""); err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.pending[j.ID] = struct{}{}
	m.mu.Unlock()
	c := j.clone()
	return &c, nil
}

// inspect returns a job's current state.
func (m *Manager) inspect(ctx context.Context, id string) (*Job, error) {
	m.mu.Lock()
	a := m.active[id]
	m.mu.Unlock()
	if a != nil {
		a.mu.Lock()
		c := a.job.clone()
		a.mu.Unlock()
		return &c, nil
	}
	j, err := m.loadJob(ctx, id)
	if err == nil && j.Sweep != nil {
		m.inspectSweep(ctx, j)
	}
	return j, err
}

// start queues a PENDING job to run.
func (m *Manager) start(ctx context.Context, id string) (*Job, error) {
	j, err := m.loadJob(ctx, id)
	if err != nil {
		return nil, err
	}
	s, err := m.solver(j.Solver, j.Version)
	if err != nil {
		return nil, fmt.Errorf("%w (job %s was made of it; is it still in the solvers file?)", err, id)
	}
	held := false // this call took the job's lease (leases.go)
	if m.leases != nil && j.State == StatePending && !j.Queued {
		if j, held, err = m.holdToStart(ctx, id); err != nil {
			return nil, err
		}
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		if held {
			m.release(id)
		}
		return nil, ErrClosed
	}
	if a := m.active[id]; a != nil || j.State != StatePending || j.Queued {
		m.mu.Unlock()
		if a != nil {
			return m.inspect(ctx, id)
		}
		if held {
			m.release(id)
		}
		if j.Queued {
			return nil, fmt.Errorf("%w: job %s is started already (by another trackd node)", ErrState, id)
		}
		return nil, fmt.Errorf("%w: job %s is %s; only a PENDING job starts", ErrState, id, j.State)
	}
	j.Queued, j.Executor = true, m.executorOf(s).Name()
	a := newActive(m, s, j)
	m.active[id] = a
	delete(m.pending, id)
	m.wg.Add(1) // under mu, with closed false: Close has not begun waiting
	m.mu.Unlock()
	a.save(ctx)
	go func() {
		defer m.wg.Done()
		a.run()
	}()
	return m.inspect(ctx, id)
}

// stop stops a job: a queued one is ABORTED at once, a running one gets
// SIGTERM, then SIGKILL after its solver's grace. It waits (bounded by
// ctx) until the job is final.
func (m *Manager) stop(ctx context.Context, id string) (*Job, error) {
	m.mu.Lock()
	a := m.active[id]
	m.mu.Unlock()
	if a == nil {
		j, err := m.loadJob(ctx, id)
		if err != nil || j.State.Final() {
			return j, err
		}
		if j.Sweep != nil {
			return m.stopSweep(ctx, j)
		}
		if m.leases != nil && (j.State == StateStarted || j.Queued) {
			if a, err = m.takeToStop(ctx, j); err != nil || a == nil {
				if err != nil {
					return nil, err
				}
				return m.inspect(ctx, id)
			}
		}
	}
	if a == nil {
		j, err := m.loadJob(ctx, id)
		if err != nil || j.State.Final() {
			return j, err
		}
		m.mu.Lock()
		delete(m.pending, id)
		m.mu.Unlock()
		prev := j.State
		j.State, j.Reason, j.Stopped = StateAborted, "stopped before it was started", now()
		if err := m.saveJob(ctx, j, prev); err != nil {
			return nil, err
		}
		if _, err := m.ingest(ctx, id, 0, []store.Record{{Kind: store.KindStatus, Key: string(store.StatusStopped), Value: j.Reason}}); err != nil {
			return nil, err
		}
		return j, nil
	}
	a.requestStop(errStopped)
	select {
	case <-a.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return m.inspect(ctx, id)
}

// list returns a page of jobs.
func (m *Manager) list(ctx context.Context, f JobFilter) (*JobPage, error) {
	tags := []string{TagJob}
	if f.Solver != "" {
		tags = append(tags, tagSolver(f.Solver))
		if f.Version != "" {
			tags = append(tags, tagVersion(f.Solver, f.Version))
		}
	}
	if f.State != "" {
		tags = append(tags, tagState(f.State))
	}
	page, err := m.st.ListRuns(ctx, store.RunFilter{Tags: tags, Parent: f.Parent, After: f.After, Limit: f.Limit})
	if err != nil {
		return nil, err
	}
	out := &JobPage{Jobs: []Job{}, Next: page.Next}
	for _, r := range page.Runs {
		j, err := m.inspect(ctx, r.ID)
		if err != nil {
			continue // deleted meanwhile
		}
		out.Jobs = append(out.Jobs, *j)
	}
	return out, nil
}

// remove deletes a final or never-started job: its run, records and
// directory (file contents stay in the store: others may share them).
func (m *Manager) remove(ctx context.Context, id string) error {
	m.mu.Lock()
	a := m.active[id]
	m.mu.Unlock()
	if a != nil {
		return fmt.Errorf("%w: job %s is running or queued; stop it first", ErrState, id)
	}
	dir, err := m.jobPath(id) // checks the id before anything is read
	if err != nil {
		return err
	}
	j, err := m.loadJob(ctx, id)
	if err != nil {
		return err
	}
	if j.Sweep != nil { // its elements first
		if !j.State.Final() {
			return fmt.Errorf("%w: sweep %s is running; stop it first", ErrState, id)
		}
		elems, err := m.sweepRuns(ctx, id)
		if err != nil {
			return err
		}
		for _, e := range elems {
			if err := m.remove(ctx, e.ID); err != nil && !errors.Is(err, ErrUnknownJob) {
				return err
			}
		}
	}
	if err := m.st.DeleteRun(ctx, id); err != nil {
		return err
	}
	m.mu.Lock()
	delete(m.pending, id)
	m.mu.Unlock()
	m.rec.Edited(ctx, id)
	return os.RemoveAll(dir)
}

func (m *Manager) finished(a *active) {
	m.mu.Lock()
	delete(m.active, a.job.ID)
	m.mu.Unlock()
	a.cancel()
	if !a.lost.Load() {
		m.release(a.job.ID) // final, or left running at Close: another node may follow it at once
	}
}

var errStopped = errors.New("stopped by request")

// executorOf is the executor that runs the jobs of s.
func (m *Manager) executorOf(s *Solver) Executor {
	if s.Executor != "" {
		if ex, ok := m.executors[s.Executor]; ok {
			return ex
		}
	}
	return m.executors[m.opts.Executor]
}
