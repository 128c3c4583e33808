package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The slurm executor submits a job with sbatch (argv, no shell) and
// follows every job it submitted with one squeue for all of them, at an
// interval that adapts (PollMin after a change, doubling up to PollMax
// while nothing changes); a job that left squeue's list, or ended, is
// read once with scontrol show job, or from the job completion file
// (sacct -c) when slurmctld forgot it. Its stdout and stderr files
// (--output, --error in the job's directory, which must be on a
// filesystem the nodes share) are followed as they grow.
//
// It uses the Slurm CLI, not slurmrestd: the CLI is on every submit host,
// authenticates with munge as the user trackd runs as, and needs neither
// a token nor a REST daemon the cluster may not run (docs/jobs.md).

// SlurmOptions configures the slurm executor. The zero value works (the
// commands found in PATH, SLURM_CONF from trackd's environment).
type SlurmOptions struct {
	// Bin is the directory of sbatch, squeue, scontrol, scancel and
	// sacct. Default: found in PATH.
	Bin string
	// Env is added to the environment of those commands (SLURM_CONF=…).
	Env []string
	// PollMin and PollMax bound the interval of the batched squeue.
	// Defaults 250 ms and 5 s.
	PollMin, PollMax time.Duration
	// FollowEvery is how often the output files of running jobs are read.
	// Default 250 ms.
	FollowEvery time.Duration
}

func (o *SlurmOptions) defaults() {
	if o.PollMin <= 0 {
		o.PollMin = 250 * time.Millisecond
	}
	if o.PollMax < o.PollMin {
		o.PollMax = max(5*time.Second, o.PollMin)
	}
	if o.FollowEvery <= 0 {
		o.FollowEvery = 250 * time.Millisecond
	}
}

// SlurmSettings are a solver's Slurm resources ([solver.slurm] in the
// solvers file, or [slurm] for every solver of the file). The time limit
// is the solver's time_limit.
type SlurmSettings struct {
	Partition string `toml:"partition" msgpack:"partition,omitempty" json:"partition,omitempty"`
	CPUs      int    `toml:"cpus" msgpack:"cpus,omitempty" json:"cpus,omitempty"` // --cpus-per-task
	Mem       string `toml:"mem" msgpack:"mem,omitempty" json:"mem,omitempty"`    // --mem, e.g. "4G"
	Gres      string `toml:"gres" msgpack:"gres,omitempty" json:"gres,omitempty"` // --gres, e.g. "gpu:1"
	// Options are further sbatch options, by long name without "--";
	// only those of SbatchOptions are accepted.
	Options map[string]string `toml:"options" msgpack:"options,omitempty" json:"options,omitempty"`
}

// SbatchOptions is the allowlist of Options: sbatch options that choose
// resources or accounting, none that runs a program, names a file or
// changes where output goes.
var SbatchOptions = []string{
	"account", "qos", "constraint", "nodes", "ntasks", "ntasks-per-node",
	"mem-per-cpu", "gpus", "gpus-per-node", "gpus-per-task", "cpus-per-gpu",
	"exclude", "nodelist", "reservation", "licenses", "comment", "wckey",
	"hint", "exclusive", "priority", "nice", "begin", "deadline", "tmp",
}

// slurmValueRe is what a Slurm setting's value may hold: no spaces,
// quotes, newlines or shell characters (they are argv, but sbatch reads
// some back from its environment and scripts).
var slurmValueRe = regexp.MustCompile(`^[A-Za-z0-9_.,:=@%+/\-\[\]]*$`)

