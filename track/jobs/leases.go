package jobs

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Jobs follow their node. On a store several trackd nodes share
// (store.JobLeases), the node that starts a job holds a lease on it until
// the job is final, renewing it every LeaseTimeout/4. Every node looks
// as often for started jobs whose lease expired — their node died (kill
// -9, a lost host) — and takes them over; the take is one conditional
// write in the store, so one node gets each job. The taker follows a
// Slurm job to its end as the node that submitted it would have (its
// state, output lines, outputs), and marks a local job ABORTED: its
// process died with its node, or runs on a host this node cannot reach.
// A sweep is taken over with its elements, by one node.
//
// A node that could not renew its leases for LeaseTimeout (cut off from
// the database) finds at its next renewal that it lost them, and leaves
// those jobs to their new node: it kills a local job's process, stops
// following a Slurm job, and writes nothing more of them.
//
// On a store without leases (SQLite: one node), New follows again every
// job the previous manager left started, and nothing else is needed.

// leaseEvery is how often leases are renewed and expired ones looked for.
func (m *Manager) leaseEvery() time.Duration { return max(m.opts.LeaseTimeout/4, 10*time.Millisecond) }

// holdToStart takes the lease of a PENDING job about to be started and
// reads the job again under it (another node may have started it since
// it was read). held is false when another node holds it.
func (m *Manager) holdToStart(ctx context.Context, id string) (_ *Job, held bool, err error) {
	taken, err := m.leases.TakeJobs(ctx, []string{id}, m.opts.LeaseTimeout)
	if err != nil {
		return nil, false, fmt.Errorf("jobs: taking the job's lease: %w", err)
	}
	if len(taken) == 0 {
		return nil, false, fmt.Errorf("%w: job %s is being started by another trackd node", ErrState, id)
	}
	j, err := m.loadJob(ctx, id)
	if err != nil {
		m.release(id)
		return nil, false, err
	}
	return j, true, nil
}

// hold takes the leases of jobs this manager starts following (new
// ones: no node holds them); it logs a failure (the jobs then count as
// expired, and another node may take them over).
func (m *Manager) hold(ctx context.Context, ids ...string) {
	if m.leases == nil || len(ids) == 0 {
		return
	}
	if _, err := m.leases.TakeJobs(ctx, ids, m.opts.LeaseTimeout); err != nil {
		m.log.Warn("jobs: taking job leases", "n", len(ids), "err", err)
	}
}

// release drops leases this manager holds.
func (m *Manager) release(ids ...string) {
	if m.leases == nil || len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.leases.ReleaseJobs(ctx, ids); err != nil {
		m.log.Warn("jobs: releasing job leases", "n", len(ids), "err", err)
	}
}

// leaseLoop renews this manager's leases and takes over expired ones
// until Close.
func (m *Manager) leaseLoop() {
	t := time.NewTicker(m.leaseEvery())
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		m.renew(m.ctx)
		if err := m.takeOver(m.ctx, false); err != nil && m.ctx.Err() == nil {
			m.log.Warn("jobs: looking for jobs of dead nodes", "err", err)
		}
	}
}

// renew renews the leases of the jobs and sweeps followed here, and
// leaves those it lost to the node that took them over.
func (m *Manager) renew(ctx context.Context) {
	m.mu.Lock()
	ids := make([]string, 0, len(m.active)+len(m.sweeps))
	for id := range m.active {
		ids = append(ids, id)
	}
	for id := range m.sweeps {
		ids = append(ids, id)
	}
	m.mu.Unlock()
	lost, err := m.leases.RenewJobs(ctx, ids)
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("jobs: renewing job leases", "n", len(ids), "err", err)
		}
		return
	}
	for _, id := range lost {
		m.mu.Lock()
		a, sr := m.active[id], m.sweeps[id]
		if sr != nil {
			delete(m.sweeps, id)
			delete(m.pending, id)
		}
		m.mu.Unlock()
		if a != nil {
			a.lose()
		}
		if sr != nil {
			sr.stopOnce.Do(func() { close(sr.stop) })
		}
		m.log.Warn("jobs: another trackd node took over a job (this node did not renew its lease in time)", "job", id)
	}
}

