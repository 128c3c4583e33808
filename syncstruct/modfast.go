package syncstruct

import (
	"bytes"
	"encoding/binary"
	"math"

	"github.com/sigoco/sigoco/pyon"
)

// The mod fast path.
//
// Nearly every frame a subscriber reads is a mod of one shape: a fixmap
// whose field names are fixstrs ("action", "path", "key", "value", "x",
// "i", "seq"), an action the decoder knows, a short flat path, a short
// key and a scalar or string value. Going through msgpack.Decoder over a
// bytes.Reader for each of those fields cost more than half of the
// subscriber's CPU in the fan-out benchmark, so fastMod parses that shape
// straight from the frame bytes.
//
// fastMod is an optimisation only: the generic decoder (decodeFields)
// stays the reference. fastMod never reports an error; on anything it
// does not recognise — another field, a duplicate field, a value that is
// not a plain scalar or string, a malformed or truncated encoding — it
// returns false and decode starts over with the generic decoder, which
// gives the same Mod or the error. Every length is checked against the
// frame before it is used. Values other than scalars and strings are
// decoded by pyon's byte decoder with the generic decoder's limits.
// TestFastPathMatchesGeneric and FuzzDecodeMessage check that both paths
// give identical Mods.

// hasSeq marks "seq" while fastMod looks for duplicate fields (the
// generic decoder keeps no bit for it).
const hasSeq = 1 << 15

// fastMod decodes b into m (overwritten; in place, as a message is
// large) if b is a mod of the common shape, and reports whether it is.
// The caller still runs checkMod.
func (md *msgDecoder) fastMod(b []byte, m *message) (ok bool) {
	*m = message{}
	if len(b) == 0 || b[0]&0xf0 != 0x80 {
		return false
	}
	n := int(b[0] & 0x0f)
	off := 1
	for range n {
		// Field name: a fixstr.
		if off >= len(b) || b[off]&0xe0 != 0xa0 {
			return false
		}
		kn := int(b[off] & 0x1f)
		off++
		if kn > len(b)-off {
			return false
		}
		k := b[off : off+kn]
		off += kn
		var bit uint16
		switch string(k) {
		case "action":
			bit = hasAction
			s, next, ok := strAt(b, off)
			if !ok {
				return false
			}
			if m.Action, ok = knownAction(s); !ok {
				return false
			}
			off = next
		case "path":
			bit = hasPath
			if m.Path, off, ok = md.fastPath(b, off); !ok {
				return false
			}
		case "key":
			bit = hasKey
			if m.Key, off, ok = md.fastValue(b, off, true); !ok {
				return false
			}
		case "value":
			bit = hasValue
			if m.Value, off, ok = md.fastValue(b, off, false); !ok {
				return false
			}
		case "x":
			bit = hasX
			if m.X, off, ok = md.fastValue(b, off, false); !ok {
				return false
			}
		case "i":
			bit = hasI
			var v any
			if v, off, ok = md.fastValue(b, off, true); !ok {
				return false
			}
			if i, isInt := v.(int64); isInt {
				if i < -1<<31 || i > 1<<31 {
					return false // the generic decoder gives the error
				}
				m.I = int(i)
			} else if v != nil && isKey(v) {
				m.Key = v // a dict pop's key travels as "i"
			} else {
				return false
			}
		case "seq":
			bit = hasSeq
			if m.Seq, off, ok = uintAt(b, off); !ok {
				return false
			}
		default:
			return false // "t", "struct", unknown fields: the generic decoder
		}
		if m.has&bit != 0 {
			return false // a duplicate field
		}
		m.has |= bit
	}
	if off != len(b) {
		return false
	}
	m.has &^= hasSeq
	return true
}

// knownAction returns the interned Action for s, without allocating.
func knownAction(s []byte) (Action, bool) {
	switch string(s) {
	case "setitem":
		return ActSetItem, true
	case "append":
		return ActAppend, true
	case "delitem":
		return ActDelItem, true
	case "pop":
		return ActPop, true
	case "insert":
		return ActInsert, true
	case "init":
		return ActInit, true
	}
	return "", false
}

// strAt returns the bytes of the msgpack str at b[off] and the offset
// after it.
func strAt(b []byte, off int) (s []byte, next int, ok bool) {
	if off >= len(b) {
		return nil, 0, false
	}
	c := b[off]
	off++
	var n int
	switch {
	case c&0xe0 == 0xa0:
		n = int(c & 0x1f)
	case c == 0xd9:
		if off+1 > len(b) {
			return nil, 0, false
		}
		n = int(b[off])
		off++
	case c == 0xda:
		if off+2 > len(b) {
			return nil, 0, false
		}
		n = int(binary.BigEndian.Uint16(b[off:]))
		off += 2
	case c == 0xdb:
		if off+4 > len(b) {
			return nil, 0, false
		}
		u := binary.BigEndian.Uint32(b[off:])
		off += 4
		if uint64(u) > uint64(len(b)-off) {
			return nil, 0, false
		}
		n = int(u)
	default:
		return nil, 0, false
	}
	if n > len(b)-off {
		return nil, 0, false
	}
	return b[off : off+n], off + n, true
}