func (ss *SlurmSettings) check(bad func(field, format string, a ...any) error) error {
	if ss == nil {
		return nil
	}
	for f, v := range map[string]string{"partition": ss.Partition, "mem": ss.Mem, "gres": ss.Gres} {
		if !slurmValueRe.MatchString(v) {
			return bad("slurm."+f, "bad value %q (letters, digits and _.,:=@%%+/-[] only)", v)
		}
	}
	if ss.CPUs < 0 {
		return bad("slurm.cpus", "must be positive (got %d)", ss.CPUs)
	}
	for k, v := range ss.Options {
		if !contains(SbatchOptions, k) {
			return bad("slurm.options", "sbatch option %q is not allowed (allowed: %s)", k, strings.Join(SbatchOptions, " "))
		}
		if !slurmValueRe.MatchString(v) {
			return bad("slurm.options."+k, "bad value %q (letters, digits and _.,:=@%%+/-[] only)", v)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// sbatchArgs are the options of the job's sbatch.
func sbatchArgs(spec *ExecSpec) []string {
	args := []string{
		"--parsable",
		"--job-name=sigoco-" + spec.JobID,
		"--chdir=" + spec.WorkDir,
		"--output=" + filepath.Join(spec.JobDir, stdoutFile),
		"--error=" + filepath.Join(spec.JobDir, stderrFile),
		"--export=ALL",
	}
	return append(args, resourceArgs(spec)...)
}

// resourceArgs are the sbatch options of the solver's resources and time
// limit.
func resourceArgs(spec *ExecSpec) []string {
	var args []string
	if spec.TimeLimit > 0 {
		// Slurm's limits are whole minutes: rounded up
		mins := int((spec.TimeLimit + time.Minute - 1) / time.Minute)
		args = append(args, fmt.Sprintf("--time=%d-%02d:%02d:00", mins/(24*60), mins/60%24, mins%60))
	}
	if s := spec.Solver; s.Checkpoint {
		args = append(args, "--requeue", fmt.Sprintf("--signal=B:USR1@%d", int(s.checkpointLead/time.Second)))
	}
	if ss := spec.Solver.Slurm; ss != nil {
		if ss.Partition != "" {
			args = append(args, "--partition="+ss.Partition)
		}
		if ss.CPUs > 0 {
			args = append(args, "--cpus-per-task="+strconv.Itoa(ss.CPUs))
		}
		if ss.Mem != "" {
			args = append(args, "--mem="+ss.Mem)
		}
		if ss.Gres != "" {
			args = append(args, "--gres="+ss.Gres)
		}
		keys := make([]string, 0, len(ss.Options))
		for k := range ss.Options {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if v := ss.Options[k]; v == "" {
				args = append(args, "--"+k)
			} else {
				args = append(args, "--"+k+"="+v)
			}
		}
	}
	return args
}

// batchScript is every job's batch script: it runs its arguments (the
// job's argv, passed to sbatch after the script) as they are. No text of
// a job's ever reaches a shell.
const batchScript = "#!/bin/sh\nexec \"$@\"\n"

const (
	batchScriptFile = "slurm.sh"
	followFile      = "slurm-follow" // offsets of stdout.log and stderr.log already logged
)

// slurmExecutor runs jobs on a Slurm cluster.
type slurmExecutor struct {
	opts SlurmOptions
	log  *slog.Logger

	mu      sync.Mutex              // guards handles, polling, kick
	handles map[string]*slurmHandle // by Slurm job id
	polling bool
	kick    chan struct{} // wakes the poller (a new job)
}

func newSlurmExecutor(opts SlurmOptions, log *slog.Logger) *slurmExecutor {
	opts.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &slurmExecutor{opts: opts, log: log, handles: map[string]*slurmHandle{}, kick: make(chan struct{}, 1)}
}

func (x *slurmExecutor) Name() string { return ExecutorSlurm }

// ErrSlurm wraps the failures of Slurm's commands.
var ErrSlurm = errors.New("jobs: slurm")

// command runs one Slurm command (bounded by 30 s) and returns its stdout.
func (x *slurmExecutor) command(ctx context.Context, env []string, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	prog := name
	if x.opts.Bin != "" {
		prog = filepath.Join(x.opts.Bin, name)
	}
	cmd := exec.CommandContext(ctx, prog, args...)
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(append([]string(nil), env...), x.opts.Env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if len(msg) > 500 {
			msg = msg[:500]
		}
		return out.Bytes(), fmt.Errorf("%w: %s: %v: %s", ErrSlurm, name, err, msg)
	}
	return out.Bytes(), nil
}

// slurmEnv is the job's environment for sbatch (exported to the job by
// --export=ALL), with trackd's SLURM_CONF so that sbatch finds the
// cluster. SBATCH_ variables of trackd's are not passed on.
func slurmEnv(env []string) []string {
	out := make([]string, 0, len(env)+1)
	has := false
	for _, kv := range env {
		if strings.HasPrefix(kv, "SBATCH_") {
			continue
		}
		has = has || strings.HasPrefix(kv, "SLURM_CONF=")
		out = append(out, kv)
	}
	if v, ok := os.LookupEnv("SLURM_CONF"); ok && !has {
		out = append(out, "SLURM_CONF="+v)
	}
	return out
}

func (x *slurmExecutor) Start(ctx context.Context, spec *ExecSpec) (Handle, error) {
	script := filepath.Join(spec.JobDir, batchScriptFile)
	if err := os.WriteFile(script, []byte(batchScript), 0o755); err != nil {
		return nil, fmt.Errorf("jobs: writing the batch script: %w", err)
	}
	// the job's earlier output files, if any, are Slurm's to create
	for _, f := range []string{stdoutFile, stderrFile, followFile} {
		os.Remove(filepath.Join(spec.JobDir, f))
	}
	args := append(sbatchArgs(spec), script)
	args = append(args, spec.Argv...)
	out, err := x.command(ctx, slurmEnv(spec.Env), "sbatch", args...)
	if err != nil {
		return nil, fmt.Errorf("submitting to Slurm: %w", err)
	}
	id, _, _ := strings.Cut(strings.TrimSpace(string(out)), ";") // "id;cluster"
	if !slurmIDRe.MatchString(id) {
		return nil, fmt.Errorf("%w: sbatch printed %q, not a job id", ErrSlurm, out)
	}
	return x.follow(id, spec, [2]int64{}), nil
}

var slurmIDRe = regexp.MustCompile(`^[0-9]+(_[0-9]+)?$`)

// Recover follows a job submitted before trackd restarted. Without its id
// (trackd died between sbatch and saving the id) the job is looked up by
// its name.
func (x *slurmExecutor) Recover(ctx context.Context, id string, spec *ExecSpec) (Handle, error) {
	if id == "" {
		out, err := x.command(ctx, nil, "squeue", "--me", "-h", "-t", "all", "--name=sigoco-"+spec.JobID, "-o", "%i")
		if err != nil {
			return nil, err
		}
		id = strings.TrimSpace(string(out))
		if id == "" || strings.Contains(id, "\n") {
			return nil, errors.New("jobs: the job was not found in Slurm (trackd stopped before its submission was recorded)")
		}
	}
	if !slurmIDRe.MatchString(id) {
		return nil, fmt.Errorf("%w: bad job id %q", ErrSlurm, id)
	}
	return x.follow(id, spec, readOffsets(spec.JobDir)), nil
}

// follow registers a submitted job with the poller.
func (x *slurmExecutor) follow(id string, spec *ExecSpec, off [2]int64) *slurmHandle {
	h := &slurmHandle{x: x, id: id, spec: spec, done: make(chan struct{}), detach: make(chan struct{})}
	h.files = [2]*fileFollower{
		{path: filepath.Join(spec.JobDir, stdoutFile), w: spec.Stdout, off: off[0]},
		{path: filepath.Join(spec.JobDir, stderrFile), w: spec.Stderr, off: off[1]},
	}
	go h.followFiles()
	x.mu.Lock()
	x.handles[id] = h
	if !x.polling {
		x.polling = true
		go x.poll()
	}
	x.mu.Unlock()
	select {
	case x.kick <- struct{}{}:
	default:
	}
	return h
}

// slurmHandle is one Slurm job.
type slurmHandle struct {
	x    *slurmExecutor
	id   string
	spec *ExecSpec

	files [2]*fileFollower // stdout, stderr

	mu    sync.Mutex // guards state, ran
	state string     // last Slurm state seen
	ran   bool       // seen running once

	requeues int // by trackd (a checkpointing job after its time limit); the poller's

	done       chan struct{} // closed once res is set and the files read
	res        ExitResult
	detach     chan struct{} // closed by Wait when its ctx ended
	detachOnce sync.Once
}

func (h *slurmHandle) ID() string { return h.id }

// Stop cancels the job (scancel: Slurm sends SIGTERM, and SIGKILL after
// the cluster's KillWait).
func (h *slurmHandle) Stop() {
	go func() {
		if _, err := h.x.command(context.Background(), nil, "scancel", h.id); err != nil {
			h.x.log.Warn("jobs: scancel", "slurm_job", h.id, "err", err)
		}
		h.x.nudge()
	}()
}

func (h *slurmHandle) Wait(ctx context.Context) ExitResult {
	select {
	case <-h.done:
		return h.res
	case <-ctx.Done():
		h.detachOnce.Do(func() { close(h.detach) })
		for _, ff := range h.files {
			ff.detach()
		}
		h.x.mu.Lock()
		delete(h.x.handles, h.id)
		h.x.mu.Unlock()
		h.x.nudge() // the poller ends when no job is left
		return ExitResult{Err: ErrDetached}
	}
}

func (x *slurmExecutor) nudge() {
	select {
	case x.kick <- struct{}{}:
	default:
	}
}

// squeueRow is one job in squeue's answer.
type squeueRow struct{ state, reason string }

// poll follows every job with one squeue per round, until no job is left.
func (x *slurmExecutor) poll() {
	interval := x.opts.PollMin
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-x.kick:
			interval = x.opts.PollMin
		}
		x.mu.Lock()
		if len(x.handles) == 0 {
			x.polling = false
			x.mu.Unlock()
			return
		}
		hs := make([]*slurmHandle, 0, len(x.handles))
		for _, h := range x.handles {
			hs = append(hs, h)
		}
		x.mu.Unlock()
		if x.round(hs) {
			interval = x.opts.PollMin
		} else {
			interval = min(2*interval, x.opts.PollMax)
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(interval)
	}
}

// round runs one squeue for hs and hands each job its state; it reports
// whether anything changed.
func (x *slurmExecutor) round(hs []*slurmHandle) bool {
	ctx := context.Background()
	ids := make([]string, len(hs))
	for i, h := range hs {
		ids[i] = h.id
	}
	rows := map[string]squeueRow{}
	// Without -j: squeue fails as a whole when one id of a -j list is
	// unknown; --me (trackd's user's jobs only) bounds the answer, and the
	// filter is ours (one call, however many jobs).
	// -r: one row per element of a job array ("12_3"), pending ones too
	out, err := x.command(ctx, nil, "squeue", "--me", "-h", "-t", "all", "-r", "-o", "%i|%T|%r")
	if err != nil {
		x.log.Warn("jobs: squeue", "err", err)
		return false
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.SplitN(strings.TrimSpace(line), "|", 3)
		if len(f) == 3 {
			rows[f[0]] = squeueRow{f[1], f[2]}
		}
	}
	// the jobs that ended first, then the others: within a round, the
	// states trackd shows never have an ended element of a throttled array
	// still running beside the one Slurm started in its place
	changed := false
	for _, ended := range []bool{true, false} {
		for _, h := range hs {
			row, ok := rows[h.id]
			if !ok {
				row = squeueRow{state: "UNKNOWN"} // forgotten by slurmctld: read the final state
			}
			if slurmFinalStates[row.state] || row.state == "UNKNOWN" || row.state == "COMPLETING" {
				if !ended {
					continue
				}
			} else if ended {
				continue
			}
			if h.update(ctx, row) {
				changed = true
			}
		}
	}
	return changed
}

// update handles one job's state; it reports a change.
func (h *slurmHandle) update(ctx context.Context, row squeueRow) bool {
	h.mu.Lock()
	prev := h.state
	h.state = row.state + "|" + row.reason
	h.mu.Unlock()
	if prev == h.state {
		return false
	}
	h.x.log.Debug("jobs: Slurm job state", "slurm_job", h.id, "state", row.state, "reason", row.reason)
	switch row.state {
	case "PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD":
		if h.spec.Waiting != nil {
			h.spec.Waiting(row.reason)
		}
		return true
	case "RUNNING", "COMPLETING", "SUSPENDED", "STOPPED", "SIGNALING", "RESIZING", "STAGE_OUT":
		h.mu.Lock()
		h.ran = true
		h.mu.Unlock()
		if h.spec.Running != nil {
			h.spec.Running()
		}
		return true
	}
	// a final state (or none: the job left squeue's list)
	fin, err := h.x.final(ctx, h.id)
	if err != nil {
		h.x.log.Warn("jobs: reading a finished Slurm job", "slurm_job", h.id, "err", err)
		h.mu.Lock()
		h.state = "" // try again next round
		h.mu.Unlock()
		return false
	}
	if !slurmFinalStates[fin.state] {
		// squeue raced it (COMPLETING), or squeue --me did not list it:
		// not final yet; read again next round
		h.mu.Lock()
		h.state = ""
		h.mu.Unlock()
		return false
	}
	if fin.state == "TIMEOUT" && h.spec.Solver.Checkpoint && h.requeues < h.spec.Solver.MaxRestarts {
		// a checkpointing job: Slurm does not requeue a timed-out job
		// itself; trackd does, and follows it on (PENDING again)
		if _, err := h.x.command(ctx, nil, "scontrol", "requeue", h.id); err == nil {
			h.requeues++
			h.x.log.Info("jobs: requeued a checkpointing job after its time limit", "slurm_job", h.id, "restart", h.requeues)
			return true
		} else {
			h.x.log.Warn("jobs: requeuing a timed-out job", "slurm_job", h.id, "err", err)
		}
	}
	h.x.log.Debug("jobs: Slurm job ended", "slurm_job", h.id, "state", fin.state, "reason", fin.reason, "exit", fin.code, "signal", fin.signal)
	h.end(fin)
	return true
}

// slurmFinalStates are the states a job ends in.
var slurmFinalStates = map[string]bool{
	"COMPLETED": true, "FAILED": true, "CANCELLED": true, "TIMEOUT": true, "NODE_FAIL": true,
	"OUT_OF_MEMORY": true, "PREEMPTED": true, "BOOT_FAIL": true, "DEADLINE": true,
	"SPECIAL_EXIT": true, "REVOKED": true,
}

// slurmFinal is a finished job as scontrol or the jobcomp file tell it.
type slurmFinal struct {
	state, reason, timeLimit string
	code, signal             int
}

// final reads a job's final state: scontrol show job, else sacct -c (the
// job completion file), else sacct (accounting).
func (x *slurmExecutor) final(ctx context.Context, id string) (slurmFinal, error) {
	var f slurmFinal
	out, err := x.command(ctx, nil, "scontrol", "show", "job", "-o", id)
	if err == nil {
		for _, kv := range strings.Fields(string(out)) {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "JobState":
				f.state = v
			case "Reason":
				f.reason = v
			case "TimeLimit":
				f.timeLimit = v
			case "ExitCode":
				f.code, f.signal = parseExit(v)
			}
		}
		if f.state != "" {
			return f, nil
		}
	}
	for _, args := range [][]string{
		{"-c", "-n", "-P", "-j", id, "-o", "State,ExitCode"}, // the job completion file
		{"-n", "-P", "-X", "-j", id, "-o", "State,ExitCode"}, // accounting (slurmdbd)
	} {
		out, err2 := x.command(ctx, nil, "sacct", args...)
		if err2 != nil {
			continue
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			st, ec, ok := strings.Cut(strings.TrimSpace(line), "|")
			if !ok || st == "" {
				continue
			}
			f.state, _, _ = strings.Cut(st, " ") // "CANCELLED by 0"
			f.code, f.signal = parseExit(ec)
			return f, nil
		}
	}
	if err == nil {
		err = errors.New("no state")
	}
	return f, fmt.Errorf("%w: job %s: not in scontrol, nor sacct: %v", ErrSlurm, id, err)
}

// parseExit reads Slurm's "code:signal".
func parseExit(v string) (code, sig int) {
	c, s, _ := strings.Cut(v, ":")
	code, _ = strconv.Atoi(c)
	sig, _ = strconv.Atoi(s)
	return code, sig
}

// end makes the job's result from its final Slurm state.
func (h *slurmHandle) end(f slurmFinal) {
	var res ExitResult
	if f.signal != 0 {
		res.Signal = fmt.Sprintf("signal %d", f.signal)
	} else {
		c := f.code
		res.ExitCode = &c
	}
	switch f.state {
	case "COMPLETED":
		if f.code != 0 {
			res.Err = fmt.Errorf("exit status %d", f.code)
		}
	case "FAILED":
		res.Err = fmt.Errorf("Slurm: FAILED (%s)", f.reason)
	case "CANCELLED":
		res.Cancelled, res.CancelReason = true, "Slurm: CANCELLED (scancel outside trackd)"
	case "TIMEOUT":
		res.Failure = "Slurm: TIMEOUT (time limit " + f.timeLimit + " exceeded)"
		if f.timeLimit == "" {
			res.Failure = "Slurm: TIMEOUT (time limit exceeded)"
		}
	case "NODE_FAIL":
		res.Failure = "Slurm: NODE_FAIL (a node of the job failed)"
	case "OUT_OF_MEMORY":
		res.Failure = "Slurm: OUT_OF_MEMORY (the job exceeded its memory)"
	default: // PREEMPTED, BOOT_FAIL, DEADLINE, SPECIAL_EXIT, REVOKED, …
		res.Failure = "Slurm: " + f.state
		if f.reason != "" && f.reason != "None" {
			res.Failure += " (" + f.reason + ")"
		}
	}
	h.x.mu.Lock()
	delete(h.x.handles, h.id)
	h.x.mu.Unlock()
	if h.spec.Running != nil && f.state != "CANCELLED" {
		h.spec.Running() // it ran, if faster than a round (no-op when seen running)
	}
	h.res = res
	// the last output: read the files to their end before the result
	for _, ff := range h.files {
		ff.stop()
	}
	close(h.done)
}

// followFiles reads the job's output files as they grow, until the job
// ended (then to their end) or Wait detached.
func (h *slurmHandle) followFiles() {
	t := time.NewTicker(h.x.opts.FollowEvery)
	defer t.Stop()
	for {
		select {
		case <-h.detach:
			return
		case <-t.C:
		}
		h.mu.Lock()
		waiting := !h.ran && strings.HasPrefix(h.state, "PENDING|")
		h.mu.Unlock()
		if !waiting { // a job that never ran (an array's queued elements) has no output yet
			h.read()
		}
		select {
		case <-h.done:
			return
		default:
		}
	}
}

// read reads what the files gained, and records the offsets.
func (h *slurmHandle) read() {
	moved := false
	for _, ff := range h.files {
		if ff.read() {
			moved = true
		}
	}
	if moved {
		b := fmt.Appendf(nil, "%d %d\n", h.files[0].offset(), h.files[1].offset())
		os.WriteFile(filepath.Join(h.spec.JobDir, followFile), b, 0o644)
	}
}

// readOffsets reads what followFiles recorded (zeros if nothing).
func readOffsets(dir string) (off [2]int64) {
	b, err := os.ReadFile(filepath.Join(dir, followFile))
	if err != nil {
		return off
	}
	f := strings.Fields(string(b))
	for i := 0; i < 2 && i < len(f); i++ {
		off[i], _ = strconv.ParseInt(f[i], 10, 64)
	}
	return off
}

// fileFollower reads one output file of a Slurm job from where it was.
type fileFollower struct {
	path string
	w    io.Writer

	mu       sync.Mutex // guards off, detached; serialises reads
	off      int64
	detached bool // Wait gave up: w belongs to a caller that closed it
}

// detach stops every later read from writing to w, waiting for one in
// progress: after Wait detached, the caller closes w while the poller may
// still be ending the job.
func (f *fileFollower) detach() {
	f.mu.Lock()
	f.detached = true
	f.mu.Unlock()
}

func (f *fileFollower) offset() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.off
}

