package logfwd

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/wire"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// The native protocol (docs/protocol-log.md): after the wire.BannerLog
// banner ("SIGOCO log 2") every frame is a msgpack array whose first element names it.
const (
	opHello  = "hello" // ["hello", {...}] both ways, once
	opRecord = "rec"   // ["rec", time, level, logger, message, attrs]
	opAck    = "ack"   // ["ack", n]: n records of this connection handled
	opError  = "error" // ["error", reason], then the sender closes
	opPing   = "ping"  // ["ping"]: an idle forwarder's heartbeat, answered by an ack
)

// Attribute value kinds: every attribute is [key, kind, value].
const (
	kindString   = "s"
	kindInt      = "i"
	kindUint     = "u"
	kindFloat    = "f"
	kindBool     = "b"
	kindDuration = "d" // int64 nanoseconds
	kindTime     = "t" // msgpack timestamp, nil for the zero time
	kindGroup    = "g" // array of attributes
	kindValue    = "v" // any other value, in pyon's msgpack mapping
)

// controlFrameLimit bounds hello, ack, ping and error frames.
const controlFrameLimit = 64 << 10

// maxReason bounds the reason in an error frame (it may quote the peer).
const maxReason = 1 << 10

// maxGroupDepth bounds nested groups in a decoded record, so a hostile
// frame cannot recurse the decoder into the ground.
const maxGroupDepth = 64

const (
	mpArray32 = 0xdd // msgpack array32 code, used for counts patched later
	mpNil     = 0xc0
)

// encState encodes native frames with wire's one frame writer into a
// reusable buffer (e.B). It is not safe for concurrent use; Forwarders keep
// them in a sync.Pool.
type encState struct {
	e   *wire.Encoder
	enc *msgpack.Encoder // e.Msgpack()
	tmp []byte           // scratch for SiPyCo message text
}

// newEncState returns an encState whose frames may hold limit bytes.
func newEncState(limit int) *encState {
	e := wire.NewEncoder(limit)
	return &encState{e: e, enc: e.Msgpack()}
}

// beginArray32 writes an array header whose count is patched by endArray.
func (st *encState) beginArray32() int {
	at := len(st.e.B)
	st.e.B = append(st.e.B, mpArray32, 0, 0, 0, 0)
	return at
}

func (st *encState) endArray(at, n int) {
	binary.BigEndian.PutUint32(st.e.B[at+1:], uint32(n))
}

// recordHead writes the start of a record frame's array, up to and
// excluding the attribute array.
func (st *encState) recordHead(t time.Time, level slog.Level, logger, msg string) {
	st.e.B = append(st.e.B, 0x96, 0xa3, 'r', 'e', 'c') // fixarray(6), "rec"
	if t.IsZero() {
		st.e.B = append(st.e.B, mpNil)
	} else {
		st.enc.EncodeTime(t)
	}
	st.enc.EncodeInt(int64(level))
	st.enc.EncodeString(logger)
	st.enc.EncodeString(msg)
}

// attr encodes a (resolved first) and returns how many attributes it
// wrote: 0 for an empty attribute or empty group, several for a group with
// an empty key, whose members are inlined as slog prescribes.
func (st *encState) attr(a slog.Attr) int {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return 0
	}
	v := a.Value
	if v.Kind() == slog.KindGroup {
		members := v.Group()
		if a.Key == "" {
			n := 0
			for _, m := range members {
				n += st.attr(m)
			}
			return n
		}
		mark := len(st.e.B)
		st.attrHead(a.Key, kindGroup)
		at := st.beginArray32()
		n := 0
		for _, m := range members {
			n += st.attr(m)
		}
		if n == 0 {
			st.e.B = st.e.B[:mark]
			return 0
		}
		st.endArray(at, n)
		return 1
	}
	switch v.Kind() {
	case slog.KindString:
		st.attrHead(a.Key, kindString)
		st.enc.EncodeString(v.String())
	case slog.KindInt64:
		st.attrHead(a.Key, kindInt)
		st.enc.EncodeInt(v.Int64())
	case slog.KindUint64:
		st.attrHead(a.Key, kindUint)
		st.enc.EncodeUint(v.Uint64())
	case slog.KindFloat64:
		st.attrHead(a.Key, kindFloat)
		st.enc.EncodeFloat64(v.Float64())
	case slog.KindBool:
		st.attrHead(a.Key, kindBool)
		st.enc.EncodeBool(v.Bool())
	case slog.KindDuration:
		st.attrHead(a.Key, kindDuration)
		st.enc.EncodeInt(int64(v.Duration()))
	case slog.KindTime:
		st.attrHead(a.Key, kindTime)
		if t := v.Time(); t.IsZero() {
			st.e.B = append(st.e.B, mpNil)
		} else {
			st.enc.EncodeTime(t)
		}
	default: // KindAny, or a LogValuer that resolved to itself too often
		st.anyAttr(a.Key, v.Any())
	}
	return 1
}

