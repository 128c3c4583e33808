package fireforget

import (
	"errors"
	"net"
)

// Sentinel errors returned by this package.
var (
	// ErrUnknownMethod is wrapped when the target has no method of that name.
	ErrUnknownMethod = errors.New("fireforget: unknown method")
	// ErrBadArguments is wrapped when the arguments do not fit the method.
	ErrBadArguments = errors.New("fireforget: bad arguments")
	// ErrNoTarget is returned by New for a nil target or one with no
	// exported method.
	ErrNoTarget = errors.New("fireforget: target has no callable method")
	// ErrClosed is returned by Call after Close.
	ErrClosed = net.ErrClosed
)
