package store

import (
	"errors"
	"strings"
)

// # Refused and unavailable
//
// An error a client acts on is of one of two kinds. Refused: the records
// are wrong (a rule of rules.go, a limit, an unknown run); the client
// reports it and never sends them again. Unavailable: the storage had a bad
// moment (disk full, an I/O error, busy, shutting down); the records are
// fine, and the client keeps the batch, spools it and sends it again later
// — nothing a client logged is lost because the server could not store it
// then. A backend returns the second kind as an *UnavailableError; every
// other error is the first.

// ErrUnavailable: the store cannot store now (see UnavailableError).
var ErrUnavailable = errors.New("store: unavailable")

// UnavailableError wraps a storage failure that is not the records' fault:
// the same batch may succeed later.
type UnavailableError struct {
	Err error // the backend's error
}

func (e *UnavailableError) Error() string {
	return "store: unavailable (storage full, failing or busy; keep the records and retry): " + e.Err.Error()
}

// Unwrap makes errors.Is(err, ErrUnavailable) hold, and errors.Is and
// errors.As reach the backend's error.
func (e *UnavailableError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// PythonClass makes the error an OSError on the wire (package rpc), so
// SiPyCo callers can tell it from a refusal (ValueError, Exception).
func (e *UnavailableError) PythonClass() string { return "OSError" }

// UnavailableText reports whether msg, an error's text received over the
// wire, is an unavailable error's (clients without the Go error value).
func UnavailableText(msg string) bool {
	return strings.Contains(msg, ErrUnavailable.Error())
}
