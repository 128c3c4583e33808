package simsvc

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sigoco/sigoco/rpc"
)

// Status is where a service stands in its lifecycle. The values are
// SimService's SimStatus names, as they travel on the wire.
type Status string

// The lifecycle, in order. A service starts REGISTERED; run loads it,
// init initializes it, start starts it, the first step makes it RUNNING;
// finish (or stop(terminate_sim=False)) ends it FINISHED, stop ends it
// STOPPED. A lifecycle call or step that fails leaves it FAILED, with the
// error in error_message.
const (
	StatusRegistered  Status = "REGISTERED"
	StatusLoaded      Status = "SIM_LOADED"
	StatusInitialized Status = "SIM_INITIALIZED"
	StatusStarted     Status = "SIM_STARTED"
	StatusRunning     Status = "SIM_RUNNING"
	StatusFinished    Status = "SIM_FINISHED"
	StatusStopped     Status = "SIM_STOPPED"
	StatusFailed      Status = "SIM_FAILED"
)

// Ended reports whether s is final (finished, stopped or failed).
func (s Status) Ended() bool {
	return s == StatusFinished || s == StatusStopped || s == StatusFailed
}

// trackName is the run-tracking status of s: "loaded" for SIM_LOADED.
func (s Status) trackName() string {
	return strings.ToLower(strings.TrimPrefix(string(s), "SIM_"))
}

// Sentinel errors of this package.
var (
	// ErrState is matched (errors.Is) by every *StateError: a lifecycle
	// call made out of order, on either side of the wire.
	ErrState = errors.New("simsvc: call out of order")
	// ErrNotAvailable is returned by Proxy.Call for a service function the
	// service has not registered (yet): SimService's "not available at
	// this stage".
	ErrNotAvailable = errors.New("simsvc: service function not available")
	// ErrChildExited is wrapped by the errors of a spawned service whose
	// process has ended (see *ExitError for its exit status).
	ErrChildExited = errors.New("simsvc: service process exited")
	// ErrClosed is returned by the calls of a closed Proxy or Server.
	ErrClosed = rpc.ErrClosed
)

// StateError is a lifecycle call made in a state that does not allow it,
// e.g. step before start. Across the wire it is an *rpc.RemoteError of
// Type "simsvc.StateError"; Proxy turns that back into a *StateError
// (which unwraps to the RemoteError as well as to ErrState).
type StateError struct {
	Op     string // the wire name of the call: "step"
	Status Status // the service's status when it was refused
	Hint   string // what to call first, or why; may be empty
	remote *rpc.RemoteError
}

// Error reads "simsvc: step not allowed in state SIM_LOADED (call init
// then start first)". Proxy parses this form back: keep it.
func (e *StateError) Error() string {
	msg := fmt.Sprintf("simsvc: %s not allowed in state %s", e.Op, e.Status)
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

// Unwrap returns ErrState and, on the client side, the remote error.
func (e *StateError) Unwrap() []error {
	if e.remote != nil {
		return []error{ErrState, e.remote}
	}
	return []error{ErrState}
}

// stateErrorType is the rpc.RemoteError Type of a *StateError.
const stateErrorType = "simsvc.StateError"

// fromRemote turns a remote StateError back into a *StateError; any other
// error is returned as it is.
func fromRemote(err error) error {
	var re *rpc.RemoteError
	if !errors.As(err, &re) || re.Type != stateErrorType {
		return err
	}
	// "simsvc: OP not allowed in state STATUS (HINT)"
	msg := strings.TrimPrefix(re.Message, "simsvc: ")
	op, rest, ok1 := strings.Cut(msg, " not allowed in state ")
	st, hint, _ := strings.Cut(rest, " ")
	if !ok1 {
		return err
	}
	hint = strings.TrimSuffix(strings.TrimPrefix(hint, "("), ")")
	return &StateError{Op: op, Status: Status(st), Hint: hint, remote: re}
}
