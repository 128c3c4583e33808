package simsvc

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/sigoco/sigoco/track"
)

// The state machine: which status each call is allowed in.
var allowed = map[string][]Status{
	"run":    {StatusRegistered},
	"init":   {StatusLoaded},
	"start":  {StatusInitialized},
	"step":   {StatusStarted, StatusRunning},
	"steer":  {StatusLoaded, StatusInitialized, StatusStarted, StatusRunning},
	"finish": {StatusStarted, StatusRunning},
	"stop":   {StatusLoaded, StatusInitialized, StatusStarted, StatusRunning, StatusFailed},
}

// hint says what to call before op in status st.
func hint(op string, st Status) string {
	switch st {
	case StatusRegistered:
		return "call run first"
	case StatusLoaded:
		return "call init first"
	case StatusInitialized:
		if op == "step" || op == "finish" {
			return "call start first"
		}
		return "already initialized"
	case StatusStarted, StatusRunning:
		return "already started"
	case StatusFailed:
		return "a call failed: see error_message; only stop is allowed"
	}
	return "the simulation has ended"
}

// acquire waits for the service to be free (or ctx to end).
func (s *Server) acquire(ctx context.Context) error {
	select { // the usual case, without touching ctx.Done (which allocates)
	case s.life <- struct{}{}:
		if s.ctx.Err() != nil {
			<-s.life
			return ErrClosed
		}
		return nil
	default:
	}
	select {
	case s.life <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.ctx.Done():
		return ErrClosed
	}
}

func (s *Server) release() { <-s.life }

