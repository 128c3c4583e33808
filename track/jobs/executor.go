package jobs

import (
	"context"
	"errors"
	"io"
	"time"
)

// Executors. A job runs through an executor, as a nomad task runs through
// its driver: the executor starts the job's process, waits for it and
// stops it; the job's state machine (records, logs, outputs, the job
// record) stays here, in active, whatever the executor.
//
// An executor never writes the store: what it learns it returns (an
// ExitResult) or tells through the callbacks of its ExecSpec.

// Executor names (Solver.Executor, Options.Executor).
const (
	ExecutorLocal = "local" // a process on trackd's machine (default)
	ExecutorSlurm = "slurm" // a batch job on a Slurm cluster (sbatch)
)

// ErrDetached is what a Handle's Wait returns when its context ended
// while the job still runs elsewhere (a Slurm job when trackd shuts
// down): the job stays STARTED and is followed again by the next New.
var ErrDetached = errors.New("jobs: job left running (trackd shut down)")

// ExecSpec is what an executor needs to start one job.
type ExecSpec struct {
	JobID   string
	Argv    []string // program first, built from the validated inputs
	Env     []string // the process's whole environment
	WorkDir string   // the job's work directory (its current directory)
	JobDir  string   // the job's directory (stdout.log, stderr.log live here)
	// TimeLimit ends the job (0: none); Grace is the time a stopped job
	// has between SIGTERM and SIGKILL.
	TimeLimit, Grace time.Duration
	// Stdout and Stderr receive the process's output as it is written.
	Stdout, Stderr io.Writer
	// Running is called once the process runs (for a queued Slurm job:
	// when the cluster starts it); Waiting, while the job waits in the
	// executor's queue, with the executor's reason ("Priority").
	Running func()
	Waiting func(reason string)
	// Solver is the job's solver (its Slurm settings).
	Solver *Solver
}

// ExitResult is how a job's process ended.
type ExitResult struct {
	// ExitCode is the process's exit code (nil when a signal ended it or
	// it is unknown); Signal names the signal.
	ExitCode *int
	Signal   string
	// Failure says why the executor ended the job (a time limit, a node
	// failure, out of memory); "" when the process ended by itself.
	Failure string
	// Cancelled: the job was cancelled (a Stop, or outside trackd: a
	// Slurm job cancelled by scancel); CancelReason says by whom.
	Cancelled    bool
	CancelReason string
	// Err: the process could not be waited for, or it exited non-zero.
	Err error
}

// Handle is one started job.
type Handle interface {
	// ID is the executor's id of the job ("" for a local process; the
	// Slurm job id), recorded on the job (Job.ExecutorID).
	ID() string
	// Wait blocks until the job ended, or until ctx ends (then a local
	// process is killed, and Wait returns its result; a Slurm job is left
	// running and Wait returns ErrDetached in Err).
	Wait(ctx context.Context) ExitResult
	// Stop asks the job to end (SIGTERM, SIGKILL after the grace; scancel).
	// It does not wait; Wait returns the result.
	Stop()
}

// Executor starts jobs and, after a restart, follows the ones it started
// before.
type Executor interface {
	Name() string
	// Start starts the job; it returns once the job runs or is queued by
	// the executor.
	Start(ctx context.Context, spec *ExecSpec) (Handle, error)
	// Recover follows again a job a previous manager started (id: its
	// Handle's ID). An executor whose jobs die with trackd returns an
	// error, and the job is ABORTED.
	Recover(ctx context.Context, id string, spec *ExecSpec) (Handle, error)
}

// errNotRecoverable: local processes end with trackd.
var errNotRecoverable = errors.New("jobs: its process was not adopted")
