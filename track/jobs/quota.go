package jobs

import (
	"context"
	"sync"

	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/wire/auth"
)

// DefaultMaxQueuedJobs is Options.MaxQueuedJobs' default.
const DefaultMaxQueuedJobs = 100

// queueQuota bounds the jobs one identity has waiting or running
// (Options.MaxQueuedJobs): created and not final — PENDING, queued for a
// slot or the cluster, or STARTED. Admins and in-process callers are not
// limited. Which of an identity's jobs are still not final is asked of
// the manager only when the identity is at its quota, so create_job pays
// nothing more below it. Counts start at zero when the manager starts.
type queueQuota struct {
	mu   sync.Mutex
	byID map[string]map[string]int // identity → its jobs (a sweep weighs its size), maybe final by now
}

// admitJob counts job id, which the identity in ctx is creating, against
// its quota, or refuses it with a *store.QuotaError.
func (m *Manager) admitJob(ctx context.Context, id string) error { return m.admitJobs(ctx, id, 1) }

// admitJobs counts job id as n jobs (a sweep of n elements: its elements
// are not counted on their own), all or none.
func (m *Manager) admitJobs(ctx context.Context, id string, n int) error {
	q := m.opts.MaxQueuedJobs
	if q == 0 {
		q = DefaultMaxQueuedJobs
	}
	who, ok := auth.FromContext(ctx)
	if !ok || who.Role >= auth.Admin || q < 0 {
		return nil
	}
	qq := &m.queue
	qq.mu.Lock()
	defer qq.mu.Unlock()
	if qq.byID == nil {
		qq.byID = map[string]map[string]int{}
	}
	jobs := qq.byID[who.Name]
	if jobs == nil {
		jobs = map[string]int{}
		qq.byID[who.Name] = jobs
	}
	held := func() (sum int) {
		for _, w := range jobs {
			sum += w
		}
		return sum
	}
	if held()+n > q {
		m.mu.Lock()
		for j := range jobs {
			_, pending := m.pending[j]
			if a := m.active[j]; a == nil && !pending {
				delete(jobs, j)
			}
		}
		m.mu.Unlock()
	}
	if h := held(); h+n > q {
		return &store.QuotaError{Identity: who.Name, Quota: "MaxQueuedJobs", Flag: "--max-queued-jobs", Count: int64(h + n), Max: int64(q),
			What: "jobs pending, queued or running", Hint: "wait for one to end, or stop one (stop_job), before creating another"}
	}
	jobs[id] = n
	return nil
}
