package store

import (
	"context"
	"fmt"
)

// Cached metrics (package memo) shared through the tracking server: the
// entries of memo's TrackStorage, keyed by project, metric name and the
// canonical text of the parameters. The value is opaque here: one msgpack
// value in pyon's value model, with its CRC-32C (Castagnoli) computed by
// the client, checked by the server on the way in and by the client on the
// way out.

// MaxMemoParams bounds the parameter text of a memo key, in bytes.
const MaxMemoParams = 64 << 10

// MemoKey names one memo entry.
type MemoKey struct {
	Project string `msgpack:"project" json:"project"`
	Name    string `msgpack:"name" json:"name"`
	Params  string `msgpack:"params" json:"params"`
}

// MemoEntry is one stored memo entry.
type MemoEntry struct {
	Project string `msgpack:"project" json:"project"`
	Name    string `msgpack:"name" json:"name"`
	Params  string `msgpack:"params" json:"params"`
	// Value is one msgpack value (pyon's mapping of the value model).
	Value []byte `msgpack:"value" json:"value"`
	// CRC is the CRC-32C (Castagnoli) of Value.
	CRC uint32 `msgpack:"crc" json:"crc"`
	// ComputedNs is when the value was computed (Unix ns), DurationNs how
	// long that took (ns); Run the run that computed it ("" if none).
	ComputedNs int64  `msgpack:"computed_ns" json:"computed_ns"`
	DurationNs int64  `msgpack:"duration_ns" json:"duration_ns"`
	Run        string `msgpack:"run" json:"run"`
	// StoredNs is when the server stored the entry (Unix ns); set by the
	// store.
	StoredNs int64 `msgpack:"stored_ns" json:"stored_ns"`
}

// Key is the entry's key.
func (e *MemoEntry) Key() MemoKey { return MemoKey{Project: e.Project, Name: e.Name, Params: e.Params} }

// Storable reports whether k's project and name can be stored as text
// (text.go): no entry is stored under another key.
func (k MemoKey) Storable() bool { return StorableText(k.Project) && StorableText(k.Name) }

// MemoStore is implemented by stores that keep memo entries (the SQLite
// store does); the server's "memo" target needs it. It is apart from Store
// so other stores need not implement it.
type MemoStore interface {
	// GetMemo returns the entry, or an error wrapping ErrNotFound.
	GetMemo(ctx context.Context, k MemoKey) (*MemoEntry, error)
	// MemoExists reports whether the entry is stored, without reading it.
	MemoExists(ctx context.Context, k MemoKey) (bool, error)
	// PutMemo stores e, replacing an entry with the same key, in one
	// transaction (a reader sees the old entry or the new one).
	PutMemo(ctx context.Context, e *MemoEntry) error
	// DeleteMemo removes the entry; an absent entry is not an error.
	DeleteMemo(ctx context.Context, k MemoKey) error
}

// CheckMemoKey checks a memo key against l: project and name are keys
// (not empty, at most MaxKeyLen bytes), the params at most MaxMemoParams.
func (l Limits) CheckMemoKey(k MemoKey) error {
	if err := l.CheckKey("memo project", k.Project); err != nil {
		return err
	}
	if err := l.CheckKey("memo name", k.Name); err != nil {
		return err
	}
	if len(k.Params) > MaxMemoParams {
		return &LimitError{Limit: "MaxMemoParams", Item: fmt.Sprintf("memo params of %q", short(k.Name)), Size: int64(len(k.Params)), Max: MaxMemoParams}
	}
	return nil
}
