package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"time"
)

// localExecutor runs a job as a process of trackd's own (in a process
// group of its own; on Linux killed when trackd dies).
type localExecutor struct{}

func (localExecutor) Name() string { return ExecutorLocal }

func (localExecutor) Recover(context.Context, string, *ExecSpec) (Handle, error) {
	return nil, errNotRecoverable
}

// localHandle is one local process.
type localHandle struct {
	cancel context.CancelCauseFunc // ends the process with a cause
	done   chan struct{}           // closed once res is set
	res    ExitResult
}

func (h *localHandle) ID() string { return "" }

func (h *localHandle) Stop() { h.cancel(errStopped) }

func (h *localHandle) Wait(ctx context.Context) ExitResult {
	select {
	case <-h.done:
	case <-ctx.Done():
		h.cancel(errShutdown)
		<-h.done
	}
	return h.res
}

// Start starts the process on a goroutine of its own: the thread that
// starts it stays that goroutine's until the process is reaped, for on
// Linux the process is killed when that thread ends (Pdeathsig), which
// must then mean that trackd died.
func (localExecutor) Start(ctx context.Context, spec *ExecSpec) (Handle, error) {
	pctx, cancel := context.WithCancelCause(context.Background())
	h := &localHandle{cancel: cancel, done: make(chan struct{})}
	started := make(chan error, 1)
	go h.run(pctx, spec, started)
	if err := <-started; err != nil {
		cancel(nil)
		return nil, err
	}
	return h, nil
}

// localStartedHook, set by tests, runs between a process's start and
// STARTED's save.
var localStartedHook func(pid int)

// outputGrace is how long the output of a job is read after its process
// ended (processes it started may hold its stdout).
const outputGrace = 5 * time.Second

func (h *localHandle) run(pctx context.Context, spec *ExecSpec, started chan<- error) {
	defer close(h.done)
	defer h.cancel(nil)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if spec.TimeLimit > 0 {
		var c2 context.CancelFunc
		pctx, c2 = context.WithTimeoutCause(pctx, spec.TimeLimit, fmt.Errorf("%w (%s)", errTimeLimit, spec.TimeLimit))
		defer c2()
	}
	cmd := exec.CommandContext(pctx, spec.Argv[0], spec.Argv[1:]...)
	cmd.Dir = spec.WorkDir
	cmd.Env = spec.Env
	// The pipes are ours, read by our goroutines: exec's WaitDelay would
	// cut the copy short when storing the lines is slow.
	outR, outW, err := os.Pipe()
	if err != nil {
		started <- err
		return
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		started <- err
		return
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	setProcessGroup(cmd)
	cmd.Cancel = func() error { return terminate(cmd, spec.Grace == 0) }
	cmd.WaitDelay = max(spec.Grace, 10*time.Millisecond)
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		started <- fmt.Errorf("starting the solver: %w", err)
		return
	}
	if localStartedHook != nil {
		localStartedHook(cmd.Process.Pid)
	}
	if spec.Running != nil {
		spec.Running()
	}
	readers := make(chan struct{}, 2)
	for _, p := range []struct {
		r *os.File
		w io.Writer
	}{{outR, spec.Stdout}, {errR, spec.Stderr}} {
		go func() {
			io.Copy(p.w, p.r)
			readers <- struct{}{}
		}()
	}
	started <- nil

	werr := cmd.Wait()
	// The readers end at EOF, once every process holding the pipes closed
	// them; a process the solver left behind gets outputGrace.
	cut := time.AfterFunc(outputGrace, func() { outR.Close(); errR.Close() })
	<-readers
	<-readers
	cut.Stop()
	outR.Close()
	errR.Close()

	h.res = exitResult(cmd.ProcessState, werr, context.Cause(pctx))
}

// exitResult classifies how a local process ended: its exit code or
// signal (ps: nil if it never ran), and the cause of its context's end
// (a stop, the time limit, trackd's shutdown; nil: it ended by itself).
func exitResult(ps *os.ProcessState, werr, cause error) ExitResult {
	res := ExitResult{Err: werr}
	if ps != nil {
		if c := ps.ExitCode(); c >= 0 {
			res.ExitCode = &c
		}
		res.Signal = signalOf(ps)
	}
	switch {
	case errors.Is(cause, errStopped):
		res.Cancelled, res.CancelReason = true, errStopped.Error()
	case errors.Is(cause, errTimeLimit):
		res.Failure = cause.Error()
	case errors.Is(cause, errShutdown):
		res.Cancelled, res.CancelReason = true, errShutdown.Error()+" while the job ran"
	}
	return res
}
