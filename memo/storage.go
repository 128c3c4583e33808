package memo

import (
	"context"
	"time"
)

// Key names one entry: a metric and one set of its parameters.
//
// Params is the canonical text of the parameters in the value model (PYON
// v2, the values separated by ", "), so Key{"poly_y", "1, 2"} is
// poly_y(1, 2). Two calls share an entry exactly when their keys are equal;
// see the package documentation for what makes parameters equal.
type Key struct {
	Name   string
	Params string
}

// String is the key as a call: poly_y(1, 2).
func (k Key) String() string { return k.Name + "(" + k.Params + ")" }

// Entry is one computed value with what is known about its computation.
type Entry struct {
	Key   Key
	Value any
	// Computed is when the computation finished (the seed's *_date
	// side-car metrics), in UTC.
	Computed time.Time
	// Duration is how long the metric function ran.
	Duration time.Duration
	// Run is the tracking run that computed the entry (Options.Run), "" if
	// none. Shared storages keep it so a team can see where a value came
	// from.
	Run string
	// Size is an estimate of the bytes the value holds in memory, used for
	// Options.MaxMemory. Storages need not set it.
	Size int64
}

// Storage keeps entries persistently; the Cache's memory is only a view of
// it, so a Storage is the source of truth.
//
// A Storage is scoped when it is created: a DirStorage by its directory,
// a shared storage on the tracking server by its project (entries keyed by
// project and Key, and recording Entry.Run). Implementations must be safe
// for concurrent use.
//
//   - Load returns the entry, an error wrapping ErrNotFound if there is
//     none, or one wrapping ErrCorrupt (a *CorruptError) if it exists but
//     cannot be read. The Entry returned is the caller's. Its Value is in
//     the value model's decoded form (the Cache converts it to the metric's
//     Go type).
//   - Save stores e, replacing any entry with the same key, atomically: a
//     concurrent or later Load sees the old entry or the new one, never a
//     mix, even if the process dies during Save.
//   - Delete removes the entry; deleting an absent entry is not an error.
type Storage interface {
	Load(ctx context.Context, key Key) (*Entry, error)
	Save(ctx context.Context, e *Entry) error
	Delete(ctx context.Context, key Key) error
}

// Locker is implemented by storages shared between processes (DirStorage
// does). The Cache holds Lock(key) while it computes an entry, after
// checking the storage once more under it, so processes sharing the
// storage compute each entry once. Lock blocks until the lock is held or
// ctx ends; unlock releases it. A lock held by a process that died must
// not block others forever (see DirStorage for its rule).
type Locker interface {
	Lock(ctx context.Context, key Key) (unlock func(), err error)
}