// takeOver follows the started jobs of the store whose lease expired, or
// that no node holds (a node released them at shutdown, or they were
// started before leases), and marks ABORTED those it cannot follow.
// Elements of sweeps are taken over with their sweep. At New (first), a
// created job not started is also kept alive, as recover does.
func (m *Manager) takeOver(ctx context.Context, first bool) error {
	var jobs, sweeps []*Job
	// only the jobs no node follows are read (and created ones, not
	// started, which hold no lease)
	unfollowed := func(ids []string) ([]string, error) {
		m.mu.Lock()
		ids = slices.DeleteFunc(ids, func(id string) bool {
			_, mine := m.active[id]
			_, driven := m.sweeps[id]
			return mine || driven
		})
		m.mu.Unlock()
		return m.leases.Unfollowed(ctx, ids, m.opts.LeaseTimeout)
	}
	err := m.leftStarted(ctx, first, unfollowed, func(j *Job) error {
		m.mu.Lock()
		_, mine := m.active[j.ID]
		_, driven := m.sweeps[j.ID]
		m.mu.Unlock()
		switch {
		case mine || driven:
		case j.Sweep != nil:
			sweeps = append(sweeps, j)
		case j.Parent == "":
			jobs = append(jobs, j)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, j := range m.take(ctx, jobs) {
		if err := m.followAgain(ctx, j, "no lease renewal for "+m.opts.LeaseTimeout.String()); err != nil {
			return err
		}
	}
	for _, p := range m.take(ctx, sweeps) {
		if p.State.Final() {
			continue
		}
		elems, err := m.sweepElements(ctx, p.ID)
		if err != nil {
			m.release(p.ID)
			return err
		}
		var open []*Job
		for _, e := range elems {
			if !e.State.Final() && (e.State == StateStarted || e.Queued) {
				open = append(open, e)
			}
		}
		for _, e := range m.take(ctx, open) {
			if err := m.followAgain(ctx, e, "no lease renewal for "+m.opts.LeaseTimeout.String()); err != nil {
				return err
			}
		}
		m.resumeSweep(ctx, p)
	}
	return nil
}

// take takes the leases of jobs and returns those taken, read again under
// the lease; a job that ended meanwhile has its lease released at once.
func (m *Manager) take(ctx context.Context, jobs []*Job) []*Job {
	if len(jobs) == 0 {
		return nil
	}
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	taken, err := m.leases.TakeJobs(ctx, ids, m.opts.LeaseTimeout)
	if err != nil {
		m.log.Warn("jobs: taking over jobs", "n", len(ids), "err", err)
		return nil
	}
	var out []*Job
	for _, id := range taken {
		j, err := m.loadJob(ctx, id)
		if err != nil || j.State.Final() || (j.State == StatePending && !j.Queued && j.Sweep == nil) {
			m.release(id)
			continue
		}
		m.log.Info("jobs: taking over a job of a trackd node that stopped", "job", id, "executor", j.Executor)
		out = append(out, j)
	}
	return out
}

// takeToStop is stop for a started job this node does not follow: a job
// whose node died is taken over here first, and returned active to be
// stopped (nil: it was ended instead, a local job of a dead node); a job
// another node follows is refused, as that node stops it (trackd forwards
// stop_job to the node that runs a job).
func (m *Manager) takeToStop(ctx context.Context, j *Job) (*active, error) {
	taken := m.take(ctx, []*Job{j})
	if len(taken) == 0 {
		return nil, fmt.Errorf("%w: job %s is run by another trackd node; stop it there", ErrState, j.ID)
	}
	if err := m.followAgain(ctx, taken[0], "no lease renewal for "+m.opts.LeaseTimeout.String()); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.active[j.ID], nil
}
