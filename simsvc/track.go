package simsvc

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sigoco/sigoco/track"
)

// EnvTrack, in a service process's environment, is the address of a
// tracking server: ServeChild then serves the service as a tracked run
// (Options.Track with that Addr), unless its Options already set Track or
// Recorder. Spawn sets it from SpawnOptions.Track. It is simsvc's own
// variable, not track.EnvAddr: trackd's jobs set SIGOCO_TRACK_ADDR for
// every solver, and a tracked parent passes its environment on, so that
// variable alone would make every child a run of its own.
const EnvTrack = "SIGOCO_SIMSVC_TRACK"

// trackEndGrace is how long Close waits for a tracked run to reach the
// server before it leaves the rest in the run's spool.
const trackEndGrace = 2 * time.Second

var errTrackAndRecorder = errors.New("simsvc: Options.Track and Options.Recorder exclude each other (Track makes its own recorder)")

// ownedRun is the tracked run a Server started itself (Options.Track) and
// ends: at finish and stop, in the background, or at Close.
type ownedRun struct {
	run *track.Run

	mu    sync.Mutex // guards ended
	ended bool       // End has been called (or is about to be)

	done   chan struct{} // closed when End has returned
	ctx    context.Context
	cancel context.CancelFunc // gives up End's wait for the server
}

// claim reports whether the caller is the one to end the run.
func (o *ownedRun) claim() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ended {
		return false
	}
	o.ended = true
	return true
}

// startTrack starts the run of Options.Track (called last in NewServer:
// nothing fails after it). The run is named like the service unless
// Track.Name says otherwise.
func (s *Server) startTrack() error {
	to := *s.opts.Track
	if to.Name == "" {
		to.Name = s.opts.Name
	}
	if to.Logger == nil {
		to.Logger = s.opts.Logger
	}
	run, err := track.Start(context.Background(), to)
	if err != nil {
		return err
	}
	run.AddMetadata("simsvc.service", s.opts.Name)
	if s.opts.Steps > 0 {
		run.AddMetadata("simsvc.steps", s.opts.Steps)
	}
	o := &ownedRun{run: run, done: make(chan struct{})}
	o.ctx, o.cancel = context.WithCancel(context.Background())
	s.tracked = o
	s.opts.Recorder = TrackRun(run)
	return nil
}

// Track returns the tracked run the server started for Options.Track, or
// nil. The service may log params, results and artifacts on it (it is
// also in the context of every call into the service:
// track.FromContext(ctx)); the server ends it.
func (s *Server) Track() *track.Run {
	if s.tracked == nil {
		return nil
	}
	return s.tracked.run
}

// endTrack ends the owned run, once, in the background, after the
// simulation ended with status st (finished or stopped).
func (s *Server) endTrack(st Status) {
	if o := s.tracked; o != nil && o.claim() {
		s.startEnd(st, "")
	}
}

// startEnd calls End in the background: with SIM_FAILED's error when a
// call failed on the way (a failed simulation that was then stopped stays
// failed), else finished or stopped as st says, with the message why.
func (s *Server) startEnd(st Status, why string) {
	o := s.tracked
	s.mu.Lock()
	errMsg := s.errMsg
	s.mu.Unlock()
	final, msg := track.StatusStopped, why
	switch {
	case errMsg != "":
		final, msg = track.StatusFailed, errMsg
	case st == StatusFinished:
		final, msg = track.StatusFinished, ""
	}
	go func() {
		defer close(o.done)
		var err error
		if msg == "" {
			err = o.run.End(o.ctx, final)
		} else {
			err = o.run.End(o.ctx, final, msg)
		}
		if err != nil {
			s.opts.Logger.Warn("simsvc: ending the tracked run", "run", o.run.ID(), "err", err)
		}
	}()
}

// waitTrack waits until the owned run has ended or ctx is done; then it
// gives up End's wait for the server (what is left stays in the run's
// spool, replayed by the next track.Start or `trackd replay`) and waits
// for End to return.
func (s *Server) waitTrack(ctx context.Context) {
	o := s.tracked
	if o == nil {
		return
	}
	o.mu.Lock()
	ended := o.ended
	o.mu.Unlock()
	if !ended {
		return
	}
	select {
	case <-o.done:
	case <-ctx.Done():
	}
	o.cancel()
	<-o.done
}

// closeTrack ends the owned run at Close: a simulation that had not
// ended is recorded as stopped (or failed), after its profiler report.
// It waits up to trackEndGrace for the server.
func (s *Server) closeTrack() {
	o := s.tracked
	if o == nil {
		return
	}
	if o.claim() {
		st := s.Status()
		if s.prof {
			s.storeProfile()
		}
		why := ""
		if !st.Ended() {
			why = "simsvc: the server closed before the simulation ended (status " + string(st) + ")"
		}
		s.startEnd(st, why)
	}
	ctx, cancel := context.WithTimeout(context.Background(), trackEndGrace)
	defer cancel()
	s.waitTrack(ctx)
}
