package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/wire/auth"
)

// Environment variables a solver gets (besides SIGOCO_TRACK_ADDR, and
// SIGOCO_TRACK_RUN for a solver with track = true).
const (
	EnvJobID   = "SIGOCO_JOB_ID"      // the job's id (= its run's id)
	EnvWorkdir = "SIGOCO_JOB_WORKDIR" // the work directory (also the process's current directory)
	EnvInputs  = "SIGOCO_JOB_INPUTS"  // path of inputs.json
	EnvOutputs = "SIGOCO_JOB_OUTPUTS" // path of outputs.json (to be written by the solver)
	// EnvCheckpointSignal names the signal a checkpointing solver gets
	// ahead of its time limit ("USR1"; Slurm only).
	EnvCheckpointSignal = "SIGOCO_JOB_CHECKPOINT_SIGNAL"
)

// WaitStarting is the WaitReason of a local job whose process is being
// started (it has a slot; STARTED is stored once the process runs).
const WaitStarting = "starting the process"

// Files in a job's directories.
const (
	InputsFile  = "inputs.json"
	OutputsFile = "outputs.json"
	stdoutFile  = "stdout.log"
	stderrFile  = "stderr.log"
	workDirName = "work"
)

// active is a started job that is not final yet.
type active struct {
	m      *Manager
	solver *Solver
	done   chan struct{} // closed when the job is final and saved
	// adopted: followed again after a restart (Recover), so its process
	// already holds its environment and no credential is minted.
	adopted bool
	// ctx ends with the manager, or when the job's lease was lost (lost
	// set: another node took the job over, leases.go); then the job is
	// left to that node, and nothing more of it is written here.
	ctx    context.Context
	cancel context.CancelFunc
	lost   atomic.Bool

	mu        sync.Mutex // guards job, stopCause, handle, tail
	job       Job
	stopCause error         // why a stop was requested (nil: none)
	handle    Handle        // the started job; nil before
	stopCh    chan struct{} // closed by the first requestStop
	tail      []string      // last stderr lines (ring of StderrTail)

	// wmu serialises the job's store writes; it guards saved, seq,
	// lastWrite, logs, lastLogFlush.
	wmu          sync.Mutex
	saved        State
	seq          int64 // the run's highest record number, 0: unknown (read it)
	lastWrite    time.Time
	logs         []store.LogEntry
	lastLogFlush time.Time

	fmu sync.Mutex // serialises flushLogs, so that batches are stored in order
}

func newActive(m *Manager, s *Solver, j *Job) *active {
	a := &active{m: m, solver: s, job: *j, saved: j.State, done: make(chan struct{}), stopCh: make(chan struct{})}
	a.ctx, a.cancel = context.WithCancel(m.ctx)
	return a
}

// lose leaves the job to the node that took it over: its process (a local
// one) is killed, a Slurm job is no longer followed here.
func (a *active) lose() {
	a.lost.Store(true)
	a.cancel()
}

// requestStop asks the job to end with cause (once).
func (a *active) requestStop(cause error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopCause != nil {
		return
	}
	a.stopCause = cause
	close(a.stopCh)
	if a.handle != nil {
		a.handle.Stop()
	}
}

// save writes the job record (under wmu).
func (a *active) save(ctx context.Context) {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	a.saveLocked(ctx)
}

func (a *active) saveLocked(ctx context.Context) {
	if a.lost.Load() {
		return
	}
	a.mu.Lock()
	j := a.job.clone()
	a.mu.Unlock()
	if err := a.m.saveJob(ctx, &j, a.saved); err != nil {
		a.m.log.Warn("jobs: saving a job", "job", j.ID, "err", err)
		return
	}
	a.saved = j.State
	a.lastWrite = time.Now()
}

// runRecords writes sequenced records to the job's run (under wmu).
func (a *active) runRecordsLocked(ctx context.Context, recs ...store.Record) {
	if a.lost.Load() {
		return
	}
	seq, err := a.m.ingest(ctx, a.job.ID, a.seq, recs)
	if err != nil {
		a.m.log.Warn("jobs: writing a job's run", "job", a.job.ID, "err", err)
		a.seq = 0
		return
	}
	a.seq = seq
}