func (st *encState) attrHead(key, kind string) {
	st.e.B = append(st.e.B, 0x93) // fixarray(3)
	st.enc.EncodeString(key)
	st.e.B = append(st.e.B, 0xa1, kind[0]) // fixstr(1)
}

// anyAttr sends errors as their message and everything else in the one
// value model (pyon's msgpack mapping), so a tuple, a set, a big int or a
// numpy array arrives as itself; a value it cannot encode (a channel, a
// function, a cycle) goes as its fmt text.
func (st *encState) anyAttr(key string, x any) {
	if err, ok := x.(error); ok && err != nil {
		st.attrHead(key, kindString)
		st.enc.EncodeString(err.Error())
		return
	}
	mark := len(st.e.B)
	st.attrHead(key, kindValue)
	if err := pyon.EncodeMsgpackValue(st.enc, x); err != nil {
		st.e.B = st.e.B[:mark]
		st.attrHead(key, kindString)
		st.enc.EncodeString(fmt.Sprintf("%+v", x))
	}
}

// helloFrame writes ["hello", {key: value...}] as one frame. Values are
// strings or ints; keys are written in the order given (sorted by callers).
func (st *encState) helloFrame(kv ...any) {
	at := st.e.Begin()
	st.e.B = append(st.e.B, 0x92)
	st.enc.EncodeString(opHello)
	st.enc.EncodeMapLen(len(kv) / 2)
	for i := 0; i+1 < len(kv); i += 2 {
		st.enc.EncodeString(kv[i].(string))
		switch v := kv[i+1].(type) {
		case string:
			st.enc.EncodeString(v)
		case int:
			st.enc.EncodeInt(int64(v))
		}
	}
	_ = st.e.End(at) // control frames stay far below controlFrameLimit
}

func (st *encState) ackFrame(n uint64) {
	at := st.e.Begin()
	st.e.B = append(st.e.B, 0x92)
	st.enc.EncodeString(opAck)
	st.enc.EncodeUint(n)
	_ = st.e.End(at) // control frames stay far below controlFrameLimit
}

// pingFrame writes ["ping"].
func (st *encState) pingFrame() {
	at := st.e.Begin()
	st.e.B = append(st.e.B, 0x91)
	st.enc.EncodeString(opPing)
	_ = st.e.End(at) // control frames stay far below controlFrameLimit
}

// errorFrame writes ["error", reason], or ["error", reason, handled] when
// handled >= 0: the records of the connection handled before the one
// rejected, so the forwarder can drop that one instead of resending it.
func (st *encState) errorFrame(reason string, handled int64) {
	reason = truncate(reason, maxReason)
	at := st.e.Begin()
	if handled >= 0 {
		st.e.B = append(st.e.B, 0x93)
	} else {
		st.e.B = append(st.e.B, 0x92)
	}
	st.enc.EncodeString(opError)
	st.enc.EncodeString(reason)
	if handled >= 0 {
		st.enc.EncodeUint(uint64(handled))
	}
	_ = st.e.End(at) // control frames stay far below controlFrameLimit
}