// read hands w what the file gained since the last read; a link in the
// file's place is not followed.
func (f *fileFollower) read() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.detached {
		return false
	}
	fd, err := os.OpenFile(f.path, os.O_RDONLY|openNoFollow|openNonblock, 0)
	if err != nil {
		return false // not created yet
	}
	defer fd.Close()
	fi, err := fd.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	if fi.Size() < f.off {
		f.off = 0 // made again (a requeued job): from its start
	}
	if fi.Size() == f.off {
		return false
	}
	if _, err := fd.Seek(f.off, io.SeekStart); err != nil {
		return false
	}
	n, _ := io.Copy(f.w, fd)
	f.off += n
	return n > 0
}

// stop reads the file to its end, a last time.
func (f *fileFollower) stop() { f.read() }

// Job arrays (a sweep, sweep.go). One sbatch --array submits every
// element; the fixed script arrayScript runs element
// $SLURM_ARRAY_TASK_ID's argv in its environment, both read from files
// trackd wrote in the element's job directory (arrayArgvFile,
// arrayEnvFile, encoded by arrayEntries), never through a shell's
// parsing. The sweep's directory holds array/N, a link to element N's
// job directory (written by trackd, relative), so that Slurm's
// --output=…/array/%a/stdout.log lands in the element's own directory and
// it is followed, logged and recovered as any Slurm job.

