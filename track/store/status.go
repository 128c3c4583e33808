package store

import (
	"errors"
	"fmt"
)

// # The status state machine
//
// A run's status moves only forward, along SimService's lifecycle:
//
//	registered → loaded → initialized → started → running → finished
//	                                                      → stopped
//	                                                      → failed
//
// A status may be skipped (registered → running, loaded → failed) and may
// be repeated (running → running, to change the message), but never set
// back: running → started is refused, and a final status (finished,
// stopped, failed) is the last: finished → running, finished → failed are
// refused with a *StatusError. Repeating the final status a run has is
// accepted and changes nothing (a client ending twice).
//
// Crashed is not a step of the lifecycle but a flag the server sets when a
// run's heartbeats stop (Edit); it is lifted when the run is heard from
// again, and its status is then the one it had.
//
// The one way back is resume (Store.ResumeRun): a process that continues a
// run that is not final (a requeued cluster job, a simulation restarted
// with the same id) starts the lifecycle again at registered.

// ErrStatusBack: a status record that would move a run's status backwards
// or out of a final status (see StatusError).
var ErrStatusBack = errors.New("store: a run's status moves only forward")

// StatusError reports a refused status transition.
type StatusError struct {
	From, To Status
}

func (e *StatusError) Error() string {
	if e.From.Final() {
		return fmt.Sprintf("store: the run is %s; its status cannot become %s (a final status is the last; registered → loaded → initialized → started → running → finished/stopped/failed)", e.From, e.To)
	}
	return fmt.Sprintf("store: the run is %s; its status cannot go back to %s (registered → loaded → initialized → started → running → finished/stopped/failed)", e.From, e.To)
}

// Unwrap makes errors.Is(err, ErrStatusBack) hold.
func (e *StatusError) Unwrap() error { return ErrStatusBack }

// rank orders the statuses of the lifecycle; the final ones share the last
// rank.
func (s Status) rank() int {
	switch s {
	case StatusRegistered:
		return 0
	case StatusLoaded:
		return 1
	case StatusInitialized:
		return 2
	case StatusStarted:
		return 3
	case StatusRunning:
		return 4
	case StatusFinished, StatusStopped, StatusFailed:
		return 5
	}
	return -1
}

// CheckTransition reports whether a run whose status is from may be set to
// to (both Valid): nil when it may, a *StatusError when it may not. Setting
// a final status again (from == to) is allowed; the caller keeps the run as
// it is.
func CheckTransition(from, to Status) error {
	switch {
	case from == to:
		return nil
	case from.Final(), to.rank() < from.rank():
		return &StatusError{From: from, To: to}
	}
	return nil
}
