package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
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
)

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

	mu        sync.Mutex // guards job, stopCause, cancel, tail
	job       Job
	stopCause error                   // why a stop was requested (nil: none)
	cancel    context.CancelCauseFunc // ends the process; nil before it starts
	stopCh    chan struct{}           // closed by the first requestStop
	tail      []string                // last stderr lines (ring of StderrTail)

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
	return &active{m: m, solver: s, job: *j, saved: j.State, done: make(chan struct{}), stopCh: make(chan struct{})}
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
	if a.cancel != nil {
		a.cancel(cause)
	}
}

// save writes the job record (under wmu).
func (a *active) save(ctx context.Context) {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	a.saveLocked(ctx)
}

func (a *active) saveLocked(ctx context.Context) {
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
	select {
	case m.slots <- struct{}{}:
	case <-a.stopCh:
		a.finish(ctx, StateAborted, "stopped before it ran", nil)
		return
	case <-m.ctx.Done():
		a.finish(ctx, StateAborted, "trackd shut down before the job ran", nil)
		return
	}
	defer func() { <-m.slots }()
	a.execute(ctx)
}

var errTimeLimit = errors.New("time limit exceeded")

// outputGrace is how long the output of a job is read after its process
// ended (processes it started may hold its stdout).
const outputGrace = 5 * time.Second

var errShutdown = errors.New("trackd shut down")

func (a *active) execute(ctx context.Context) {
	m, s := a.m, a.solver
	work, err := m.jobPath(a.job.ID, workDirName)
	if err != nil {
		a.finish(ctx, StateFailed, err.Error(), nil)
		return
	}
	argv, err := a.prepare(ctx, work)
	if err != nil {
		a.finish(ctx, StateFailed, "preparing the job: "+err.Error(), nil)
		return
	}
	stdout, err := m.createJobFile(a.job.ID, stdoutFile)
	if err != nil {
		a.finish(ctx, StateFailed, err.Error(), nil)
		return
	}
	defer stdout.Close()
	stderr, err := m.createJobFile(a.job.ID, stderrFile)
	if err != nil {
		a.finish(ctx, StateFailed, err.Error(), nil)
		return
	}
	defer stderr.Close()

	// The thread that starts the process stays this goroutine's until the
	// process is reaped: on Linux the process is killed when that thread
	// ends (Pdeathsig), which must then mean that trackd died.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pctx, cancel := context.WithCancelCause(m.ctx)
	defer cancel(nil)
	if s.timeLimit > 0 {
		var c2 context.CancelFunc
		pctx, c2 = context.WithTimeoutCause(pctx, s.timeLimit, fmt.Errorf("%w (%s)", errTimeLimit, s.timeLimit))
		defer c2()
	}
	cmd := exec.CommandContext(pctx, argv[0], argv[1:]...)
	cmd.Dir = work
	cmd.Env = a.env(work)
	// The pipes are ours, read by our goroutines: exec's WaitDelay would
	// cut the copy short when storing the lines is slow.
	outR, outW, err := os.Pipe()
	if err != nil {
		a.finish(ctx, StateFailed, err.Error(), nil)
		return
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		a.finish(ctx, StateFailed, err.Error(), nil)
		return
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	setProcessGroup(cmd)
	cmd.Cancel = func() error { return terminate(cmd, s.grace == 0) }
	cmd.WaitDelay = max(s.grace, 10*time.Millisecond)

	a.mu.Lock()
	if a.stopCause != nil {
		a.mu.Unlock()
		outR.Close()
		outW.Close()
		errR.Close()
		errW.Close()
		a.finish(ctx, StateAborted, "stopped before it ran", nil)
		return
	}
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		a.mu.Unlock()
		outR.Close()
		errR.Close()
		a.finish(ctx, StateFailed, "starting the solver: "+err.Error(), nil)
		return
	}
	a.cancel = cancel
	a.job.State, a.job.Queued, a.job.Started = StateStarted, false, now()
	a.mu.Unlock()
	readers := make(chan struct{}, 2)
	for _, p := range []struct {
		r  *os.File
		lw *lineWriter
	}{{outR, &lineWriter{a: a, file: stdout, stream: "stdout"}}, {errR, &lineWriter{a: a, file: stderr, stream: "stderr"}}} {
		go func() {
			io.Copy(p.lw, p.r)
			p.lw.close()
			readers <- struct{}{}
		}()
	}
	a.wmu.Lock()
	a.saveLocked(ctx)
	if !s.Track {
		a.runRecordsLocked(ctx, store.Record{Kind: store.KindStatus, Key: string(store.StatusRunning)})
	}
	a.wmu.Unlock()

	werr := cmd.Wait()
	// The readers end at EOF, once every process holding the pipes closed
	// them; a process the solver left behind gets outputGrace.
	cut := time.AfterFunc(outputGrace, func() { outR.Close(); errR.Close() })
	<-readers
	<-readers
	cut.Stop()
	outR.Close()
	errR.Close()
	a.flushLogs(ctx)
	if s.Track {
		a.wmu.Lock()
		a.seq = 0 // the solver wrote records: read the run's number again
		a.wmu.Unlock()
	}

	ps := cmd.ProcessState
	var code *int
	sig := ""
	if ps != nil {
		if c := ps.ExitCode(); c >= 0 {
			code = &c
		}
		sig = signalOf(ps)
	}
	a.mu.Lock()
	a.job.ExitCode, a.job.Signal = code, sig
	a.mu.Unlock()
	cause := context.Cause(pctx)
	switch {
	case errors.Is(cause, errStopped):
		a.finish(ctx, StateAborted, "stopped by request", nil)
	case errors.Is(cause, errTimeLimit):
		a.finish(ctx, StateFailed, cause.Error(), nil)
	case m.ctx.Err() != nil:
		a.finish(ctx, StateAborted, errShutdown.Error()+" while the job ran", nil)
	case werr != nil:
		reason := werr.Error()
		if code != nil {
			reason = fmt.Sprintf("exit status %d", *code)
		} else if sig != "" {
			reason = "killed by signal " + sig
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
			os.RemoveAll(work)
		}
	}
}