const (
	arrayScriptFile = "slurm-array.sh"
	arrayDirName    = "array"
	arrayArgvFile   = "slurm-argv"
	arrayEnvFile    = "slurm-env"
)

// arrayScript reads entries (a line count, then that many lines) with
// read -r and an empty IFS: the bytes are taken as they are.
const arrayScript = `#!/bin/sh
# A sigoco job array's element (trackd wrote it; see track/jobs/slurm.go).
d="$1/$SLURM_ARRAY_TASK_ID"
entry() {
	IFS= read -r n <&3 || return 1
	v=
	i=0
	while [ "$i" -lt "$n" ]; do
		IFS= read -r l <&3 || exit 127
		if [ "$i" -eq 0 ]; then v=$l; else v="$v
$l"; fi
		i=$((i + 1))
	done
}
exec 3<"$d/` + arrayEnvFile + `" || exit 127
while entry; do export "$v" || exit 127; done
exec 3<"$d/` + arrayArgvFile + `" || exit 127
set --
while entry; do set -- "$@" "$v"; done
exec 3<&-
cd "$SIGOCO_JOB_WORKDIR" || exit 127
exec "$@"
`

// StartArray implements arrayStarter.
func (x *slurmExecutor) StartArray(ctx context.Context, dir string, specs []*ExecSpec, idx []int, throttle int) (string, []Handle, error) {
	if len(specs) == 0 || len(specs) != len(idx) {
		return "", nil, fmt.Errorf("%w: an array of %d specs and %d indices", ErrSlurm, len(specs), len(idx))
	}
	arr := filepath.Join(dir, arrayDirName)
	if err := os.MkdirAll(arr, 0o755); err != nil {
		return "", nil, fmt.Errorf("jobs: %w", err)
	}
	script := filepath.Join(dir, arrayScriptFile)
	if err := os.WriteFile(script, []byte(arrayScript), 0o755); err != nil {
		return "", nil, fmt.Errorf("jobs: writing the batch script: %w", err)
	}
	for k, spec := range specs {
		argv, err := arrayEntries(spec.Argv)
		if err != nil {
			return "", nil, err
		}
		env, err := arrayEntries(spec.Env)
		if err != nil {
			return "", nil, err
		}
		for _, f := range []string{stdoutFile, stderrFile, followFile} {
			os.Remove(filepath.Join(spec.JobDir, f))
		}
		if err := os.WriteFile(filepath.Join(spec.JobDir, arrayArgvFile), argv, 0o644); err != nil {
			return "", nil, fmt.Errorf("jobs: %w", err)
		}
		if err := os.WriteFile(filepath.Join(spec.JobDir, arrayEnvFile), env, 0o644); err != nil {
			return "", nil, fmt.Errorf("jobs: %w", err)
		}
		target, err := filepath.Rel(arr, spec.JobDir)
		if err != nil {
			return "", nil, fmt.Errorf("jobs: %w", err)
		}
		slot := filepath.Join(arr, strconv.Itoa(idx[k]))
		os.Remove(slot)
		if err := os.Symlink(target, slot); err != nil {
			return "", nil, fmt.Errorf("jobs: %w", err)
		}
	}
	list := arrayIndices(idx)
	if throttle > 0 {
		list += "%" + strconv.Itoa(throttle)
	}
	args := []string{
		"--parsable",
		"--job-name=sigoco-" + filepath.Base(dir),
		"--chdir=" + arr,
		"--output=" + filepath.Join(arr, "%a", stdoutFile),
		"--error=" + filepath.Join(arr, "%a", stderrFile),
		"--export=ALL",
		"--array=" + list,
	}
	args = append(args, resourceArgs(specs[0])...)
	args = append(args, script, arr)
	out, err := x.command(ctx, slurmEnv(specs[0].Env), "sbatch", args...)
	if err != nil {
		return "", nil, fmt.Errorf("submitting to Slurm: %w", err)
	}
	id, _, _ := strings.Cut(strings.TrimSpace(string(out)), ";")
	if !slurmArrayIDRe.MatchString(id) {
		return "", nil, fmt.Errorf("%w: sbatch printed %q, not a job id", ErrSlurm, out)
	}
	hs := make([]Handle, len(specs))
	for k, spec := range specs {
		hs[k] = x.follow(id+"_"+strconv.Itoa(idx[k]), spec, [2]int64{})
	}
	return id, hs, nil
}

var slurmArrayIDRe = regexp.MustCompile(`^[0-9]+$`)

// CancelArray implements arrayStarter: one scancel for every element.
func (x *slurmExecutor) CancelArray(ctx context.Context, id string) error {
	if !slurmArrayIDRe.MatchString(id) {
		return fmt.Errorf("%w: bad array id %q", ErrSlurm, id)
	}
	_, err := x.command(ctx, nil, "scancel", id)
	x.nudge()
	return err
}