// do runs f, a call into the service, with the call's context carrying
// the Host, under the profiler label. A panic in the service becomes an
// error (the call fails, the status becomes SIM_FAILED); its stack goes
// to the logger.
func (s *Server) do(ctx context.Context, f func(ctx context.Context)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
			s.opts.Logger.Warn("simsvc: the service panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	callCtx := ctx
	ctx = context.WithValue(ctx, hostKey{}, s.host)
	if s.tracked != nil {
		ctx = track.NewContext(ctx, s.tracked.run)
	}
	if s.prof {
		// pprof.Do without its per-call allocations: the goroutine's
		// labels (which goroutines started from here inherit) are set
		// from a context labelled once, and restored after.
		pprof.SetGoroutineLabels(s.labels)
		defer pprof.SetGoroutineLabels(callCtx)
	}
	f(ctx)
	return nil
}

// transition runs one lifecycle call: it waits its turn, checks the
// status, calls f, and moves to next (when f reports done) or to
// SIM_FAILED (when f fails). fromInside marks the inside-run loop's own
// calls, which are the only ones allowed while it runs.
func (s *Server) transition(ctx context.Context, op string, fromInside bool, f func(ctx context.Context) (done bool, err error), next Status) (bool, error) {
	if err := s.acquire(ctx); err != nil {
		return false, err
	}
	defer s.release()
	s.mu.Lock()
	st := s.status
	insideRuns := s.inside != nil
	s.mu.Unlock()
	if !slices.Contains(allowed[op], st) {
		return false, &StateError{Op: op, Status: st, Hint: hint(op, st)}
	}
	if insideRuns && !fromInside && (op == "init" || op == "start" || op == "step") {
		return false, &StateError{Op: op, Status: st, Hint: "the service steps by itself (inside run): call stop or finish"}
	}
	var done bool
	var err error
	if perr := s.do(ctx, func(ctx context.Context) { done, err = f(ctx) }); perr != nil {
		done, err = false, perr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err != nil:
		s.setStatusLocked(StatusFailed, op+": "+err.Error())
		s.opts.Logger.Debug("simsvc: call failed", "op", op, "err", err)
	case done && op == "step":
		s.step++
		s.publish("step", s.step)
		if r := s.opts.Recorder; r != nil {
			r.SetStep(int64(s.step))
		}
		if s.opts.Steps > 0 {
			s.setProgressLocked(100 * float64(s.step-s.opts.BeginningStep) / float64(s.opts.Steps))
		}
		s.setStatusLocked(next, "")
	case done:
		s.setStatusLocked(next, "")
	}
	return done, err
}

func (s *Server) run(ctx context.Context) error {
	_, err := s.transition(ctx, "run", false, func(ctx context.Context) (bool, error) {
		return true, s.svc.Run(ctx)
	}, StatusLoaded)
	s.mu.Lock()
	self := s.selfRun
	s.mu.Unlock()
	if err == nil && self {
		s.startInside()
	}
	return err
}

func (s *Server) init(ctx context.Context, inside bool) (bool, error) {
	return s.transition(ctx, "init", inside, s.svc.Init, StatusInitialized)
}

func (s *Server) start(ctx context.Context, inside bool) (bool, error) {
	return s.transition(ctx, "start", inside, s.svc.Start, StatusStarted)
}

func (s *Server) stepOnce(ctx context.Context, inside bool) error {
	_, err := s.transition(ctx, "step", inside, func(ctx context.Context) (bool, error) {
		return true, s.svc.Step(ctx)
	}, StatusRunning)
	return err
}

func (s *Server) steer(ctx context.Context) error {
	st, ok := s.svc.(Steerer)
	if !ok {
		return errors.New("simsvc: this service takes no steering (it has no Steer method)")
	}
	_, err := s.transition(ctx, "steer", true, func(ctx context.Context) (bool, error) {
		return false, st.Steer(ctx) // the status stays
	}, "")
	return err
}

func (s *Server) finish(ctx context.Context) error {
	s.stopInside()
	_, err := s.transition(ctx, "finish", true, func(ctx context.Context) (bool, error) {
		return true, s.svc.Finish(ctx)
	}, StatusFinished)
	s.recordEnd(err)
	if err == nil {
		s.endTrack(StatusFinished)
	}
	return err
}

func (s *Server) stop(ctx context.Context, terminate bool) error {
	s.stopInside()
	next := StatusStopped
	if !terminate {
		next = StatusFinished
	}
	_, err := s.transition(ctx, "stop", true, func(ctx context.Context) (bool, error) {
		return true, s.svc.Stop(ctx, terminate)
	}, next)
	s.recordEnd(err)
	if err == nil {
		s.endTrack(next)
	}
	return err
}

// recordEnd stores the profiler report with the recorder when the
// simulation has ended.
func (s *Server) recordEnd(err error) {
	if s.opts.Recorder == nil || err != nil {
		return
	}
	s.storeProfile()
}

// insideRun is the self-stepping loop of Options.InsideRun.
type insideRun struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (s *Server) startInside() {
	ctx, cancel := context.WithCancel(s.ctx)
	ir := &insideRun{cancel: cancel, done: make(chan struct{})}
	s.mu.Lock()
	s.inside = ir
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(ir.done)
		defer func() {
			s.mu.Lock()
			if s.inside == ir {
				s.inside = nil
			}
			s.mu.Unlock()
		}()
		s.insideLoop(ctx)
	}()
}

// insideLoop initializes, starts and steps the service until ctx ends, a
// call fails, or Options.Steps steps are done. The calls themselves run
// under the server's lifetime: stop lets the step in progress finish.
func (s *Server) insideLoop(ctx context.Context) {
	for _, phase := range []func(context.Context, bool) (bool, error){s.init, s.start} {
		for {
			if ctx.Err() != nil {
				return
			}
			done, err := phase(s.ctx, true)
			if err != nil {
				return
			}
			if done {
				break
			}
			select { // "call again", without spinning
			case <-ctx.Done():
				return
			case <-time.After(time.Millisecond):
			}
		}
	}
	for ctx.Err() == nil {
		if s.opts.Steps > 0 && s.CurrentStep()-s.opts.BeginningStep >= s.opts.Steps {
			return
		}
		if err := s.stepOnce(s.ctx, true); err != nil {
			return
		}
	}
}

// stopInside ends the inside-run loop, if it runs, and waits for it: the
// step in progress finishes first.
func (s *Server) stopInside() {
	s.mu.Lock()
	ir := s.inside
	s.mu.Unlock()
	if ir == nil {
		return
	}
	ir.cancel()
	<-ir.done
}
