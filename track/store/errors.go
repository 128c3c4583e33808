package store

import (
	"errors"
	"fmt"
)

// Sentinel errors of stores. Implementations wrap them with detail.
var (
	// ErrUnknownRun: a batch, query or edit names a run that does not exist
	// (a batch must start with the run's start record).
	ErrUnknownRun = errors.New("store: unknown run")
	// ErrParamConflict: a param logged again with a different value.
	ErrParamConflict = errors.New("store: param already set to a different value")
	// ErrLimit: a key, value, batch or series beyond Limits.
	ErrLimit = errors.New("store: limit exceeded")
	// ErrBadRecord: a record that is malformed (unknown kind, bad value).
	ErrBadRecord = errors.New("store: bad record")
	// ErrNotFound: an artifact, blob or series that does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrChecksum: an uploaded blob whose content does not match its sha256.
	ErrChecksum = errors.New("store: sha256 mismatch")
	// ErrClosed: the store is closed.
	ErrClosed = errors.New("store: closed")
)

// LimitError reports one limit broken by one item.
type LimitError struct {
	Limit string // the Limits field, e.g. "MaxKeyLen"
	Item  string // what broke it, e.g. `key "aaaa…"`
	Size  int64  // the item's size or count
	Max   int64  // the limit
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("store: %s is %d, over the limit %s = %d", e.Item, e.Size, e.Limit, e.Max)
}

// Unwrap makes errors.Is(err, ErrLimit) hold.
func (e *LimitError) Unwrap() error { return ErrLimit }

// ConflictError reports a param logged twice with different values.
type ConflictError struct {
	Key      string
	Old, New string // the values, as short text
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("store: param %q is already %s; refusing %s", e.Key, e.Old, e.New)
}

// Unwrap makes errors.Is(err, ErrParamConflict) hold.
func (e *ConflictError) Unwrap() error { return ErrParamConflict }
