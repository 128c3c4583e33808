package store

import (
	"encoding/binary"

	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// View bounds what one read of a run returns (Store.ViewRun), so that the
// cost of a reply follows what it returns, not what the run holds: a run
// may hold 10,000 params of 1 MiB each. A zero field does not bound.
//
// What a view leaves out is said, never silently dropped: a value over a
// bound is replaced by a marker (Truncated), entries beyond MaxKeys and
// notes beyond MaxNotes are counted in Run.Omitted, a cut note has
// Note.Truncated set. Full values are read one at a time
// (Store.RunValue; the tracker's get_value).
type View struct {
	// MaxValue: a param, metadata entry, count or latest value whose
	// encoding is larger is replaced by its marker; a note's text and the
	// status message are cut to this many bytes.
	MaxValue int
	// MaxTotal bounds the encoded bytes of all values and note texts
	// returned in full, together. Values are taken in key order (notes
	// newest first) until it is spent; every later value is a marker.
	MaxTotal int
	// MaxKeys bounds the entries of each map (params, metadata, counts,
	// latest), in key order; the rest are counted in Run.Omitted.
	MaxKeys int
	// MaxNotes bounds the notes returned: the newest.
	MaxNotes int
}

// Bounded reports whether v bounds anything.
func (v View) Bounded() bool { return v != View{} }

// TruncatedKey is the key that marks a value a view left out: the marker is
// the map {"__truncated__": true, "type": T, "size": N[, "len": L]} with
// the value's type ("str", "bytes", "list", "dict", "int", "float",
// "tuple", "ndarray", …), its encoded size in bytes and, for a str, bytes,
// list, dict or set, its length.
const TruncatedKey = "__truncated__"

// IsTruncated reports whether v is the marker of a value left out.
func IsTruncated(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	t, _ := m[TruncatedKey].(bool)
	return t
}

// Truncated returns the marker of a value whose encoding is size bytes
// long and starts with prefix (its first 16 bytes are enough).
func Truncated(prefix []byte, size int64) map[string]any {
	typ, n := describe(prefix)
	m := map[string]any{TruncatedKey: true, "type": typ, "size": size}
	if n >= 0 {
		m["len"] = n
	}
	return m
}

var extNames = map[int8]string{1: "tuple", 2: "set", 3: "frozenset", 4: "complex", 5: "int", 6: "fraction", 7: "ndarray", 8: "npscalar", 9: "dict", 10: "slice", 16: "list", 17: "list"}

// describe names the type of the msgpack value that starts with b and,
// for a container or a string, its length (-1 if none).
func describe(b []byte) (string, int64) {
	if len(b) == 0 {
		return "unknown", -1
	}
	c := b[0]
	be := func(off, n int) int64 {
		if len(b) < off+n {
			return -1
		}
		switch n {
		case 1:
			return int64(b[off])
		case 2:
			return int64(binary.BigEndian.Uint16(b[off:]))
		default:
			return int64(binary.BigEndian.Uint32(b[off:]))
		}
	}
	switch {
	case msgpcode.IsFixedString(c):
		return "str", int64(c & 0x1f)
	case msgpcode.IsFixedArray(c):
		return "list", int64(c & 0x0f)
	case msgpcode.IsFixedMap(c):
		return "dict", int64(c & 0x0f)
	case msgpcode.IsFixedNum(c):
		return "int", -1
	}
	switch c {
	case msgpcode.Str8, msgpcode.Str16, msgpcode.Str32:
		return "str", be(1, 1<<(c-msgpcode.Str8))
	case msgpcode.Bin8, msgpcode.Bin16, msgpcode.Bin32:
		return "bytes", be(1, 1<<(c-msgpcode.Bin8))
	case msgpcode.Array16:
		return "list", be(1, 2)
	case msgpcode.Array32:
		return "list", be(1, 4)
	case msgpcode.Map16:
		return "dict", be(1, 2)
	case msgpcode.Map32:
		return "dict", be(1, 4)
	case msgpcode.Float, msgpcode.Double:
		return "float", -1
	case msgpcode.Nil:
		return "none", -1
	case msgpcode.True, msgpcode.False:
		return "bool", -1
	case msgpcode.Uint8, msgpcode.Uint16, msgpcode.Uint32, msgpcode.Uint64, msgpcode.Int8, msgpcode.Int16, msgpcode.Int32, msgpcode.Int64:
		return "int", -1
	}
	var id int8
	switch c {
	case msgpcode.FixExt1, msgpcode.FixExt2, msgpcode.FixExt4, msgpcode.FixExt8, msgpcode.FixExt16:
		if len(b) > 1 {
			id = int8(b[1])
		}
	case msgpcode.Ext8, msgpcode.Ext16, msgpcode.Ext32:
		if off := 1 + 1<<(c-msgpcode.Ext8); len(b) > off {
			id = int8(b[off])
		}
	}
	if name, ok := extNames[id]; ok {
		return name, -1
	}
	return "ext", -1
}
