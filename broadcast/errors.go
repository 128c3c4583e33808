package broadcast

import "errors"

var (
	// ErrClosed is returned by a Broadcaster's Serve and ServeConn after
	// Close, and by a Receiver's Receive after its Close.
	ErrClosed = errors.New("broadcast: closed")
	// ErrBadChannel is returned for a channel name that is empty, longer
	// than MaxChannelLen, not valid UTF-8 or holds a line break.
	ErrBadChannel = errors.New("broadcast: bad channel name")
	// ErrBadMessage is returned by Receive for a line that is not a PYON
	// value within the receiver's limits; the connection is closed.
	ErrBadMessage = errors.New("broadcast: bad message")
	// ErrHandshake is returned by ServeConn for a connection that did not
	// open as a receiver (wrong banner, no channel line in time).
	ErrHandshake = errors.New("broadcast: bad handshake")
)
