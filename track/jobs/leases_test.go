package jobs_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track/jobs"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/sqlite"
)

// leaseTable is the job_leases table of a database several nodes share
// (the PostgreSQL store's is tested against PostgreSQL in its package).
type leaseTable struct {
	mu   sync.Mutex
	rows map[string]leaseRow
}

type leaseRow struct {
	node  string
	heard time.Time
}

// nodeStore is one node's view of the shared store. A dead node writes
// nothing and renews no lease, as a node killed -9 or cut off from the
// database.
type nodeStore struct {
	*sqlite.Store
	node  string
	table *leaseTable
	dead  atomic.Bool
}

var errDead = errors.New("test: this node is dead")

func (s *nodeStore) Ingest(ctx context.Context, b *store.Batch) (*store.Ack, error) {
	if s.dead.Load() {
		return nil, errDead
	}
	return s.Store.Ingest(ctx, b)
}

func (s *nodeStore) Edit(ctx context.Context, run string, recs []store.Record) error {
	if s.dead.Load() {
		return errDead
	}
	return s.Store.Edit(ctx, run, recs)
}

func (s *nodeStore) AppendLogs(ctx context.Context, logs []store.LogEntry) (int, error) {
	if s.dead.Load() {
		return 0, errDead
	}
	return s.Store.AppendLogs(ctx, logs)
}

func (s *nodeStore) TakeJobs(ctx context.Context, ids []string, expiry time.Duration) ([]string, error) {
	if s.dead.Load() {
		return nil, errDead
	}
	t := s.table
	t.mu.Lock()
	defer t.mu.Unlock()
	var taken []string
	for _, id := range ids {
		r, ok := t.rows[id]
		if !ok || r.node == s.node || time.Since(r.heard) > expiry {
			t.rows[id] = leaseRow{s.node, time.Now()}
			taken = append(taken, id)
		}
	}
	return taken, nil
}

func (s *nodeStore) RenewJobs(ctx context.Context, ids []string) ([]string, error) {
	if s.dead.Load() {
		return nil, errDead
	}
	t := s.table
	t.mu.Lock()
	defer t.mu.Unlock()
	var lost []string
	for _, id := range ids {
		if r, ok := t.rows[id]; ok && r.node == s.node {
			t.rows[id] = leaseRow{s.node, time.Now()}
		} else {
			lost = append(lost, id)
		}
	}
	return lost, nil
}

func (s *nodeStore) Unfollowed(ctx context.Context, ids []string, expiry time.Duration) ([]string, error) {
	if s.dead.Load() {
		return nil, errDead
	}
	t := s.table
	t.mu.Lock()
	defer t.mu.Unlock()
	var free []string
	for _, id := range ids {
		if r, ok := t.rows[id]; !ok || time.Since(r.heard) > expiry {
			free = append(free, id)
		}
	}
	return free, nil
}

func (s *nodeStore) ReleaseJobs(ctx context.Context, ids []string) error {
	if s.dead.Load() {
		return errDead
	}
	t := s.table
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range ids {
		if t.rows[id].node == s.node {
			delete(t.rows, id)
		}
	}
	return nil
}

func (s *nodeStore) holder(id string) string {
	s.table.mu.Lock()
	defer s.table.mu.Unlock()
	return s.table.rows[id].node
}

// fakeCluster is a batch system the nodes share (Slurm's part): a job
// runs until the test ends it, and writes its output into the job's
// directory as a Slurm job would.
type fakeCluster struct {
	mu   sync.Mutex
	jobs map[string]*fakeJob
	n    int
}

type fakeJob struct {
	done chan struct{}
	res  jobs.ExitResult
}

func (c *fakeCluster) job(id string) *fakeJob {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.jobs[id]
}

