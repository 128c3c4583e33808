package syncstruct

import (
	"errors"
	"fmt"
	"github.com/sigoco/sigoco/wire/auth"
	"net"
)

// Sentinel errors returned by this package.
var (
	// ErrBadPath: a mod's path does not lead to a container of the tree.
	ErrBadPath = errors.New("syncstruct: bad path")
	// ErrNoKey: a key to read or delete is not in the dict.
	ErrNoKey = errors.New("syncstruct: no such key")
	// ErrIndex: a list index is out of range.
	ErrIndex = errors.New("syncstruct: index out of range")
	// ErrType: the target of a mod is not the kind of container it needs
	// (append to a dict, setitem on a number, ...).
	ErrType = errors.New("syncstruct: wrong type")
	// ErrBadKey: a dict key that cannot be a key (a list, a dict, ...).
	ErrBadKey = errors.New("syncstruct: unusable dict key")
	// ErrBadMod: a mod that is malformed (unknown action, missing field).
	ErrBadMod = errors.New("syncstruct: malformed mod")
	// ErrUnsupportedValue: a value that cannot be stored in a tree.
	ErrUnsupportedValue = errors.New("syncstruct: unsupported value")
	// ErrBadMessage: a protocol message that cannot be decoded or is not
	// expected at this point.
	ErrBadMessage = errors.New("syncstruct: bad message")
	// ErrUnknownNotifier: the publisher serves no notifier of that name.
	// A *RemoteError with Code "unknown_notifier" wraps it.
	ErrUnknownNotifier = errors.New("syncstruct: unknown notifier")
	// ErrExists: Publisher.Add with a name already in use.
	ErrExists = errors.New("syncstruct: notifier name already in use")
	// ErrHeartbeat: the peer sent nothing for longer than the heartbeat
	// timeout.
	ErrHeartbeat = errors.New("syncstruct: peer silent past the heartbeat timeout")
	// ErrGap: a mod whose sequence number does not follow the replica's.
	// The subscriber drops the connection and asks for a fresh snapshot.
	ErrGap = errors.New("syncstruct: gap in the mod sequence")
	// ErrBadAddress: NewSubscriber was given an address (or notifier
	// name) it can never connect with.
	ErrBadAddress = errors.New("syncstruct: bad subscriber address")
	// ErrClosed is returned by a closed Subscriber; it wraps net.ErrClosed.
	ErrClosed = fmt.Errorf("syncstruct: closed: %w", net.ErrClosed)
)

// Error codes a publisher sends in an error message.
const (
	CodeBadRequest      = "bad_request"      // the subscribe message was malformed
	CodeUnknownNotifier = "unknown_notifier" // no notifier of that name
	CodeRemoved         = "removed"          // the notifier was removed while subscribed
	CodeShutdown        = "shutdown"         // the publisher is closing
	CodeTimeout         = "timeout"          // no heartbeat from the subscriber
	CodeInternal        = "internal"         // the publisher failed to encode the tree
	CodeUnauthenticated = "unauthenticated"  // no credential, or one the publisher does not know (auth.ErrUnauthenticated)
	CodeForbidden       = "forbidden"        // the identity may not subscribe (auth.ErrForbidden)
)

// RemoteError is an error message received from a publisher.
type RemoteError struct {
	Code    string // one of the Code constants
	Message string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("syncstruct: publisher says %s: %s", e.Code, e.Message)
}

// Unwrap lets errors.Is(err, ErrUnknownNotifier) hold for the
// "unknown_notifier" code.
func (e *RemoteError) Unwrap() error {
	switch e.Code {
	case CodeUnknownNotifier:
		return ErrUnknownNotifier
	case CodeUnauthenticated:
		return auth.ErrUnauthenticated
	case CodeForbidden:
		return auth.ErrForbidden
	}
	return nil
}

// ModError reports a mod that could not be applied, with the mod.
type ModError struct {
	Mod *Mod
	Err error // ErrBadPath, ErrNoKey, ErrIndex, ErrType, ErrBadKey or ErrBadMod, wrapped
}

func (e *ModError) Error() string {
	return fmt.Sprintf("%v (mod %s)", e.Err, e.Mod)
}

func (e *ModError) Unwrap() error { return e.Err }