// decoder decodes native frames. It never recurses deeper than
// maxGroupDepth and never allocates more than the frame's size for a
// count it has not seen the elements of.
type decoder struct {
	p      []byte // the frame being decoded
	r      bytes.Reader
	d      *msgpack.Decoder
	vals   pyon.MsgpackDecoder // kindValue attributes; Used is reset per record
	intern [internSlots]string // short strings seen on this connection
}

// Keys, logger names and short repeated values are allocated once per
// connection, not once per record: a direct-mapped cache of short strings
// (a collision just allocates again).
const (
	internMaxLen = 32
	internSlots  = 512
)

// newDecoder returns a decoder whose attribute values of one record may
// take at most maxDecoded bytes decoded (pyon.SizeOf's model; 0 means
// pyon's default).
func newDecoder(maxDecoded int64) *decoder {
	dc := &decoder{}
	dc.d = msgpack.NewDecoder(&dc.r)
	dc.vals.Limits.MaxDecodedSize = maxDecoded
	return dc
}

// value decodes one value of the value model from the frame in place,
// within dc.vals.Limits: every length inside it is checked against what
// remains of the frame before anything is allocated.
func (dc *decoder) value() (any, error) {
	pos := len(dc.p) - dc.r.Len()
	v, n, err := dc.vals.Decode(dc.p[pos:])
	if err != nil {
		return nil, err
	}
	dc.r.Seek(int64(n), io.SeekCurrent)
	return v, nil
}

// need checks the header of the next value: a string, bin or ext may not
// announce more bytes than remain in the frame. msgpack's decoder would
// allocate the announced length before finding the bytes missing, so
// every string, bin or ext is checked here first: nothing is allocated
// from what a peer announces, only from what it sent (issue 9).
func (dc *decoder) need() error {
	p := dc.p[len(dc.p)-dc.r.Len():]
	if len(p) == 0 {
		return io.ErrUnexpectedEOF
	}
	var hdr, n int
	switch c := p[0]; {
	case c >= 0xa0 && c <= 0xbf: // fixstr
		hdr, n = 1, int(c&0x1f)
	case c == msgpcode.Str8 || c == msgpcode.Bin8:
		hdr = 2
	case c == msgpcode.Str16 || c == msgpcode.Bin16:
		hdr = 3
	case c == msgpcode.Str32 || c == msgpcode.Bin32:
		hdr = 5
	case c >= msgpcode.FixExt1 && c <= msgpcode.FixExt16: // type byte, 1..16 bytes
		hdr, n = 2, 1<<(c-msgpcode.FixExt1)
	case c == msgpcode.Ext8:
		hdr = 3
	case c == msgpcode.Ext16:
		hdr = 4
	case c == msgpcode.Ext32:
		hdr = 6
	default:
		return nil
	}
	if len(p) < hdr {
		return io.ErrUnexpectedEOF
	}
	switch p[0] {
	case msgpcode.Str8, msgpcode.Bin8, msgpcode.Ext8:
		n = int(p[1])
	case msgpcode.Str16, msgpcode.Bin16, msgpcode.Ext16:
		n = int(binary.BigEndian.Uint16(p[1:]))
	case msgpcode.Str32, msgpcode.Bin32, msgpcode.Ext32:
		n = int(binary.BigEndian.Uint32(p[1:]))
	}
	if n > len(p)-hdr {
		return fmt.Errorf("%w: a value announces %d bytes, %d remain in the frame", io.ErrUnexpectedEOF, n, len(p)-hdr)
	}
	return nil
}

// raw decodes a string or bin and returns its bytes in place in the frame
// (valid until the next frame).
func (dc *decoder) raw() ([]byte, error) {
	if err := dc.need(); err != nil {
		return nil, err
	}
	n, err := dc.d.DecodeBytesLen()
	if err != nil || n <= 0 {
		return nil, err
	}
	pos := len(dc.p) - dc.r.Len()
	b := dc.p[pos : pos+n]
	dc.r.Seek(int64(n), io.SeekCurrent)
	return b, nil
}