// complete ends job id successfully: a line on stdout (to its latest
// follower), its outputs in its work directory.
func (c *fakeCluster) complete(t *testing.T, id string, spec *jobs.ExecSpec) {
	t.Helper()
	if _, err := spec.Stdout.Write([]byte("done on the cluster\n")); err != nil { // as Slurm's file follower does
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(spec.WorkDir, "single_number.txt"), []byte("42\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(spec.WorkDir, jobs.OutputsFile), []byte(`{"output_2": 2.5}`), 0o644); err != nil {
		t.Fatal(err)
	}
	zero := 0
	j := c.job(id)
	j.res = jobs.ExitResult{ExitCode: &zero}
	close(j.done)
}

// fakeSlurm is one node's executor "slurm" on the fake cluster; a dead
// node's follows nothing any more.
type fakeSlurm struct {
	c     *fakeCluster
	dead  atomic.Bool
	mu    sync.Mutex
	specs map[string]*jobs.ExecSpec // by cluster id: the latest follower's
}

func (x *fakeSlurm) Name() string { return jobs.ExecutorSlurm }

func (x *fakeSlurm) Start(ctx context.Context, spec *jobs.ExecSpec) (jobs.Handle, error) {
	x.c.mu.Lock()
	x.c.n++
	id := strconv.Itoa(x.c.n)
	x.c.jobs[id] = &fakeJob{done: make(chan struct{})}
	x.c.mu.Unlock()
	return x.Recover(ctx, id, spec)
}

func (x *fakeSlurm) Recover(ctx context.Context, id string, spec *jobs.ExecSpec) (jobs.Handle, error) {
	j := x.c.job(id)
	if j == nil {
		return nil, errors.New("fake: no such job " + id)
	}
	x.mu.Lock()
	x.specs[id] = spec
	x.mu.Unlock()
	spec.Running()
	return &fakeHandle{x: x, id: id, j: j}, nil
}

func (x *fakeSlurm) spec(id string) *jobs.ExecSpec {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.specs[id]
}

type fakeHandle struct {
	x  *fakeSlurm
	id string
	j  *fakeJob
}

func (h *fakeHandle) ID() string { return h.id }
func (h *fakeHandle) Stop()      {}

func (h *fakeHandle) Wait(ctx context.Context) jobs.ExitResult {
	done := h.j.done
	if h.x.dead.Load() {
		done = nil // its node died: nobody follows the job from there
	}
	select {
	case <-done:
		if h.x.dead.Load() {
			<-ctx.Done()
			return jobs.ExitResult{Err: jobs.ErrDetached}
		}
		return h.j.res
	case <-ctx.Done():
		return jobs.ExitResult{Err: jobs.ErrDetached}
	}
}

// fakeLocal is executor "local": a process that runs until its node
// kills it, and that no other node can follow.
type fakeLocal struct{}

func (fakeLocal) Name() string { return jobs.ExecutorLocal }

func (fakeLocal) Start(ctx context.Context, spec *jobs.ExecSpec) (jobs.Handle, error) {
	spec.Running()
	return fakeProcess{}, nil
}

func (fakeLocal) Recover(context.Context, string, *jobs.ExecSpec) (jobs.Handle, error) {
	return nil, errors.New("fake: a local process is not adopted")
}

type fakeProcess struct{}

func (fakeProcess) ID() string { return "" }
func (fakeProcess) Stop()      {}
func (fakeProcess) Wait(ctx context.Context) jobs.ExitResult {
	<-ctx.Done()
	return jobs.ExitResult{Signal: "killed", Err: errors.New("signal: killed")}
}

// TestJobsFollowTheirNode: two nodes share a store and a cluster; node A
// starts a Slurm job and a local job, then dies (its writes and lease
// renewals fail). Node B takes both over once A's leases expired: it
// follows the Slurm job to its end (state, output line, outputs) and
// marks the local job ABORTED. A, back, finds it lost them and writes
// nothing more of them.
func TestJobsFollowTheirNode(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	st, err := sqlite.Open(ctx, data, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg, err := jobs.LoadConfig(filepath.Join(solverDir, "solvers.toml"))
	if err != nil {
		t.Fatal(err)
	}
	local := *cfg.Solvers[0] // the same solver, run as a local process
	local.Name, local.Executor = "local-sleeper", jobs.ExecutorLocal
	solvers := append(slices.Clone(cfg.Solvers), &local)
	table := &leaseTable{rows: map[string]leaseRow{}}
	cluster := &fakeCluster{jobs: map[string]*fakeJob{}}
	type node struct {
		st    *nodeStore
		slurm *fakeSlurm
		m     *jobs.Manager
	}
	newNode := func(name string) *node {
		n := &node{st: &nodeStore{Store: st, node: name, table: table}, slurm: &fakeSlurm{c: cluster, specs: map[string]*jobs.ExecSpec{}}}
		opts := jobs.Options{Solvers: solvers, Dir: filepath.Join(data, "jobs"), Executor: jobs.ExecutorSlurm, LeaseTimeout: 400 * time.Millisecond}
		opts = jobs.WithExecutor(jobs.WithExecutor(opts, n.slurm), fakeLocal{})
		m, err := jobs.New(ctx, jobs.StoreRecorder(n.st), opts)
		if err != nil {
			t.Fatal(err)
		}
		n.m = m
		t.Cleanup(func() { m.Close() })
		return n
	}
	a, b := newNode("A"), newNode("B")

	startOn := func(n *node, solver string) *jobs.Job {
		j, err := n.m.Target().CreateJob(ctx, solver, "1.0.0", map[string]any{"steps": 2, "factor": 1.5})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.m.Target().StartJob(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
		return waitJob(t, n.m, j.ID, "started", func(j *jobs.Job) bool {
			return j.State == jobs.StateStarted && !j.Queued && (j.Executor == jobs.ExecutorLocal || j.ExecutorID != "")
		})
	}
	sj := startOn(a, "sleeper")
	lj := startOn(a, "local-sleeper")
	if sj.ExecutorID == "" || a.st.holder(sj.ID) != "A" || a.st.holder(lj.ID) != "A" {
		t.Fatalf("slurm id %q, leases held by %q and %q; want A's", sj.ExecutorID, a.st.holder(sj.ID), a.st.holder(lj.ID))
	}
	// B cannot start what A runs, nor mark it stopped behind A's back.
	if _, err := b.m.Target().StartJob(ctx, sj.ID); !errors.Is(err, jobs.ErrState) {
		t.Fatalf("B started A's job: %v", err)
	}
	if _, err := b.m.Target().StopJob(ctx, lj.ID); !errors.Is(err, jobs.ErrState) {
		t.Fatalf("B stopped A's job: %v", err)
	}

	// A dies.
	a.st.dead.Store(true)
	a.slurm.dead.Store(true)
	local2 := waitJob(t, b.m, lj.ID, "aborted by B", func(j *jobs.Job) bool { return j.State.Final() })
	if local2.State != jobs.StateAborted || !strings.Contains(local2.Reason, "node that ran the job stopped") {
		t.Fatalf("A's local job: %s %q", local2.State, local2.Reason)
	}
	deadline := time.Now().Add(30 * time.Second)
	for b.slurm.spec(sj.ExecutorID) == nil {
		if time.Now().After(deadline) {
			t.Fatal("B never followed A's Slurm job")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if h := a.st.holder(sj.ID); h != "B" {
		t.Fatalf("the Slurm job's lease is held by %q; want B", h)
	}
	// A comes back (its database reachable again): it lost the jobs.
	a.st.dead.Store(false)
	cluster.complete(t, sj.ExecutorID, b.slurm.spec(sj.ExecutorID))
	done := waitJob(t, b.m, sj.ID, "final on B", func(j *jobs.Job) bool { return j.State.Final() })
	if done.State != jobs.StateSuccess || done.Outputs["output_2"] != 2.5 || done.Outputs["output_1"] == nil {
		t.Fatalf("the Slurm job followed by B: %+v", done)
	}
	// A dropped them: it shows what B stored.
	waitJob(t, a.m, sj.ID, "final on A", func(j *jobs.Job) bool { return j.State == jobs.StateSuccess })
	waitJob(t, a.m, lj.ID, "final on A", func(j *jobs.Job) bool { return j.State == jobs.StateAborted })
	page, err := st.Logs(ctx, store.LogQuery{Run: sj.ID})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range page.Logs {
		lines = append(lines, l.Message)
	}
	if !slices.Contains(lines, "done on the cluster") {
		t.Fatalf("the job's output lines %q lack the cluster's", lines)
	}
	if h := a.st.holder(sj.ID); h != "" {
		t.Fatalf("a final job's lease is held by %q", h)
	}
}

// waitJob polls a manager's view of a job until cond holds (30 s).
func waitJob(t *testing.T, m *jobs.Manager, id, what string, cond func(*jobs.Job) bool) *jobs.Job {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		j, err := m.Target().InspectJob(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if cond(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s never %s; last: %+v", id, what, j)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
