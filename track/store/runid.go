package store

import (
	"errors"
	"fmt"
	"strings"
)

// MaxRunIDLen bounds a run id, in bytes.
const MaxRunIDLen = 64

// ErrBadRunID: a run id CheckRunID refuses.
var ErrBadRunID = errors.New("store: bad run id")

// RunIDError reports a run id that CheckRunID refuses, and why.
type RunIDError struct {
	ID     string // the id as given (Error shows at most 64 bytes of it)
	Reason string // what is wrong with it
}

func (e *RunIDError) Error() string {
	id := e.ID
	if len(id) > MaxRunIDLen {
		id = id[:MaxRunIDLen] + "…"
	}
	return fmt.Sprintf("%v %q: %s (a run id is 1 to %d letters, digits, '.', '_' or '-', starting with a letter or digit)",
		ErrBadRunID, id, e.Reason, MaxRunIDLen)
}

// Unwrap makes errors.Is(err, ErrBadRunID) hold.
func (e *RunIDError) Unwrap() error { return ErrBadRunID }

// PythonClass makes the error a ValueError on the wire (package rpc): a
// SiPyCo caller gets that exception, a Go caller a *rpc.RemoteError for
// which errors.Is(err, rpc.ErrValue) holds, also when the error is
// wrapped (jobs.ErrBadJobID).
func (e *RunIDError) PythonClass() string { return "ValueError" }

// CheckRunID checks that id can name a run: 1 to MaxRunIDLen bytes of
// ASCII letters, digits, '.', '_' and '-', the first a letter or a digit.
// The ids track.NewID makes (UUIDv7 in lower-case hex) pass, and so do
// the ids people choose ("sweep-12", "run_3.b").
//
// A valid id is a plain file name on every system: no separator, not "."
// or "..", nothing a shell or a URL must quote. So an id may name a
// directory (the jobs' directories do), and the check is the first half
// of that rule; the second is that the joined path is checked to stay
// under its root.
//
// Stores refuse a batch (Ingest) or a run (CreateRun) whose id fails the
// check, so that no such id ever enters a store. Readers of existing runs
// (GetRun, DeleteRun) do not check: a run stored before the rule existed
// stays readable and deletable.
func CheckRunID(id string) error {
	if id == "" {
		return &RunIDError{ID: id, Reason: "it is empty"}
	}
	if len(id) > MaxRunIDLen {
		return &RunIDError{ID: id, Reason: fmt.Sprintf("it is %d bytes long", len(id))}
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			what := fmt.Sprintf("byte %d is %q", i, c)
			if c >= 0x80 {
				what = fmt.Sprintf("byte %d is 0x%02x (not ASCII)", i, c)
			}
			if i == 0 && strings.IndexByte("._-", c) >= 0 {
				what = fmt.Sprintf("it starts with %q", c)
			}
			return &RunIDError{ID: id, Reason: what}
		}
	}
	return nil
}