// str decodes a string (the bytes are taken from the frame in place, see
// raw) and interns it if it is short.
func (dc *decoder) str() (string, error) {
	b, err := dc.raw()
	n := len(b)
	if err != nil || n == 0 {
		return "", err
	}
	if n == 1 || n > internMaxLen {
		return string(b), nil // one byte strings never allocate
	}
	h := (uint(n)*131 + uint(b[0])*31 + uint(b[n/2])*7 + uint(b[n-1])) % internSlots
	if s := dc.intern[h]; s == string(b) {
		return s, nil
	}
	s := string(b)
	dc.intern[h] = s
	return s, nil
}

// skip skips one value of any kind, checking every length inside it (see
// need) and nesting no deeper than maxGroupDepth.
func (dc *decoder) skip(depth int) error {
	if depth > maxGroupDepth {
		return fmt.Errorf("values nested deeper than %d", maxGroupDepth)
	}
	c, err := dc.d.PeekCode()
	if err != nil {
		return err
	}
	var n int
	switch {
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		if n, err = dc.d.DecodeArrayLen(); err != nil {
			return err
		}
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		if n, err = dc.d.DecodeMapLen(); err != nil {
			return err
		}
		n *= 2
	default:
		if err := dc.need(); err != nil {
			return err
		}
		return dc.d.Skip()
	}
	for range n { // every element takes a byte: a false count ends at EOF
		if err := dc.skip(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

func badf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadRecord}, args...)...)
}

// frame starts decoding payload and returns its op and element count.
func (dc *decoder) frame(payload []byte) (op string, n int, err error) {
	dc.p = payload
	dc.r.Reset(payload)
	dc.d.ResetReader(&dc.r)
	n, err = dc.d.DecodeArrayLen()
	if err != nil || n < 1 {
		return "", 0, badf("frame is not an array with an op")
	}
	op, err = dc.str()
	if err != nil {
		return "", 0, badf("op: %v", err)
	}
	return op, n, nil
}

// end checks that nothing trails the message.
func (dc *decoder) end() error {
	if dc.r.Len() != 0 {
		return badf("%d bytes after the message", dc.r.Len())
	}
	return nil
}

// record decodes the rest of a "rec" frame of n elements into rec,
// reusing rec.Attrs' memory. rec.Source is left alone.
func (dc *decoder) record(n int, rec *record) error {
	if n != 6 {
		return badf("record has %d elements, want 6", n)
	}
	d := dc.d
	dc.vals.Used = 0
	var err error
	if rec.Time, err = dc.time(); err != nil {
		return badf("time: %v", err)
	}
	level, err := d.DecodeInt64()
	if err != nil || level < -1<<31 || level >= 1<<31 {
		return badf("level: %v", err)
	}
	rec.Level = slog.Level(level)
	if rec.Logger, err = dc.str(); err != nil {
		return badf("logger: %v", err)
	}
	if rec.Message, err = dc.str(); err != nil {
		return badf("message: %v", err)
	}
	if rec.Attrs, err = dc.attrs(rec.Attrs[:0], 0); err != nil {
		return err
	}
	return dc.end()
}

func (dc *decoder) time() (time.Time, error) {
	if c, err := dc.d.PeekCode(); err != nil {
		return time.Time{}, err
	} else if c == mpNil {
		dc.d.DecodeNil()
		return time.Time{}, nil
	}
	if err := dc.need(); err != nil {
		return time.Time{}, err
	}
	return dc.d.DecodeTime()
}

// attrs decodes an attribute array appended to dst.
func (dc *decoder) attrs(dst []slog.Attr, depth int) ([]slog.Attr, error) {
	if depth > maxGroupDepth {
		return dst, badf("groups nested deeper than %d", maxGroupDepth)
	}
	n, err := dc.d.DecodeArrayLen()
	if err != nil {
		return dst, badf("attributes: %v", err)
	}
	if n > 0 && dst == nil {
		// n is the peer's word: start small, append grows with what is
		// really there (nested groups would each reserve a multiple of
		// the frame otherwise).
		dst = make([]slog.Attr, 0, min(n, 8))
	}
	for range n {
		a, err := dc.attr(depth)
		if err != nil {
			return dst, err
		}
		dst = append(dst, a)
	}
	return dst, nil
}