// finish makes the job final: it writes the run's records (extra first,
// then progress and status) and the job record, and only then shows the
// job final to inspect, so that whoever sees it final finds it stored.
func (a *active) finish(ctx context.Context, st State, reason string, extra []store.Record) {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	a.mu.Lock()
	j := a.job.clone()
	a.mu.Unlock()
	j.State, j.Queued, j.Reason, j.Stopped = st, false, reason, now()
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
func (a *active) env(work string) []string {
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
	env = append(env,
		track.EnvAddr+"="+a.m.opts.Addr,
		EnvJobID+"="+a.job.ID,
		EnvWorkdir+"="+work,
		EnvInputs+"="+filepath.Join(work, InputsFile),
		EnvOutputs+"="+filepath.Join(work, OutputsFile),
	)
	if s.Track {
		env = append(env, track.EnvRun+"="+a.job.ID)
	}
	if a.m.opts.Token != "" {
		env = append(env, auth.EnvToken+"="+a.m.opts.Token)
	}
	return env
}

// maxLine bounds one line of stdout or stderr kept as a log record (the
// files keep everything).
const maxLine = 16 << 10

var progressRe = regexp.MustCompile(`\[PROGRESS\]\s*(\d+(?:\.\d+)?)\s*(?:/\s*(\d+(?:\.\d+)?)|%)`)

// lineWriter is a process's stdout or stderr: it keeps the bytes in a
// file and turns each line into a log record of the run; on stdout
// [PROGRESS] n/m (or n%) sets the progress. exec's copying goroutine is
// its only writer.
type lineWriter struct {
	a      *active
	file   *os.File
	stream string
	buf    []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	if _, err := w.file.Write(p); err != nil {
		return 0, err
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
	if _, err := a.m.opts.AppendLogs(ctx, logs); err != nil {
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
