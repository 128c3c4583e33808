// Package jobs runs solvers on the tracking server: oSPARC's workflow of
// typed input ports, jobs made from validated inputs, started, watched
// (state, progress), stopped, and their outputs (values and files) and log
// file fetched. A job is a tracked run that the server launched, so every
// run feature (live state, params, results, artifacts, logs) applies to
// it.
//
// Solvers are declared in a TOML file (LoadConfig); docs/jobs.md describes
// the format, the lifecycle, the rpc API (target "jobs", API) and how a
// solver reports progress ([PROGRESS] n/m lines on stdout) and outputs
// (outputs.json and files named by the output ports).
//
// # Storage
//
// A job is its run: the inputs are the run's params, the job record
// (state, times, exit code, reason, outputs) is the run's "job" metadata,
// and tags "job", "solver=NAME", "solver=NAME@VERSION" and "state=STATE"
// make jobs listable with the run filters. Output files are artifacts
// (content-addressed by sha256); stdout and stderr lines are the run's log
// records and files in the job's directory. So jobs survive a restart as
// records; a local job that was running when its server died is marked
// ABORTED by the next New, with the reason, while a Slurm job is followed
// again.
//
// # Executors
//
// A job runs through an Executor (start → Handle; wait → ExitResult;
// stop; recover after a restart): "local", a process of the server's, or
// "slurm", a batch job on a Slurm cluster (sbatch, one batched squeue for
// all jobs; docs/jobs.md "Running on Slurm"). The executor only runs the
// process; the job's states, records, logs and outputs are kept here,
// the same for every executor.
//
// # Concurrency
//
// A Manager is safe for concurrent use. At most Options.MaxJobs local
// processes run at once; started jobs wait in order for a slot (Slurm
// jobs are queued by the cluster). Close stops every local job, leaves
// Slurm jobs running (the next New follows them), and waits for its
// goroutines.
package jobs