// run waits for a slot, runs the process and records the outcome.
func (a *active) run() {
	m := a.m
	defer close(a.done)
	defer m.finished(a)
	ctx := context.Background() // store writes outlive a Close in progress
	if m.executorOf(a.solver).Name() != ExecutorLocal {
		a.execute(ctx) // the cluster queues it: no slot of ours
		return
	}
	select {
	case m.slots <- struct{}{}:
	case <-a.stopCh:
		a.finish(ctx, StateAborted, "stopped before it ran", nil)
		return
	case <-a.ctx.Done():
		a.finish(ctx, StateAborted, "trackd shut down before the job ran", nil)
		return
	}
	defer func() { <-m.slots }()
	a.execute(ctx)
}

var errTimeLimit = errors.New("time limit exceeded")

var errShutdown = errors.New("trackd shut down")

// execute runs the job through its executor and records the outcome.
func (a *active) execute(ctx context.Context) {
	m := a.m
	ex := m.executorOf(a.solver)
	spec, outW, errW, closeFiles, err := a.spec(ctx, ex)
	if err != nil {
		a.finish(ctx, StateFailed, err.Error(), nil)
		return
	}
	defer closeFiles()
	a.mu.Lock()
	if a.stopCause != nil {
		a.mu.Unlock()
		a.finish(ctx, StateAborted, "stopped before it ran", nil)
		return
	}
	if ex.Name() == ExecutorLocal {
		// Stored before the process starts: a trackd killed before
		// running() stored STARTED leaves a true reason (recover).
		a.job.WaitReason = WaitStarting
		a.mu.Unlock()
		a.save(ctx)
	} else {
		a.mu.Unlock()
	}
	h, err := ex.Start(a.ctx, spec)
	if err != nil {
		a.finish(ctx, StateFailed, err.Error(), nil)
		return
	}
	a.follow(ctx, h, outW, errW)
}

// follow waits for a started (or recovered) job and records its outcome.
func (a *active) follow(ctx context.Context, h Handle, outW, errW *lineWriter) {
	m, s := a.m, a.solver
	a.mu.Lock()
	a.handle = h
	stop := a.stopCause != nil
	if id := h.ID(); id != "" && a.job.ExecutorID != id {
		a.job.ExecutorID = id
		a.mu.Unlock()
		a.save(ctx)
	} else {
		a.mu.Unlock()
	}
	if stop {
		h.Stop()
	}
	// lines wait in a.logs until the next line or 250 ms: a job quiet
	// after a line still gets it stored
	flushed := make(chan struct{})
	flusher := time.NewTicker(250 * time.Millisecond)
	go func() {
		defer flusher.Stop()
		for {
			select {
			case <-flushed:
				return
			case <-flusher.C:
				a.flushLogs(ctx)
			}
		}
	}()
	res := h.Wait(a.ctx)
	close(flushed)
	outW.close()
	errW.close()
	a.flushLogs(ctx)
	if errors.Is(res.Err, ErrDetached) || a.lost.Load() {
		return // still running on the cluster: the next New, or another node, follows it
	}
	if s.Track {
		a.wmu.Lock()
		a.seq = 0 // the solver wrote records: read the run's number again
		a.wmu.Unlock()
	}
	a.mu.Lock()
	a.job.ExitCode, a.job.Signal = res.ExitCode, res.Signal
	stopCause := a.stopCause
	a.mu.Unlock()
	switch {
	case res.Cancelled && errors.Is(stopCause, errStopped):
		a.finish(ctx, StateAborted, errStopped.Error(), nil)
	case res.Failure != "":
		a.finish(ctx, StateFailed, res.Failure, nil)
	case res.Cancelled:
		a.finish(ctx, StateAborted, res.CancelReason, nil)
	case res.Err != nil:
		reason := res.Err.Error()
		if res.ExitCode != nil {
			reason = fmt.Sprintf("exit status %d", *res.ExitCode)
		} else if res.Signal != "" {
			reason = "killed by signal " + res.Signal
		}
		a.finish(ctx, StateFailed, reason, nil)
	default:
		outs, recs, err := a.collect(ctx)
		if err != nil {
			a.finish(ctx, StateFailed, "outputs: "+err.Error(), nil)
			return
		}
		a.mu.Lock()
		a.job.Outputs, a.job.Progress = outs, 100
		a.mu.Unlock()
		a.finish(ctx, StateSuccess, "", recs)
		if s.Workdir == WorkdirClean {
			if work, err := m.jobPath(a.job.ID, workDirName); err == nil {
				os.RemoveAll(work)
			}
		}
	}
}