func (dc *decoder) attr(depth int) (slog.Attr, error) {
	d := dc.d
	if m, err := d.DecodeArrayLen(); err != nil || m != 3 {
		return slog.Attr{}, badf("attribute is not [key, kind, value]")
	}
	key, err := dc.str()
	if err != nil {
		return slog.Attr{}, badf("attribute key: %v", err)
	}
	kind, err := dc.str()
	if err != nil {
		return slog.Attr{}, badf("attribute %q kind: %v", key, err)
	}
	var v slog.Value
	switch kind {
	case kindString:
		var s string
		s, err = dc.str()
		v = slog.StringValue(s)
	case kindInt:
		var i int64
		i, err = d.DecodeInt64()
		v = slog.Int64Value(i)
	case kindUint:
		var u uint64
		u, err = d.DecodeUint64()
		v = slog.Uint64Value(u)
	case kindFloat:
		var f float64
		f, err = d.DecodeFloat64()
		v = slog.Float64Value(f)
	case kindBool:
		var b bool
		b, err = d.DecodeBool()
		v = slog.BoolValue(b)
	case kindDuration:
		var i int64
		i, err = d.DecodeInt64()
		v = slog.DurationValue(time.Duration(i))
	case kindTime:
		var t time.Time
		t, err = dc.time()
		v = slog.TimeValue(t)
	case kindGroup:
		var members []slog.Attr
		members, err = dc.attrs(nil, depth+1)
		if err != nil {
			return slog.Attr{}, err
		}
		v = slog.GroupValue(members...)
	case kindValue:
		var x any
		x, err = dc.value()
		v = slog.AnyValue(x)
	default:
		return slog.Attr{}, badf("attribute %q: unknown kind %q", key, kind)
	}
	if err != nil {
		return slog.Attr{}, badf("attribute %q value: %w", key, err)
	}
	return slog.Attr{Key: key, Value: v}, nil
}

// hello decodes the map of a "hello" frame of n elements. Only string and
// integer values are kept; others are skipped without being decoded (a
// container's count is the peer's word: decoding one would allocate it).
func (dc *decoder) hello(n int) (map[string]any, error) {
	if n != 2 {
		return nil, badf("hello has %d elements, want 2", n)
	}
	m, err := dc.d.DecodeMapLen()
	if err != nil {
		return nil, badf("hello: %v", err)
	}
	out := make(map[string]any, min(max(m, 0), 16))
	for range m {
		k, err := dc.str()
		if err != nil {
			return nil, badf("hello key: %v", err)
		}
		c, err := dc.d.PeekCode()
		var v any
		if err == nil {
			switch {
			case msgpcode.IsString(c):
				v, err = dc.str()
			case msgpcode.IsFixedNum(c) || c >= msgpcode.Uint8 && c <= msgpcode.Int64:
				v, err = dc.value()
			default:
				err = dc.skip(0)
			}
		}
		if err != nil {
			return nil, badf("hello %q: %v", k, err)
		}
		switch v.(type) {
		case string, int64, uint64:
			out[k] = v
		}
	}
	return out, dc.end()
}

// single decodes the one argument of an "ack" or "error" frame.
func (dc *decoder) ack(n int) (uint64, error) {
	if n != 2 {
		return 0, badf("ack has %d elements, want 2", n)
	}
	v, err := dc.d.DecodeUint64()
	if err != nil {
		return 0, badf("ack: %v", err)
	}
	return v, dc.end()
}

func (dc *decoder) errorReason(n int) string {
	reason, _, _ := dc.errorFrame(n)
	return reason
}

// errorFrame decodes the rest of an "error" frame of n elements.
func (dc *decoder) errorFrame(n int) (reason string, handled uint64, counted bool) {
	if n < 2 {
		return "(no reason given)", 0, false
	}
	reason, err := dc.str()
	if err != nil {
		return "(unreadable reason)", 0, false
	}
	if n >= 3 {
		if h, err := dc.d.DecodeUint64(); err == nil {
			return reason, h, true
		}
	}
	return reason, 0, false
}
