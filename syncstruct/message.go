package syncstruct

import (
	"bytes"
	"fmt"
	"io"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// Message types (the "t" field). A message without "t" is a mod.
const (
	msgSubscribe = "subscribe" // subscriber → publisher
	msgPing      = "ping"      // both ways, when idle
	msgSync      = "sync"      // answer to subscribe, and start of a resync
	msgChunk     = "chunk"     // one piece of an init mod
	msgSynced    = "synced"    // end of an initial sync
	msgError     = "error"     // the publisher's last message on a failed connection
)

// Sync modes in a sync message.
const (
	modeSnapshot = "snapshot" // an init mod follows
	modeResume   = "resume"   // the missed mods follow
)

// Reasons a sync message gives for a snapshot.
const (
	ReasonNew      = "new"      // the subscriber had no replica
	ReasonEpoch    = "epoch"    // the replica is from another epoch (the publisher restarted)
	ReasonHistory  = "history"  // the missed mods are no longer in the history
	ReasonBehind   = "behind"   // the subscriber fell behind; its backlog was dropped
	ReasonSeq      = "seq"      // the replica claims a sequence number the publisher never reached
	ReasonOversize = "oversize" // a mod was too large to send as one message

	// Reasons a Subscriber reports for snapshots from a SiPyCo publisher,
	// which sends no reason (and no sync message).
	ReasonSiPyCo = "sipyco" // a reconnection: SiPyCo cannot resume, every connection starts with a snapshot
	ReasonReinit = "reinit" // a further init on the same connection (a sigoco publisher sends one to a SiPyCo subscriber that fell behind)
)

// message is any protocol message, decoded. Mod fields are used by mods;
// Seq also by subscribe, sync and synced.
type message struct {
	T string // "" for a mod
	Mod
	has uint16 // which mod fields were present (has* bits)

	Notifier    string
	Token       string // subscribe
	Epoch       uint64
	Mode        string
	Reason      string
	HeartbeatMS int64
	Code        string
	Message     string
	D           []byte // chunk data; aliases the decoded buffer
}

const (
	hasAction = 1 << iota
	hasPath
	hasKey
	hasValue
	hasX
	hasI
	hasStruct
)

// msgDecoder decodes messages from byte slices, reusing its state. On the
// subscriber's hot path most of the cost of a mod is allocation, so it
// reads strings straight from the message and interns what repeats: paths
// (shared between the mods that carry them: a Mod's Path must not be
// modified) and short keys.
type msgDecoder struct {
	r   bytes.Reader
	d   *msgpack.Decoder
	src []byte // the message being decoded
	key [16]byte

	paths map[string][]any // by their encoding
	strs  map[string]any   // short strings, boxed once

	// The previous path the fast path decoded, and its encoding.
	lastPath    []any
	lastPathRaw []byte

	generic bool // never take the fast path (tests compare both)
}

// Bounds of the intern tables; a full table is simply emptied.
const (
	maxInternedPaths   = 1024
	maxInternedStrings = 4096
	maxInternedLen     = 64
)

func newMsgDecoder() *msgDecoder {
	md := &msgDecoder{paths: make(map[string][]any), strs: make(map[string]any)}
	md.d = newMsgpackDecoder(&md.r)
	return md
}

// pos is the offset of the next byte to decode in md.src.
func (md *msgDecoder) pos() int { return len(md.src) - md.r.Len() }

// value decodes a field value; a top-level string is read straight from
// the message (one copy, no intermediate buffer) and interned if short
// and intern is set.
func (md *msgDecoder) value(intern bool) (any, error) {
	c, err := md.d.PeekCode()
	if err != nil {
		return nil, err
	}
	if !msgpcode.IsString(c) {
		return decodeValue(md.d, 1)
	}
	n, err := md.d.DecodeBytesLen()
	if err != nil {
		return nil, err
	}
	if n < 0 || n > md.r.Len() {
		return nil, io.ErrUnexpectedEOF
	}
	p := md.pos()
	b := md.src[p : p+n]
	md.r.Seek(int64(n), io.SeekCurrent)
	if !intern || n > maxInternedLen {
		return string(b), nil
	}
	if v, ok := md.strs[string(b)]; ok {
		return v, nil
	}
	if len(md.strs) >= maxInternedStrings {
		clear(md.strs)
	}
	s := string(b)
	var v any = s
	md.strs[s] = v
	return v, nil
}

// path decodes a mod's path, sharing the slice with earlier mods that had
// the same path. Only paths of strings and integers are interned.
func (md *msgDecoder) path() ([]any, error) {
	start := md.pos()
	n, err := md.d.DecodeArrayLen()
	if err != nil {
		return nil, err
	}
	flat := n >= 0 && n <= 16
	for i := 0; flat && i < n; i++ {
		c, err := md.d.PeekCode()
		if err != nil {
			return nil, err
		}
		if !msgpcode.IsString(c) && !msgpcode.IsFixedNum(c) && !(c >= msgpcode.Uint8 && c <= msgpcode.Int64) {
			flat = false
			break
		}
		if err := md.d.Skip(); err != nil {
			return nil, err
		}
	}
	if flat {
		raw := md.src[start:md.pos()]
		if p, ok := md.paths[string(raw)]; ok {
			return p, nil
		}
	}
	// Decode it properly, from the start.
	md.r.Seek(int64(start), io.SeekStart)
	v, err := decodeValue(md.d, 1)
	if err != nil {
		return nil, err
	}
	l, ok := v.([]any)
	if !ok && v != nil {
		return nil, fmt.Errorf("path is a %s, not a list", typeName(v))
	}
	if flat && l != nil {
		if len(md.paths) >= maxInternedPaths {
			clear(md.paths)
		}
		md.paths[string(md.src[start:md.pos()])] = l
	}
	return l, nil
}

// decode decodes one message that fills b exactly. m is overwritten.
func (md *msgDecoder) decode(b []byte, m *message) error {
	if !md.generic {
		if md.fastMod(b, m) {
			return m.checkMod()
		}
	}
	*m = message{}
	md.src = b
	md.r.Reset(b)
	md.d.ResetReader(&md.r)
	if err := md.decodeFields(m, b); err != nil {
		return fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	if md.r.Len() != 0 {
		return fmt.Errorf("%w: %d bytes after the message", ErrBadMessage, md.r.Len())
	}
	if m.T == "" {
		return m.checkMod()
	}
	return nil
}

func (md *msgDecoder) decodeFields(m *message, b []byte) error {
	d := md.d
	n, err := d.DecodeMapLen()
	if err != nil {
		return err
	}
	if n < 0 {
		return fmt.Errorf("message is nil")
	}
	for range n {
		kn, err := d.DecodeBytesLen()
		if err != nil {
			return fmt.Errorf("message key: %w", err)
		}
		if kn < 0 || kn > len(md.key) {
			// No field has a long name: skip it.
			if kn > md.r.Len() {
				return fmt.Errorf("truncated")
			}
			md.r.Seek(int64(kn), 1)
			if _, err := decodeValue(d, 1); err != nil {
				return err
			}
			continue
		}
		k := md.key[:kn]
		if err := d.ReadFull(k); err != nil {
			return err
		}
		switch string(k) {
		case "t":
			m.T, err = d.DecodeString()
		case "action":
			var s string
			s, err = d.DecodeString()
			m.Action = internAction(s)
			m.has |= hasAction
		case "path":
			m.Path, err = md.path()
			m.has |= hasPath
		case "key":
			m.Key, err = md.value(true)
			m.has |= hasKey
		case "value":
			m.Value, err = md.value(false)
			m.has |= hasValue
		case "x":
			m.X, err = md.value(false)
			m.has |= hasX
		case "struct":
			m.Struct, err = decodeValue(d, 0)
			m.has |= hasStruct
		case "i":
			var v any
			if v, err = md.value(true); err != nil {
				break
			}
			m.has |= hasI
			if i, ok := v.(int64); ok {
				if i < -1<<31 || i > 1<<31 {
					return fmt.Errorf("index %d out of range", i)
				}
				m.I = int(i)
				break
			}
			// A dict pop's key travels as "i".
			if v == nil || !isKey(v) {
				return fmt.Errorf("\"i\" is a %s, not an index or a key", typeName(v))
			}
			m.Key = v
		case "seq":
			m.Seq, err = d.DecodeUint64()
		case "epoch":
			m.Epoch, err = d.DecodeUint64()
		case "notifier":
			m.Notifier, err = d.DecodeString()
		case "token":
			m.Token, err = d.DecodeString()
		case "mode":
			m.Mode, err = d.DecodeString()
		case "reason":
			m.Reason, err = d.DecodeString()
		case "heartbeat_ms":
			m.HeartbeatMS, err = d.DecodeInt64()
		case "code":
			m.Code, err = d.DecodeString()
		case "message":
			m.Message, err = d.DecodeString()
		case "d":
			// Chunk data is not copied: it aliases b.
			var dn int
			dn, err = d.DecodeBytesLen()
			if err == nil {
				if dn < 0 || dn > md.r.Len() {
					return fmt.Errorf("chunk data truncated")
				}
				off := len(b) - md.r.Len()
				m.D = b[off : off+dn]
				md.r.Seek(int64(dn), 1)
			}
		default:
			_, err = decodeValue(d, 1)
		}
		if err != nil {
			return fmt.Errorf("field %q: %w", k, err)
		}
	}
	return nil
}

// internAction avoids keeping a fresh string per mod.
func internAction(s string) Action {
	switch s {
	case "setitem":
		return ActSetItem
	case "append":
		return ActAppend
	case "delitem":
		return ActDelItem
	case "pop":
		return ActPop
	case "insert":
		return ActInsert
	case "init":
		return ActInit
	}
	return Action(s)
}

// checkMod verifies that a message without "t" is a well-formed mod.
func (m *message) checkMod() error {
	if m.has&hasAction == 0 {
		return fmt.Errorf("%w: message has neither \"t\" nor \"action\"", ErrBadMessage)
	}
	if err := m.Mod.validate(); err != nil {
		return err
	}
	var need uint16
	switch m.Action {
	case ActInit:
		need = hasStruct
	case ActAppend:
		need = hasPath | hasX
	case ActInsert:
		need = hasPath | hasI | hasX
	case ActPop:
		need = hasPath
		if m.has&hasI == 0 {
			m.I = -1
		}
	case ActSetItem:
		need = hasPath | hasKey | hasValue
	case ActDelItem:
		need = hasPath | hasKey
	}
	if m.has&need != need {
		return fmt.Errorf("%w: %s mod lacks a field", ErrBadMod, m.Action)
	}
	return nil
}

// decodeMod decodes one mod in the native msgpack encoding (a frame's
// payload, without its length prefix).
func decodeMod(b []byte) (*Mod, error) {
	var m message
	if err := newMsgDecoder().decode(b, &m); err != nil {
		return nil, err
	}
	if m.T != "" {
		return nil, fmt.Errorf("%w: a %q message, not a mod", ErrBadMessage, m.T)
	}
	mod := m.Mod
	return &mod, nil
}

// encodeMod writes the native msgpack encoding of m: a map of the fields
// its action uses (see Mod), then "seq".
func encodeMod(e *msgpack.Encoder, m *Mod) error {
	if err := m.validate(); err != nil {
		return err
	}
	n := 2
	switch m.Action {
	case ActInit:
		n += 1 // struct
	case ActAppend, ActPop, ActDelItem:
		n += 2 // path + x|i|key
	case ActSetItem, ActInsert:
		n += 3
	}
	enc := func(k string, v any) error {
		if err := e.EncodeString(k); err != nil {
			return err
		}
		return encodeValue(e, v, 1)
	}
	if err := e.EncodeMapLen(n); err != nil {
		return err
	}
	if err := e.EncodeString("action"); err != nil {
		return err
	}
	if err := e.EncodeString(string(m.Action)); err != nil {
		return err
	}
	if m.Action == ActInit {
		if err := e.EncodeString("struct"); err != nil {
			return err
		}
		if err := encodeValue(e, m.Struct, 0); err != nil {
			return err
		}
	} else {
		if err := e.EncodeString("path"); err != nil {
			return err
		}
		if err := e.EncodeArrayLen(len(m.Path)); err != nil {
			return err
		}
		for _, p := range m.Path {
			if err := encodeValue(e, p, 1); err != nil {
				return err
			}
		}
		var err error
		switch m.Action {
		case ActAppend:
			err = enc("x", m.X)
		case ActInsert:
			if err = enc("i", int64(m.I)); err == nil {
				err = enc("x", m.X)
			}
		case ActPop:
			if m.Key != nil {
				err = enc("i", m.Key)
			} else {
				err = enc("i", int64(m.I))
			}
		case ActSetItem:
			if err = enc("key", m.Key); err == nil {
				err = enc("value", m.Value)
			}
		case ActDelItem:
			err = enc("key", m.Key)
		}
		if err != nil {
			return err
		}
	}
	if err := e.EncodeString("seq"); err != nil {
		return err
	}
	return e.EncodeUint(m.Seq)
}

// control is a non-mod message to encode.
type control struct {
	T           string
	Notifier    string // subscribe
	Token       string // subscribe, only when set
	Epoch       uint64 // subscribe, sync
	Seq         uint64 // subscribe, sync, synced
	Mode        string // sync
	Reason      string // sync
	HeartbeatMS int64  // sync
	Code        string // error
	Message     string // error
}

// encodeControl writes c as a msgpack map holding only the fields its type
// uses.
func encodeControl(e *msgpack.Encoder, c *control) error {
	type kv struct {
		k string
		v any
	}
	var f []kv
	switch c.T {
	case msgSubscribe:
		f = []kv{{"notifier", c.Notifier}, {"epoch", c.Epoch}, {"seq", c.Seq}}
		if c.Token != "" {
			f = append(f, kv{"token", c.Token})
		}
	case msgSync:
		f = []kv{{"epoch", c.Epoch}, {"seq", c.Seq}, {"mode", c.Mode}, {"reason", c.Reason}, {"heartbeat_ms", c.HeartbeatMS}}
	case msgSynced:
		f = []kv{{"seq", c.Seq}}
	case msgError:
		f = []kv{{"code", c.Code}, {"message", c.Message}}
	}
	if err := e.EncodeMapLen(1 + len(f)); err != nil {
		return err
	}
	if err := e.EncodeString("t"); err != nil {
		return err
	}
	if err := e.EncodeString(c.T); err != nil {
		return err
	}
	for _, x := range f {
		if err := e.EncodeString(x.k); err != nil {
			return err
		}
		var err error
		switch v := x.v.(type) {
		case string:
			err = e.EncodeString(v)
		case uint64:
			err = e.EncodeUint(v)
		case int64:
			err = e.EncodeInt(v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
