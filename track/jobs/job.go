package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sigoco/sigoco/track/store"
)

// State is a job's state, as oSPARC names them.
type State string

// The states: PENDING (created, or started and waiting for a free slot:
// Queued), STARTED (its process runs), then one of the final three.
const (
	StatePending State = "PENDING"
	StateStarted State = "STARTED"
	StateSuccess State = "SUCCESS"
	StateFailed  State = "FAILED"
	StateAborted State = "ABORTED"
)

// Final reports whether s ends a job.
func (s State) Final() bool { return s == StateSuccess || s == StateFailed || s == StateAborted }

// runStatus is the status of the job's run for s.
func (s State) runStatus() store.Status {
	switch s {
	case StateStarted:
		return store.StatusRunning
	case StateSuccess:
		return store.StatusFinished
	case StateFailed:
		return store.StatusFailed
	case StateAborted:
		return store.StatusStopped
	}
	return store.StatusRegistered
}

// Errors of the job manager.
var (
	ErrUnknownSolver = errors.New("jobs: unknown solver")
	ErrUnknownJob    = errors.New("jobs: unknown job")
	// ErrState: the job is not in a state the request applies to (start a
	// job twice, delete a running job).
	ErrState  = errors.New("jobs: job in the wrong state")
	ErrClosed = errors.New("jobs: manager closed")
)

// Job is a job: a run of a solver that trackd launched. Its ID is its
// run's id.
type Job struct {
	ID      string `msgpack:"id" json:"id"`
	Solver  string `msgpack:"solver" json:"solver"`
	Version string `msgpack:"version" json:"version"`
	State   State  `msgpack:"state" json:"state"`
	// Queued: started, waiting for one of the --max-jobs slots.
	Queued bool `msgpack:"queued,omitempty" json:"queued,omitempty"`
	// Progress is 0–100 (from [PROGRESS] n/m lines, or 100 on success).
	Progress float64 `msgpack:"progress" json:"progress"`
	// Inputs as validated, defaults filled in; file inputs as FileRef maps.
	Inputs map[string]any `msgpack:"inputs" json:"inputs"`
	// Created, Started and Stopped are Unix seconds (0: not yet).
	Created Time `msgpack:"created" json:"created"`
	Started Time `msgpack:"started,omitempty" json:"started,omitempty"`
	Stopped Time `msgpack:"stopped,omitempty" json:"stopped,omitempty"`
	// ExitCode of the process (nil before it ended, or when it was killed
	// by a signal: Signal names it).
	ExitCode *int   `msgpack:"exit_code,omitempty" json:"exit_code,omitempty"`
	Signal   string `msgpack:"signal,omitempty" json:"signal,omitempty"`
	// Executor runs the job ("local", "slurm"); ExecutorID is its id
	// there (the Slurm job id), once submitted.
	Executor   string `msgpack:"executor,omitempty" json:"executor,omitempty"`
	ExecutorID string `msgpack:"executor_id,omitempty" json:"executor_id,omitempty"`
	// WaitReason says why a queued job waits in its executor's queue
	// (Slurm's reason: "Priority", "Resources", …; WaitStarting while a
	// local job's process is being started).
	WaitReason string `msgpack:"wait_reason,omitempty" json:"wait_reason,omitempty"`
	// Restarts counts the times the executor requeued the job after it
	// had started (Slurm's requeue); it is then STARTED and Queued again
	// until it runs.
	Restarts int `msgpack:"restarts,omitempty" json:"restarts,omitempty"`
	// Reason says why a job FAILED or was ABORTED.
	Reason string `msgpack:"reason,omitempty" json:"reason,omitempty"`
	// StderrTail holds the last lines of stderr when the job failed.
	StderrTail []string `msgpack:"stderr_tail,omitempty" json:"stderr_tail,omitempty"`
	// Outputs: values and FileRef maps, once the job succeeded.
	Outputs map[string]any `msgpack:"outputs,omitempty" json:"outputs,omitempty"`
	// Parent is the sweep this job is element Index of (its run's parent
	// run); "" for a job of its own (sweep.go).
	Parent string `msgpack:"parent,omitempty" json:"parent,omitempty"`
	Index  int    `msgpack:"index,omitempty" json:"index,omitempty"`
	// Sweep is set on a sweep: the job whose run is its elements' parent.
	Sweep *Sweep `msgpack:"sweep,omitempty" json:"sweep,omitempty"`
}

// JobOutputs is what get_job_outputs returns.
type JobOutputs struct {
	JobID string `msgpack:"job_id" json:"job_id"`
	State State  `msgpack:"state" json:"state"`
	// Results maps each output port written to its value; a file output is
	// a FileRef (sha256, filename, size, content_type), downloadable with
	// the tracker's read_blob or GET /artifacts/{sha256}.
	Results map[string]any `msgpack:"results" json:"results"`
}

// JobFilter selects jobs. Empty fields do not filter.
type JobFilter struct {
	Solver  string `msgpack:"solver,omitempty"`
	Version string `msgpack:"version,omitempty"` // with Solver
	State   State  `msgpack:"state,omitempty"`
	// Parent selects the elements of that sweep.
	Parent string `msgpack:"parent,omitempty"`
	// Paging: newest first; After is the Next of the previous page; Limit
	// defaults to 100, at most 1000.
	After string `msgpack:"after,omitempty"`
	Limit int    `msgpack:"limit,omitempty"`
}