// spec prepares the job's directory and describes the job to ex. The
// returned closer closes the files the job writes through trackd.
func (a *active) spec(ctx context.Context, ex Executor) (_ *ExecSpec, outW, errW *lineWriter, closer func(), err error) {
	m := a.m
	work, err := m.jobPath(a.job.ID, workDirName)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	dir, err := m.jobPath(a.job.ID)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	argv, err := a.prepare(ctx, work)
	if err != nil {
		return nil, nil, nil, nil, errors.New("preparing the job: " + err.Error())
	}
	spec, outW, errW, closer, err := a.specFor(ex, work, dir)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	spec.Argv = argv
	return spec, outW, errW, closer, nil
}

// specFor describes the job to ex, for Start or Recover.
func (a *active) specFor(ex Executor, work, dir string) (_ *ExecSpec, outW, errW *lineWriter, closer func(), err error) {
	m, s := a.m, a.solver
	outW = &lineWriter{a: a, stream: "stdout"}
	errW = &lineWriter{a: a, stream: "stderr"}
	closer = func() {}
	if ex.Name() == ExecutorLocal {
		// a local process writes the log files through trackd
		stdout, err := m.createJobFile(a.job.ID, stdoutFile)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		stderr, err := m.createJobFile(a.job.ID, stderrFile)
		if err != nil {
			stdout.Close()
			return nil, nil, nil, nil, err
		}
		outW.file, errW.file = stdout, stderr
		closer = func() { stdout.Close(); stderr.Close() }
	}
	spec := &ExecSpec{
		JobID: a.job.ID, Env: a.env(work, ex.Name()), WorkDir: work, JobDir: dir,
		TimeLimit: s.timeLimit, Grace: s.grace, Stdout: outW, Stderr: errW, Solver: s,
		Running: a.running, Waiting: a.waiting,
	}
	return spec, outW, errW, closer, nil
}

// running records that the job's process runs (again, after a requeue).
func (a *active) running() {
	ctx := context.Background()
	a.mu.Lock()
	if a.job.State == StateStarted && !a.job.Queued {
		a.mu.Unlock()
		return
	}
	first := a.job.State != StateStarted
	a.job.State, a.job.Queued, a.job.WaitReason = StateStarted, false, ""
	if a.job.Started.IsZero() {
		a.job.Started = now()
	}
	a.mu.Unlock()
	a.wmu.Lock()
	a.saveLocked(ctx)
	if first && !a.solver.Track {
		a.runRecordsLocked(ctx, store.Record{Kind: store.KindStatus, Key: string(store.StatusRunning)})
	}
	a.wmu.Unlock()
}

// waiting records that the job waits in its executor's queue, and why. A
// job that ran and waits again was requeued (Slurm: scontrol requeue, a
// node failure): it stays STARTED, queued, and its Restarts count.
func (a *active) waiting(reason string) {
	a.mu.Lock()
	if a.job.WaitReason == reason && a.job.Queued {
		a.mu.Unlock()
		return
	}
	if a.job.State == StateStarted && !a.job.Queued {
		a.job.Restarts++
	}
	a.job.Queued, a.job.WaitReason = true, reason
	a.mu.Unlock()
	a.save(context.Background())
}

// finish makes the job final: it writes the run's records (extra first,
// then progress and status) and the job record, and only then shows the
// job final to inspect, so that whoever sees it final finds it stored.
func (a *active) finish(ctx context.Context, st State, reason string, extra []store.Record) {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	if a.lost.Load() {
		return // another node took the job over: it records the end
	}
	a.mu.Lock()
	j := a.job.clone()
	a.mu.Unlock()
	j.State, j.Queued, j.Reason, j.Stopped, j.WaitReason = st, false, reason, now(), ""
	if st == StateFailed {
		a.mu.Lock()
		j.StderrTail = append([]string(nil), a.tail...)
		a.mu.Unlock()
	}
	if a.solver.Track {
		// the inputs as params, now that the solver's client is done
		// numbering records (see create)
		var params []store.Record
		for i := range a.solver.Inputs {
			if v, ok := j.Inputs[a.solver.Inputs[i].Key]; ok {
				params = append(params, store.Record{Kind: store.KindParam, Key: a.solver.Inputs[i].Key, Value: v})
			}
		}
		extra = append(params, extra...)
	}
	if !a.solver.Track || st == StateSuccess {
		extra = append(extra, store.Record{Kind: store.KindProgress, Value: j.Progress})
	}
	recs := append(extra, store.Record{Kind: store.KindStatus, Key: string(st.runStatus()), Value: reason})
	a.runRecordsLocked(ctx, recs...)
	if err := a.m.saveJob(ctx, &j, a.saved); err != nil {
		a.m.log.Warn("jobs: saving a job", "job", j.ID, "err", err)
	}
	a.saved = st
	a.mu.Lock()
	a.job = j
	a.mu.Unlock()
}

