package jobs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

//go:generate go run github.com/sigoco/sigoco/cmd/sigoco-gen -type API

// TargetName is the rpc target name the tracking server gives API.
const TargetName = "jobs"

// API is the rpc face of a Manager (target "jobs"); its methods are called
// by their snake_case names: list_solvers, get_solver, create_job,
// create_jobs, stop_jobs, start_job, inspect_job, stop_job, list_jobs, get_job_outputs,
// get_job_logfile, delete_job. The Go methods are the same calls in
// process.
type API struct{ m *Manager }

// Target returns the manager's rpc target.
func (m *Manager) Target() *API { return &API{m: m} }

// ListSolvers lists every solver version with its ports.
func (a *API) ListSolvers(ctx context.Context) ([]*Solver, error) { return a.m.Solvers(), nil }

// GetSolver returns one solver version ("" version: the last declared).
func (a *API) GetSolver(ctx context.Context, name, version string) (*Solver, error) {
	return a.m.solver(name, version)
}

// CreateJob validates inputs against the solver's input ports and makes a
// PENDING job (a run in the solver's project with the inputs as params).
// Invalid inputs return an *InputError naming every faulty port; no job
// is made. A file input is a sha256 of an uploaded artifact (or a map
// with "sha256" or oSPARC's "id").
func (a *API) CreateJob(ctx context.Context, solver, version string, inputs map[string]any) (*Job, error) {
	return a.m.create(ctx, solver, version, inputs)
}

// CreateJobs makes and starts a sweep: one job per inputs, each
// validated as CreateJob's (nothing is made unless all are valid; an
// *InputError names element i's ports "[i].port"), elements of one sweep
// job, their runs children of its run. On Slurm the sweep is one job
// array; locally, queued jobs. opts.Throttle bounds the elements running
// at once (keyword throttle over rpc). It returns the sweep's job.
func (a *API) CreateJobs(ctx context.Context, solver, version string, inputs []map[string]any, opts SweepOptions) (*Job, error) {
	return a.m.createSweep(ctx, solver, version, inputs, opts)
}

// StopJobs stops every element of a sweep (on Slurm, one scancel of the
// array) and returns the sweep once final. StopJob on a sweep does the
// same.
func (a *API) StopJobs(ctx context.Context, sweep string) (*Job, error) {
	if err := a.control(ctx, sweep, "stop"); err != nil {
		return nil, err
	}
	j, err := a.m.loadJob(ctx, sweep)
	if err != nil {
		return nil, err
	}
	if j.Sweep == nil {
		return nil, fmt.Errorf("%w: job %s is not a sweep", ErrState, sweep)
	}
	return a.m.stop(ctx, sweep)
}

// StartJob queues a PENDING job; it becomes STARTED when a slot is free.
// Starting a job already started returns its state.
func (a *API) StartJob(ctx context.Context, id string) (*Job, error) {
	if err := a.control(ctx, id, "start"); err != nil {
		return nil, err
	}
	return a.m.start(ctx, id)
}

// InspectJob returns a job's state, progress, times, exit code, reason and,
// after a failure, the last lines of its stderr.
func (a *API) InspectJob(ctx context.Context, id string) (*Job, error) { return a.m.inspect(ctx, id) }

// StopJob stops a job (SIGTERM, then SIGKILL after the solver's grace) and
// returns it once final: ABORTED.
func (a *API) StopJob(ctx context.Context, id string) (*Job, error) {
	if err := a.control(ctx, id, "stop"); err != nil {
		return nil, err
	}
	return a.m.stop(ctx, id)
}

// ListJobs returns a page of jobs, newest first.
func (a *API) ListJobs(ctx context.Context, f JobFilter) (*JobPage, error) { return a.m.list(ctx, f) }

// GetJobOutputs returns the outputs of a job (empty until it succeeded).
func (a *API) GetJobOutputs(ctx context.Context, id string) (*JobOutputs, error) {
	j, err := a.m.inspect(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &JobOutputs{JobID: j.ID, State: j.State, Results: j.Outputs}
	if out.Results == nil {
		out.Results = map[string]any{}
	}
	return out, nil
}

// GetJobLogfile returns the job's log file: a zip of stdout.log,
// stderr.log, run.log and job.json (at most MaxLogZip bytes; larger ones
// over HTTP).
func (a *API) GetJobLogfile(ctx context.Context, id string) ([]byte, error) {
	b := &limitedBuffer{max: a.m.opts.MaxLogZip}
	if err := a.m.WriteLogZip(ctx, id, b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// DeleteJob deletes a job that is not running: its run and directory.
func (a *API) DeleteJob(ctx context.Context, id string) error {
	if err := a.control(ctx, id, "delete"); err != nil {
		return err
	}
	return a.m.remove(ctx, id)
}

// control refuses a caller (the identity in ctx) that may not act on job
// id: its owner and admins may (RunAuthorizer), whoever else holds the
// role the method needs may not. Every method that changes a job named
// by its id asks it first; the manager's own callers (sweep feeders,
// Close) do not go through API.
func (a *API) control(ctx context.Context, id, what string) error {
	return AuthorizeControl(ctx, a.m.rec, id, what)
}

// AuthorizeControl is the check API makes before it starts, stops or
// deletes job id (what: "start", "stop", "delete") in the name of the
// identity in ctx: a valid job id, and rec's RunAuthorizer (when rec has
// one) allowing it. Whoever passes a job call on elsewhere (trackd
// forwarding stop_job to the node that runs the job, as its own
// identity) asks it first.
func AuthorizeControl(ctx context.Context, rec Recorder, id, what string) error {
	if err := checkJobID(id); err != nil {
		return err
	}
	if ra, ok := rec.(RunAuthorizer); ok {
		return ra.AuthorizeRun(ctx, id, what) // "run … belongs to …; … may not stop it"
	}
	return nil
}

// HTTPHandler serves GET /jobs/{id}/logfile.zip (register it with the
// tracking server's HandleHTTP on "GET /jobs/").
func (m *Manager) HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /jobs/{id}/logfile.zip", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if _, err := m.inspect(r.Context(), id); err != nil {
			code := http.StatusNotFound
			if errors.Is(err, ErrBadJobID) {
				code = http.StatusBadRequest
			}
			http.Error(w, err.Error(), code)
			return
		}
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "job-"+id+"-logs.zip"))
		if err := m.WriteLogZip(r.Context(), id, w); err != nil {
			m.log.Warn("jobs: log zip", "job", id, "err", err)
		}
	})
	return mux
}