// JobPage is one page of jobs.
type JobPage struct {
	Jobs []Job  `msgpack:"jobs"`
	Next string `msgpack:"next,omitempty"`
}

// Tags and the metadata key a job's run carries.
// Only the server writes them (store.ServerOnly): clients' batches and
// tag edits that carry them are refused.
const (
	TagJob  = store.TagJob
	metaJob = store.MetaJob
)

func tagSolver(name string) string     { return store.TagSolverPrefix + name }
func tagVersion(name, v string) string { return store.TagSolverPrefix + name + "@" + v }
func tagState(s State) string          { return store.TagStatePrefix + string(s) }

// metaValue turns a job into the value-model map stored as its run's
// "job" metadata (through JSON, so that it reads back the same).
func (j *Job) metaValue() (map[string]any, error) {
	b, err := json.Marshal(j)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	err = json.Unmarshal(b, &m)
	return m, err
}

// jobOfRun reads the job a run holds.
func jobOfRun(r *store.Run) (*Job, error) {
	v, ok := r.Metadata[metaJob]
	if !ok {
		return nil, fmt.Errorf("%w: run %s is not a job", ErrUnknownJob, r.ID)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("jobs: job record of run %s: %w", r.ID, err)
	}
	var j Job
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("jobs: job record of run %s: %w", r.ID, err)
	}
	j.Inputs, _ = numbers(j.Inputs).(map[string]any)
	j.Outputs, _ = numbers(j.Outputs).(map[string]any)
	return &j, nil
}

// numbers turns the json.Numbers of a decoded value into int64 (integers)
// and float64, so that a job reads back with the types it was stored with.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}

func (j *Job) clone() Job {
	c := *j
	c.StderrTail = append([]string(nil), j.StderrTail...)
	if j.Sweep != nil {
		sw := *j.Sweep
		c.Sweep = &sw
	}
	return c
}

// loadJob reads a job from the store.
func (m *Manager) loadJob(ctx context.Context, id string) (*Job, error) {
	if err := checkJobID(id); err != nil {
		return nil, err // every job the manager made has a valid id
	}
	r, err := m.st.GetRun(ctx, id)
	if errors.Is(err, store.ErrUnknownRun) || errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w %q", ErrUnknownJob, id)
	}
	if err != nil {
		return nil, err
	}
	j, err := jobOfRun(r)
	if err != nil {
		return nil, err
	}
	if s, err := m.solver(j.Solver, j.Version); err == nil && s.Version == j.Version {
		retype(s.Inputs, j.Inputs)
		retype(s.Outputs, j.Outputs)
	}
	return j, nil
}

// retype gives the values of a job read back their ports' types (JSON
// does not tell 2.0 from 2).
func retype(ports []Port, values map[string]any) {
	for i := range ports {
		p := &ports[i]
		if v, ok := values[p.Key]; ok && p.Type != TypeFile {
			if c, err := coerce(p, v); err == nil {
				values[p.Key] = c
			}
		}
	}
}

// saveJob writes the job record and its state tag (prev is the state
// saved before, "" for none).
func (m *Manager) saveJob(ctx context.Context, j *Job, prev State) error {
	v, err := j.metaValue()
	if err != nil {
		return err
	}
	recs := []store.Record{}
	if prev != j.State {
		if prev != "" {
			recs = append(recs, store.Record{Kind: store.KindUntag, Key: tagState(prev)})
		}
		recs = append(recs, store.Record{Kind: store.KindTag, Key: tagState(j.State)})
	}
	recs = append(recs, store.Record{Kind: store.KindMeta, Key: metaJob, Value: v})
	if err := m.st.Edit(ctx, j.ID, recs); err != nil {
		return fmt.Errorf("jobs: saving job %s: %w", j.ID, err)
	}
	m.rec.Edited(ctx, j.ID)
	return nil
}

// ingest writes sequenced records to a job's run, numbered after the
// run's highest record (seq, if > 0, is that number, known to the caller).
// It returns the new highest number.
func (m *Manager) ingest(ctx context.Context, run string, seq int64, recs []store.Record) (int64, error) {
	if seq <= 0 {
		r, err := m.st.GetRun(ctx, run)
		if err != nil {
			return 0, err
		}
		seq = r.HighSeq
	}
	now := time.Now().UnixNano()
	for i := range recs {
		seq++
		recs[i].Seq = seq
		if recs[i].Time == 0 {
			recs[i].Time = now
		}
	}
	ack, err := m.rec.Ingest(ctx, &store.Batch{Run: run, Records: recs})
	if err != nil {
		return 0, fmt.Errorf("jobs: writing run %s: %w", run, err)
	}
	if len(ack.Rejected) > 0 {
		m.log.Warn("jobs: records refused", "run", run, "first", ack.Rejected[0].Error, "n", len(ack.Rejected))
	}
	return max(ack.HighSeq, seq), nil
}