// prepare makes the work directory (file inputs under their names,
// inputs.json) and returns the argv.
func (a *active) prepare(ctx context.Context, work string) ([]string, error) {
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	s := a.solver
	doc := map[string]any{}
	args := map[string]string{}
	for i := range s.Inputs {
		p := &s.Inputs[i]
		v, ok := a.job.Inputs[p.Key]
		if !ok {
			continue
		}
		if p.Type == TypeFile {
			ref, err := fileRef(v)
			if err != nil {
				return nil, fmt.Errorf("input %q: %w", p.Key, err)
			}
			path := filepath.Join(work, p.FileName())
			if err := copyBlob(ctx, a.m.st, ref.Sha256, path); err != nil {
				return nil, fmt.Errorf("input %q: %w", p.Key, err)
			}
			doc[p.Key] = p.FileName()
			args[p.Key] = path
			continue
		}
		doc[p.Key] = v
		args[p.Key] = formatValue(v)
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(work, InputsFile), b, 0o644); err != nil {
		return nil, err
	}
	vars := map[string]string{
		"workdir":      work,
		"inputs_file":  filepath.Join(work, InputsFile),
		"outputs_file": filepath.Join(work, OutputsFile),
		"job_id":       a.job.ID,
		"config_dir":   s.configDir,
		"trackd":       selfExe(),
	}
	var argv []string
	for i, t := range s.Command {
		if m := placeholderRe.FindStringSubmatch(t); m != nil && m[0] == t && strings.HasPrefix(m[1], "input:") {
			if _, ok := args[m[1][len("input:"):]]; !ok {
				continue // an optional input not given: the argument is left out
			}
		}
		arg := placeholderRe.ReplaceAllStringFunc(t, func(ph string) string {
			name := ph[1 : len(ph)-1]
			if k, ok := strings.CutPrefix(name, "input:"); ok {
				return args[k]
			}
			return vars[name]
		})
		if i == 0 && !filepath.IsAbs(arg) && strings.ContainsRune(arg, filepath.Separator) && s.configDir != "" {
			arg = filepath.Join(s.configDir, arg)
		}
		argv = append(argv, arg)
	}
	if len(argv) == 0 {
		return nil, errors.New("empty command")
	}
	return argv, nil
}

func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

// env is the child's environment.
func (a *active) env(work, executor string) []string {
	s := a.solver
	var env []string
	if s.CleanEnv {
		for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
			if v, ok := os.LookupEnv(k); ok {
				env = append(env, k+"="+v)
			}
		}
	} else {
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "SIGOCO_") {
				env = append(env, kv)
			}
		}
	}
	for k, v := range s.Env {
		env = append(env, k+"="+v)
	}
	addr := a.m.opts.Addr
	if executor != ExecutorLocal && a.m.opts.PublicAddr != "" {
		addr = a.m.opts.PublicAddr
	}
	env = append(env,
		track.EnvAddr+"="+addr,
		EnvJobID+"="+a.job.ID,
		EnvWorkdir+"="+work,
		EnvInputs+"="+filepath.Join(work, InputsFile),
		EnvOutputs+"="+filepath.Join(work, OutputsFile),
	)
	if s.Track {
		env = append(env, track.EnvRun+"="+a.job.ID)
		if (s.Checkpoint && executor == ExecutorSlurm) || a.job.Parent != "" {
			// a requeued job goes on with its run; a sweep's element
			// numbers its records after its parent record (newJob)
			env = append(env, track.EnvResume+"=1")
		}
	}
	if s.Checkpoint && executor == ExecutorSlurm {
		env = append(env, EnvCheckpointSignal+"=USR1")
	}
	minter, mints := a.m.rec.(CredentialMinter)
	switch {
	case mints && a.adopted:
	case mints:
		// Its own run's write credential, nothing more (docs/security.md).
		cred, err := minter.RunCredential(a.m.ctx, a.job.ID)
		if err != nil {
			a.m.log.Warn("jobs: minting the run credential of a job", "job", a.job.ID, "err", err)
			break
		}
		env = append(env, track.EnvRunCredential+"="+cred)
	case a.m.opts.Token != "":
		env = append(env, auth.EnvToken+"="+a.m.opts.Token)
	}
	return env
}

