package syncstruct

import (
	"bytes"
	"fmt"
	"strings"
)

// Action is the kind of a mod, as SiPyCo's ModAction names it on the wire.
type Action string

// The mod actions (SiPyCo's sync_struct.ModAction).
const (
	ActInit    Action = "init"    // Struct is the whole tree; no path
	ActAppend  Action = "append"  // append X to the list at Path
	ActInsert  Action = "insert"  // insert X at index I of the list at Path
	ActPop     Action = "pop"     // remove index I (default -1) of the list at Path
	ActSetItem Action = "setitem" // set Key to Value in the dict (or list) at Path
	ActDelItem Action = "delitem" // delete Key from the dict (or list) at Path
)

// Mod is one modification of a tree: SiPyCo's mod dictionary as a Go
// struct, plus the sequence number sigoco adds. Which fields are
// meaningful depends on Action:
//
//	init     Struct
//	append   Path, X
//	insert   Path, I, X
//	pop      Path, I (a list), or Key (a dict: dict.pop; Key nil: I is the key)
//	setitem  Path, Key, Value
//	delitem  Path, Key
//
// Key may be a pyon.Slice for a list (x[1:3] = [...], del x[:2]), and
// an index, a slice or a tuple of them for a numpy array.
//
// Path lists the keys (strings or other scalars) and list indices (int64)
// that lead from the root to the container the mod changes.
//
// The struct is independent of any encoding: the native msgpack and JSON
// encodings (and SiPyCo's PYON lines) are produced from it by an modEncoding.
type Mod struct {
	Action Action
	Path   []any
	Key    any
	Value  any
	X      any
	I      int
	Struct any
	// Seq is the mod's sequence number in its notifier: 1 for the first
	// mod after the notifier was created, +1 for every mod. An init mod
	// carries the sequence number of the last mod the tree includes.
	Seq uint64
}

// MarshalJSON writes the mod as the WebSocket JSON protocol does: SiPyCo's
// mod dictionary ("action", "path", "key", "value", "x", "i", "struct")
// plus "seq", with the values JSON lacks written as PYON v2 writes them,
// {"__jsonclass__": [name, args]}. Values must be in normal form (decoded
// mods always are).
func (m Mod) MarshalJSON() ([]byte, error) {
	b, err := encJSON.AppendMod(nil, &m)
	if err != nil {
		return nil, err
	}
	return bytes.TrimRight(b, "\n"), nil
}

// validate checks that the action is known.
func (m *Mod) validate() error {
	switch m.Action {
	case ActInit, ActAppend, ActInsert, ActPop, ActSetItem, ActDelItem:
		return nil
	}
	return fmt.Errorf("%w: unknown action %q", ErrBadMod, truncate(string(m.Action), 32))
}

// String describes the mod briefly (values are left out: they can be
// large).
func (m *Mod) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", truncate(string(m.Action), 32))
	if m.Action != ActInit {
		b.WriteString(" path=[")
		for i, p := range m.Path {
			if i > 0 {
				b.WriteString(" ")
			}
			b.WriteString(truncate(fmt.Sprint(p), 32))
		}
		b.WriteString("]")
	}
	switch m.Action {
	case ActSetItem, ActDelItem:
		fmt.Fprintf(&b, " key=%s", truncate(fmt.Sprint(m.Key), 32))
	case ActInsert, ActPop:
		fmt.Fprintf(&b, " i=%d", m.I)
	}
	fmt.Fprintf(&b, " seq=%d", m.Seq)
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
