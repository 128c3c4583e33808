package memo

import (
	"errors"
	"fmt"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrNotFound: no entry for the key (Load found it neither in memory nor
	// in storage; a Storage returns it from Load for an absent key).
	ErrNotFound = errors.New("memo: entry not found")
	// ErrCorrupt: a stored entry exists but cannot be read back (truncated,
	// bad checksum, not a memo file). The Cache never returns such an entry:
	// a call recomputes it and overwrites the file; Load reports it.
	ErrCorrupt = errors.New("memo: corrupt entry")
	// ErrUndeclared: with Options.Strict, a call whose parameter set was not
	// declared with Declare (the seed's dynamic_metric_creation=False).
	ErrUndeclared = errors.New("memo: undeclared parameters")
	// ErrUnknown: an operation by name on a metric that was not registered.
	ErrUnknown = errors.New("memo: unknown metric")
	// ErrCycle: a metric needs its own value (through its ctx chain of
	// dependencies); computing it would wait for itself forever.
	ErrCycle = errors.New("memo: dependency cycle")
	// ErrParams: parameters that do not fit the metric's Go parameter types,
	// or cannot be encoded in the value model.
	ErrParams = errors.New("memo: bad parameters")
	// ErrValue: a value the storage cannot encode, or a stored value that
	// does not convert to the metric's Go result type.
	ErrValue = errors.New("memo: bad value")
)

// CorruptError says which stored entry could not be read and why; it
// wraps ErrCorrupt.
type CorruptError struct {
	Key    Key
	Path   string // the file, for file storages
	Reason string
}

func (e *CorruptError) Error() string {
	where := e.Key.String()
	if e.Path != "" {
		where += " (" + e.Path + ")"
	}
	return fmt.Sprintf("memo: corrupt entry %s: %s", where, e.Reason)
}

func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// ComputeError wraps the error a metric function returned, with the entry
// it was computing. errors.Is/As see the function's own error through it.
type ComputeError struct {
	Key Key
	Err error
}

func (e *ComputeError) Error() string { return "memo: " + e.Key.String() + ": " + e.Err.Error() }
func (e *ComputeError) Unwrap() error { return e.Err }