// maxLine bounds one line of stdout or stderr kept as a log record (the
// files keep everything).
const maxLine = 16 << 10

var progressRe = regexp.MustCompile(`\[PROGRESS\]\s*(\d+(?:\.\d+)?)\s*(?:/\s*(\d+(?:\.\d+)?)|%)`)

// lineWriter is a process's stdout or stderr: it keeps the bytes in a
// file (if file is set) and turns each line into a log record of the run; on stdout
// [PROGRESS] n/m (or n%) sets the progress. exec's copying goroutine is
// its only writer.
type lineWriter struct {
	a      *active
	file   *os.File
	stream string
	buf    []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	if w.file != nil {
		if _, err := w.file.Write(p); err != nil {
			return 0, err
		}
	}
	w.buf = append(w.buf, p...)
	start := 0
	for {
		i := bytes.IndexByte(w.buf[start:], '\n')
		if i < 0 {
			if len(w.buf)-start > maxLine {
				w.line(string(w.buf[start : start+maxLine]))
				start += maxLine
				continue
			}
			break
		}
		w.line(strings.TrimRight(string(w.buf[start:start+i]), "\r"))
		start += i + 1
	}
	w.buf = append(w.buf[:0], w.buf[start:]...)
	return len(p), nil
}

func (w *lineWriter) close() {
	if len(w.buf) > 0 {
		w.line(string(w.buf))
		w.buf = nil
	}
}

var _ io.Writer = (*lineWriter)(nil)

func (w *lineWriter) line(s string) {
	if len(s) > maxLine {
		s = s[:maxLine]
	}
	a := w.a
	level := 0 // slog.LevelInfo
	if w.stream == "stderr" {
		level = 4 // slog.LevelWarn
		a.mu.Lock()
		a.tail = append(a.tail, s)
		if n := a.m.opts.StderrTail; len(a.tail) > n {
			a.tail = append(a.tail[:0], a.tail[len(a.tail)-n:]...)
		}
		a.mu.Unlock()
	}
	a.wmu.Lock()
	e := store.LogEntry{Run: a.job.ID, Level: level, Logger: w.stream, Message: s}
	e.Time = store.Now()
	a.logs = append(a.logs, e)
	flush := len(a.logs) >= 200 || time.Since(a.lastLogFlush) > 250*time.Millisecond
	a.wmu.Unlock()
	if w.stream == "stdout" {
		if m := progressRe.FindStringSubmatch(s); m != nil {
			a.progress(m)
		}
	}
	if flush {
		a.flushLogs(context.Background())
	}
}

func (a *active) progress(m []string) {
	n, _ := strconv.ParseFloat(m[1], 64)
	p := n
	if m[2] != "" {
		d, _ := strconv.ParseFloat(m[2], 64)
		if d <= 0 {
			return
		}
		p = 100 * n / d
	}
	p = min(max(p, 0), 100)
	a.mu.Lock()
	a.job.Progress = p
	a.mu.Unlock()
	a.wmu.Lock()
	defer a.wmu.Unlock()
	if time.Since(a.lastWrite) < 200*time.Millisecond && p < 100 {
		return // coalesced: the final save carries the last value
	}
	if !a.solver.Track {
		a.runRecordsLocked(context.Background(), store.Record{Kind: store.KindProgress, Value: p})
	}
	a.saveLocked(context.Background())
}

func (a *active) flushLogs(ctx context.Context) {
	a.fmu.Lock()
	defer a.fmu.Unlock()
	a.wmu.Lock()
	logs := a.logs
	a.logs = nil
	a.lastLogFlush = time.Now()
	a.wmu.Unlock()
	if len(logs) == 0 {
		return
	}
	if _, err := a.m.rec.AppendLogs(ctx, logs); err != nil {
		a.m.log.Warn("jobs: storing a job's output lines", "job", a.job.ID, "err", err)
	}
}

// selfExe is the running program's path ({trackd} in a command).
func selfExe() string {
	p, err := os.Executable()
	if err != nil {
		return os.Args[0]
	}
	return p
}
