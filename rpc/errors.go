package rpc

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/sigoco/sigoco/wire/auth"
)

// Sentinel errors returned by this package.
var (
	// ErrIncompatibleServer is wrapped by every failure of the handshake:
	// the peer does not speak this protocol, refused the connection, or has
	// no target of the requested name (the error lists the valid names).
	ErrIncompatibleServer = errors.New("rpc: incompatible server")
	// ErrAmbiguousTarget is returned by Dial with an empty target name when
	// the server has several targets; the error lists them.
	ErrAmbiguousTarget = errors.New("rpc: the server has several targets; name one")
	// ErrUnavailable is returned at once by a BestEffortClient while its
	// server is unreachable.
	ErrUnavailable = errors.New("rpc: server unavailable")
	// ErrUnknownMethod matches (errors.Is) a *RemoteError reporting a call
	// to a method the target does not expose.
	ErrUnknownMethod = errors.New("rpc: unknown method")
	// ErrBadArguments matches (errors.Is) a *RemoteError reporting a wrong
	// argument count, type or keyword.
	ErrBadArguments = errors.New("rpc: bad arguments")
	// ErrValue marks an error a method returns for an argument that is
	// out of range or otherwise invalid, e.g.
	// fmt.Errorf("%w: %g dB is outside 0-31.5 dB", rpc.ErrValue, db).
	// Callers over either protocol get a RemoteError of Type
	// "ValueError" (Python's class), with this sentinel's own text left
	// out of the message, and errors.Is(err, ErrValue) holds for it on
	// their side (docs/sipyco.md lists the mapping of errors to classes).
	ErrValue = errors.New("rpc: invalid value")
	// ErrNoTarget is returned by calls made on a client that has not
	// selected a target yet (see DialNoSelect).
	ErrNoTarget = errors.New("rpc: no target selected")
	// ErrClosed is returned for calls on a closed Client or Server, and is
	// wrapped by the error of every call that fails because its connection
	// was lost.
	ErrClosed = net.ErrClosed
)

// Remote error types produced by the server itself; any other Type is the
// Go type of the error a method returned (e.g. "main.RangeError"), or
// "error" for plain errors.New / fmt.Errorf errors.
const (
	TypeUnknownMethod    = "rpc.UnknownMethod"
	TypeBadArguments     = "rpc.BadArguments"
	TypeBadRequest       = "rpc.BadRequest"      // a request that could not be decoded
	TypePanic            = "rpc.Panic"           // the method panicked; Traceback holds the stack
	TypeBadResult        = "rpc.BadResult"       // the result could not be encoded or is too large
	TypeTooManyCalls     = "rpc.TooManyCalls"    // the connection has ServerOptions.MaxCallsPerConn calls in flight
	TypeRequestTooLarge  = "rpc.RequestTooLarge" // the arguments decode to more than ServerOptions.MaxDecodedSize
	TypeDuplicateID      = "rpc.DuplicateID"     // a call reused the id of a call still in flight
	TypeCanceled         = "context.Canceled"    // the method returned context.Canceled
	TypeDeadlineExceeded = "context.DeadlineExceeded"
)

// RemoteError is an error raised on the server side of a call: the method
// returned an error or panicked, or the request was refused (unknown
// method, bad arguments). It is never used for transport failures, so
// errors.As(err, new(*RemoteError)) tells the two apart.
type RemoteError struct {
	Type      string // see the Type constants
	Message   string
	Traceback string // the goroutine stack of a panic; may be empty
}

// Error returns "Type: Message".
func (e *RemoteError) Error() string { return e.Type + ": " + e.Message }

// Is makes errors.Is(err, ErrUnknownMethod), errors.Is(err,
// ErrBadArguments), errors.Is(err, context.Canceled) and errors.Is(err,
// context.DeadlineExceeded) hold for remote errors of those kinds, and
// errors.Is(err, ErrValue) for Type "ValueError" (also os.ErrNotExist for
// "FileNotFoundError", os.ErrExist "FileExistsError", os.ErrPermission
// "PermissionError", errors.ErrUnsupported "NotImplementedError"): the
// sentinels a method's error wraps survive the wire.
func (e *RemoteError) Is(target error) bool {
	switch target {
	case ErrUnknownMethod:
		return e.Type == TypeUnknownMethod
	case ErrBadArguments:
		return e.Type == TypeBadArguments
	case context.Canceled:
		return e.Type == TypeCanceled
	case context.DeadlineExceeded:
		return e.Type == TypeDeadlineExceeded
	case auth.ErrForbidden, auth.ErrUnauthenticated:
		return auth.FromMessage(e.Message) == target
	}
	for _, sc := range sentinelClasses {
		if target == sc.err {
			return e.Type == sc.class
		}
	}
	return false
}

// connLostError fails every call in flight when a connection breaks. It
// matches net.ErrClosed and whatever broke the connection (io.EOF, a reset,
// ...).
type connLostError struct {
	why   string
	cause error
}

func (e *connLostError) Error() string {
	if e.cause == nil {
		return "rpc: " + e.why
	}
	return fmt.Sprintf("rpc: %s: %v", e.why, e.cause)
}

func (e *connLostError) Unwrap() []error {
	if e.cause == nil {
		return []error{net.ErrClosed}
	}
	return []error{net.ErrClosed, e.cause}
}