// intAt decodes the msgpack integer at b[off] as the generic decoder
// does: int64, or uint64 above math.MaxInt64.
func intAt(b []byte, off int) (v any, next int, ok bool) {
	if off >= len(b) {
		return nil, 0, false
	}
	c := b[off]
	off++
	switch {
	case c <= 0x7f:
		return int64(c), off, true
	case c >= 0xe0:
		return int64(int8(c)), off, true
	case c >= 0xcc && c <= 0xcf:
		size := 1 << (c - 0xcc)
		u, ok := beUint(b, off, size)
		if !ok {
			return nil, 0, false
		}
		if u > math.MaxInt64 {
			return u, off + size, true
		}
		return int64(u), off + size, true
	case c >= 0xd0 && c <= 0xd3:
		size := 1 << (c - 0xd0)
		u, ok := beUint(b, off, size)
		if !ok {
			return nil, 0, false
		}
		shift := 64 - 8*size
		return int64(u<<shift) >> shift, off + size, true
	}
	return nil, 0, false
}

// uintAt decodes a non-negative msgpack integer (a seq).
func uintAt(b []byte, off int) (u uint64, next int, ok bool) {
	if off >= len(b) {
		return 0, 0, false
	}
	c := b[off]
	switch {
	case c <= 0x7f:
		return uint64(c), off + 1, true
	case c >= 0xcc && c <= 0xcf:
		size := 1 << (c - 0xcc)
		u, ok := beUint(b, off+1, size)
		return u, off + 1 + size, ok
	}
	return 0, 0, false // signed encodings: the generic decoder
}

func beUint(b []byte, off, size int) (uint64, bool) {
	if size > len(b)-off {
		return 0, false
	}
	switch size {
	case 1:
		return uint64(b[off]), true
	case 2:
		return uint64(binary.BigEndian.Uint16(b[off:])), true
	case 4:
		return uint64(binary.BigEndian.Uint32(b[off:])), true
	}
	return binary.BigEndian.Uint64(b[off:]), true
}

// fastValue decodes the field value at b[off]: strings (copied once,
// interned like md.value does if intern is set), nil, booleans, integers
// and floats here, anything else with pyon's decoder under the generic
// decoder's limits for a field value.
func (md *msgDecoder) fastValue(b []byte, off int, intern bool) (v any, next int, ok bool) {
	if off >= len(b) {
		return nil, 0, false
	}
	switch c := b[off]; {
	case c&0xe0 == 0xa0 || (c >= 0xd9 && c <= 0xdb):
		s, next, ok := strAt(b, off)
		if !ok {
			return nil, 0, false
		}
		return md.internStr(s, intern), next, true
	case c <= 0x7f || c >= 0xe0 || (c >= 0xcc && c <= 0xd3):
		return intAt(b, off)
	case c == 0xc0:
		return nil, off + 1, true
	case c == 0xc2:
		return false, off + 1, true
	case c == 0xc3:
		return true, off + 1, true
	case c == 0xcb:
		u, ok := beUint(b, off+1, 8)
		return math.Float64frombits(u), off + 9, ok
	case c == 0xca:
		u, ok := beUint(b, off+1, 4)
		return float64(math.Float32frombits(uint32(u))), off + 5, ok
	}
	return pyonValueAt(b, off, 1)
}

// pyonValueAt decodes the value at b[off] with pyon's byte decoder, as
// decodeValue(d, depth) would from a msgpack.Decoder.
func pyonValueAt(b []byte, off, depth int) (v any, next int, ok bool) {
	lim := treeLimits
	lim.MaxDepth = max(maxDepth-depth, 1)
	d := pyon.MsgpackDecoder{Limits: lim}
	v, n, err := d.Decode(b[off:])
	if err != nil {
		return nil, 0, false
	}
	return v, off + n, true
}

// internStr returns s as a string in an interface, from md.strs if
// intern is set and s is short.
func (md *msgDecoder) internStr(b []byte, intern bool) any {
	if !intern || len(b) > maxInternedLen {
		return string(b)
	}
	if v, ok := md.strs[string(b)]; ok {
		return v
	}
	if len(md.strs) >= maxInternedStrings {
		clear(md.strs)
	}
	s := string(b)
	var v any = s
	md.strs[s] = v
	return v
}

// fastPath decodes the path at b[off]: a fixarray of strings and integers
// is compared raw with the previous mod's path, then looked up among the
// interned paths, and decoded (and interned) only when new; any other
// path goes to pyon's decoder like the generic path().
func (md *msgDecoder) fastPath(b []byte, off int) (p []any, next int, ok bool) {
	if off >= len(b) || b[off]&0xf0 != 0x90 {
		return nil, 0, false
	}
	start := off
	n := int(b[off] & 0x0f)
	off++
	for range n {
		if off >= len(b) {
			return nil, 0, false
		}
		c := b[off]
		if c&0xe0 == 0xa0 || (c >= 0xd9 && c <= 0xdb) {
			_, off, ok = strAt(b, off)
		} else {
			_, off, ok = intAt(b, off)
		}
		if !ok {
			return nil, 0, false
		}
	}
	raw := b[start:off]
	if md.lastPath != nil && bytes.Equal(raw, md.lastPathRaw) {
		return md.lastPath, off, true
	}
	if p, ok = md.paths[string(raw)]; !ok {
		v, end, ok := pyonValueAt(b, start, 1)
		if !ok || end != off {
			return nil, 0, false
		}
		if p, ok = v.([]any); !ok {
			return nil, 0, false
		}
		if len(md.paths) >= maxInternedPaths {
			clear(md.paths)
		}
		md.paths[string(raw)] = p
	}
	md.lastPath = p
	md.lastPathRaw = append(md.lastPathRaw[:0], raw...)
	return p, off, true
}
