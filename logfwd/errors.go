package logfwd

import (
	"errors"
	"github.com/sigoco/sigoco/wire/auth"
	"net"
)

// Sentinel errors returned by this package.
var (
	// ErrClosed is returned by Flush and Serve after Close.
	ErrClosed = net.ErrClosed
	// ErrBadRecord is wrapped by every error about a malformed message
	// on the wire (native frames and SiPyCo lines alike).
	ErrBadRecord = errors.New("logfwd: malformed message")
	// ErrHandshake is wrapped when the peer is not a log server (or not a
	// forwarder) of a version this side speaks.
	ErrHandshake = errors.New("logfwd: handshake failed")
	// ErrAddress is wrapped by NewForwarder's error for a malformed
	// server address.
	ErrAddress = errors.New("logfwd: bad server address")
)

// PeerError is a reason the other side sent in an error frame (or in a
// wire.Mux rejection line) before closing. errors.Is(err, ErrHandshake)
// holds for it.
type PeerError struct {
	Message string
}

func (e *PeerError) Error() string { return "logfwd: peer said: " + e.Message }

// Unwrap makes errors.Is(err, ErrHandshake) true, and errors.Is(err,
// auth.ErrUnauthenticated) (auth.ErrForbidden) for a refused credential.
func (e *PeerError) Unwrap() []error {
	if s := auth.FromMessage(e.Message); s != nil {
		return []error{ErrHandshake, s}
	}
	return []error{ErrHandshake}
}
