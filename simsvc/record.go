package simsvc

import (
	"io"
)

// Recorder records a served service as a tracked run (Options.Recorder).
// The server calls it as the lifecycle goes: SetStatus at every status
// change (the message is the error of a failed call) except the stop that
// follows a failure (a failed run stays failed), SetStep after every
// step, SetProgress when the progress changes, Expose once at NewServer
// (the service's rpc target, so that the tracker can call status, steer,
// profiler_report, … on it, and the service functions registered later
// through its call_function(name, args…)), and LogArtifactReader at finish and stop
// with "profiler_report.txt" and "cpu.pprof". Calls must not block (a
// tracker enqueues and returns); they come from the goroutines of the
// calls, one at a time for SetStatus, SetStep and SetProgress.
//
// A *track.Run is one through TrackRun (the caller then ends the run):
//
//	opts.Recorder = simsvc.TrackRun(run)
//
// Options.Track does this with a run the server starts and ends itself.
//
// Service functions registered after NewServer cannot appear by name on
// the exposed object: a tracker builds its view of an exposed object
// from its Go type once (track.Run.Expose), and the tracking server lists
// its methods when the run connects. They are reached through the
// object's call_function(name, args…) and listed by service_functions.
type Recorder interface {
	SetStatus(status Status, message string)
	SetStep(step int64)
	SetProgress(percent float64)
	Expose(name string, obj any) error
	LogArtifactReader(name string, r io.Reader) error
}

// TrackedRun is the part of a run tracker's run (track.Run) that TrackRun
// uses; S is its status type, a string type whose values are the
// lower-case lifecycle names ("registered", "loaded", "initialized",
// "started", "running", "finished", "stopped", "failed").
type TrackedRun[S ~string] interface {
	SetStatus(status S, message ...string)
	SetStep(step int64)
	SetProgress(percent float64)
	Expose(name string, obj any) error
	LogArtifactReader(name string, r io.Reader) error
}

// TrackRun adapts a tracked run (a *track.Run; S is inferred) to a
// Recorder, mapping SIM_LOADED to "loaded" and so on.
func TrackRun[S ~string](run TrackedRun[S]) Recorder { return trackRecorder[S]{run} }

type trackRecorder[S ~string] struct{ run TrackedRun[S] }

func (r trackRecorder[S]) SetStatus(st Status, msg string) {
	if msg == "" {
		r.run.SetStatus(S(st.trackName()))
		return
	}
	r.run.SetStatus(S(st.trackName()), msg)
}
func (r trackRecorder[S]) SetStep(step int64)                { r.run.SetStep(step) }
func (r trackRecorder[S]) SetProgress(p float64)             { r.run.SetProgress(p) }
func (r trackRecorder[S]) Expose(name string, obj any) error { return r.run.Expose(name, obj) }
func (r trackRecorder[S]) LogArtifactReader(name string, rd io.Reader) error {
	return r.run.LogArtifactReader(name, rd)
}
