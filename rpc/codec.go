package rpc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/wire"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// maxDepth bounds the nesting of decoded values, so a frame of nested
// one-byte arrays cannot exhaust the stack.
const maxDepth = 1000

// errMalformed marks msgpack that does not decode at all (as opposed to a
// well-formed value of the wrong type).
var errMalformed = errors.New("malformed msgpack")

// frameEncoder encodes msgpack values as wire frames appended to a byte
// slice, so a whole message costs one buffer and, once warm, no
// allocation. The options match wire.Encoder: compact integers and sorted
// map keys (the same value always gives the same bytes).
type frameEncoder struct {
	w     appendWriter
	enc   *msgpack.Encoder
	start int
}

func newFrameEncoder() *frameEncoder {
	e := &frameEncoder{}
	e.enc = msgpack.NewEncoder(&e.w)
	e.enc.SetSortMapKeys(true)
	e.enc.UseCompactInts(true)
	return e
}

// begin starts a frame at the end of dst; encode with e.enc, then call end.
func (e *frameEncoder) begin(dst []byte) {
	e.start = len(dst)
	e.w.b = append(dst, 0, 0, 0, 0)
}

// end writes the frame's length and returns the extended slice. A frame
// over limit is removed again and reported as *wire.FrameTooLargeError.
func (e *frameEncoder) end(limit int) ([]byte, error) {
	b := e.w.b
	e.w.b = nil
	n := len(b) - e.start - 4
	if n > limit {
		return b[:e.start], &wire.FrameTooLargeError{Size: uint64(n), Limit: limit}
	}
	binary.BigEndian.PutUint32(b[e.start:], uint32(n))
	return b, nil
}

// abort drops the frame begun last and returns the slice without it.
func (e *frameEncoder) abort() []byte {
	b := e.w.b[:e.start]
	e.w.b = nil
	return b
}

// appendWriter lets msgpack encode straight into a byte slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func (w *appendWriter) WriteByte(c byte) error {
	w.b = append(w.b, c)
	return nil
}

func (w *appendWriter) WriteString(s string) (int, error) {
	w.b = append(w.b, s...)
	return len(s), nil
}

// msgDecoder decodes msgpack values from one frame held in memory. The
// msgpack decoder reads the bytes.Reader directly (no read-ahead), so the
// reader's position is the decoder's.
type msgDecoder struct {
	br bytes.Reader
	d  *msgpack.Decoder
	b  []byte // the current frame

	// limit bounds the memory the values decoded from one frame may take
	// (0: no bound); used is the estimate so far (see charge).
	limit, used int

	scratch [64]byte
}

// Estimated memory of decoded values, charged against msgDecoder.limit:
// the bytes of strings and bins, the elements of slices, an interface slot
// per untyped element, and per map entry its two slots plus the map's own
// overhead. docs/protocol-rpc.md states this cost model.
const (
	costSlot     = 16 // one interface value
	costMapEntry = 64 // two slots and a map entry's share of buckets
)

// errDecodedTooLarge is a request whose decoded values would take more
// memory than ServerOptions.MaxDecodedSize.
var errDecodedTooLarge = errors.New("decoded size over the limit")

// charge counts n more bytes of decoded values against the limit.
func (m *msgDecoder) charge(n int) error {
	m.used += n
	if m.limit > 0 && m.used > m.limit {
		return fmt.Errorf("%w: the request decodes to more than %d bytes (ServerOptions.MaxDecodedSize)", errDecodedTooLarge, m.limit)
	}
	return nil
}

func newMsgDecoder() *msgDecoder {
	m := &msgDecoder{}
	m.d = msgpack.NewDecoder(&m.br)
	m.d.UseLooseInterfaceDecoding(true)
	m.d.DisallowUnknownFields(true)
	// Maps met by msgpack's own interface decoding come here, so their
	// announced sizes are checked and non-string keys work.
	m.d.SetMapDecoder(func(d *msgpack.Decoder) (any, error) { return m.decodeMap(0) })
	return m
}

func (m *msgDecoder) reset(b []byte) {
	m.br.Reset(b)
	m.b = b
	m.used = 0
}

// offset is the position of the next byte to decode in the frame.
func (m *msgDecoder) offset() int { return len(m.b) - m.br.Len() }

// peek returns the msgpack code of the next value, as d.PeekCode does,
// without two calls through the reader.
func (m *msgDecoder) peek() (byte, error) {
	if off := m.offset(); off < len(m.b) {
		return m.b[off], nil
	}
	return 0, io.ErrUnexpectedEOF
}

// seek moves the decoder back to an earlier offset of the same frame.
func (m *msgDecoder) seek(off int) { m.br.Seek(int64(off), 0) }

func (m *msgDecoder) remaining() int { return m.br.Len() }

// lenOK checks that the str, bin or ext value at the decoder's position
// fits in the bytes left of the frame, so that msgpack, which allocates
// the announced length before reading, only allocates what was sent.
// Other values pass (their lengths are checked where they are decoded).
func (m *msgDecoder) lenOK() error {
	off := m.offset()
	if off >= len(m.b) {
		return io.ErrUnexpectedEOF
	}
	b := m.b[off:]
	c := b[0]
	var hdr, size int // header bytes, length field bytes
	switch {
	case msgpcode.IsFixedString(c):
		if 1+int(c&msgpcode.FixedStrMask) > len(b) {
			return fmt.Errorf("%w: string of %d bytes in %d bytes", errMalformed, c&msgpcode.FixedStrMask, len(b)-1)
		}
		return nil
	case c == msgpcode.Str8 || c == msgpcode.Bin8:
		hdr, size = 2, 1
	case c == msgpcode.Str16 || c == msgpcode.Bin16:
		hdr, size = 3, 2
	case c == msgpcode.Str32 || c == msgpcode.Bin32:
		hdr, size = 5, 4
	case c == msgpcode.Ext8:
		hdr, size = 3, 1
	case c == msgpcode.Ext16:
		hdr, size = 4, 2
	case c == msgpcode.Ext32:
		hdr, size = 6, 4
	default:
		return nil
	}
	if len(b) < hdr {
		return io.ErrUnexpectedEOF
	}
	var n uint64
	for _, x := range b[1 : 1+size] {
		n = n<<8 | uint64(x)
	}
	if n > uint64(len(b)-hdr) {
		return fmt.Errorf("%w: a value of %d bytes announced with %d left", errMalformed, n, len(b)-hdr)
	}
	return m.charge(int(n))
}

// decodeString and decodeBytes decode a string or bin whose announced
// length is first checked against the bytes left (lenOK).
func (m *msgDecoder) decodeString() (string, error) {
	if err := m.lenOK(); err != nil {
		return "", err
	}
	return m.d.DecodeString()
}

func (m *msgDecoder) decodeBytes() ([]byte, error) {
	if err := m.lenOK(); err != nil {
		return nil, err
	}
	return m.d.DecodeBytes()
}

// shortString reads a string of at most 64 bytes into scratch memory,
// valid until the next call; for names compared without allocating.
func (m *msgDecoder) shortString() ([]byte, error) {
	c, err := m.peek()
	if err != nil {
		return nil, err
	}
	if !msgpcode.IsString(c) {
		return nil, fmt.Errorf("expected a string, got code %#x", c)
	}
	n, err := m.d.DecodeBytesLen()
	if err != nil {
		return nil, err
	}
	if n < 0 || n > len(m.scratch) || n > m.br.Len() {
		return nil, fmt.Errorf("string of %d bytes where a short name belongs", n)
	}
	b := m.scratch[:n]
	return b, m.d.ReadFull(b)
}

// arrayLen decodes an array header whose length is checked against the
// bytes left (every element takes at least one). -1 means nil.
func (m *msgDecoder) arrayLen() (int, error) {
	n, err := m.d.DecodeArrayLen()
	if err != nil {
		return 0, err
	}
	if n > m.br.Len() {
		return 0, fmt.Errorf("%w: array of %d elements in %d bytes", errMalformed, n, m.br.Len())
	}
	return n, nil
}

func (m *msgDecoder) mapLen() (int, error) {
	n, err := m.d.DecodeMapLen()
	if err != nil {
		return 0, err
	}
	if n > m.br.Len()/2 {
		return 0, fmt.Errorf("%w: map of %d entries in %d bytes", errMalformed, n, m.br.Len())
	}
	return n, nil
}

// decodeAny decodes the next value into the plain Go values a caller can
// expect from an untyped decode: nil, bool, int64 (*big.Int above
// math.MaxInt64), float64, string, []byte, []any, map[string]any
// (pyon.Dict when a key is not a string), []int64 / []float64 for packed
// arrays, or what a registered msgpack extension gives (complex128,
// *pyon.Fraction, pyon.Slice and pyon's other types).
func (m *msgDecoder) decodeAny(depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d", errMalformed, maxDepth)
	}
	c, err := m.d.PeekCode()
	if err != nil {
		return nil, err
	}
	switch {
	case c <= msgpcode.PosFixedNumHigh:
		m.d.Skip()
		return int64(c), nil
	case c == msgpcode.Uint8 || c == msgpcode.Uint16 || c == msgpcode.Uint32 || c == msgpcode.Uint64:
		u, err := m.d.DecodeUint64()
		if err != nil {
			return nil, err
		}
		if u <= math.MaxInt64 {
			return int64(u), nil
		}
		return new(big.Int).SetUint64(u), nil // as pyon gives ints beyond int64
	case msgpcode.IsFixedNum(c) || c == msgpcode.Int8 || c == msgpcode.Int16 || c == msgpcode.Int32 || c == msgpcode.Int64:
		return m.d.DecodeInt64()
	case c == msgpcode.Float || c == msgpcode.Double:
		return m.d.DecodeFloat64()
	case msgpcode.IsString(c):
		return m.decodeString()
	case msgpcode.IsBin(c):
		return m.decodeBytes()
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		n, err := m.arrayLen()
		if err != nil || n < 0 {
			return nil, err
		}
		if err := m.charge(n * costSlot); err != nil {
			return nil, err
		}
		s := make([]any, n)
		for i := range s {
			if s[i], err = m.decodeAny(depth + 1); err != nil {
				return nil, err
			}
		}
		return s, nil
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		return m.decodeMap(depth)
	case msgpcode.IsExt(c):
		if v, ok, err := m.decodePacked(); ok || err != nil {
			return v, err
		}
		if err := m.lenOK(); err != nil {
			return nil, err
		}
	}
	return m.d.DecodeInterfaceLoose()
}

func (m *msgDecoder) decodeMap(depth int) (any, error) {
	start := m.offset()
	n, err := m.mapLen()
	if err != nil || n < 0 {
		return nil, err
	}
	if err := m.charge(n * costMapEntry); err != nil {
		return nil, err
	}
	sm := make(map[string]any, n)
	for i := 0; i < n; i++ {
		k, err := m.decodeAny(depth + 1)
		if err != nil {
			return nil, err
		}
		ks, ok := k.(string)
		if !ok {
			// Not a str-keyed map: decoded again, in order, as pyon.Dict.
			m.seek(start)
			return m.decodeDict(depth)
		}
		if sm[ks], err = m.decodeAny(depth + 1); err != nil {
			return nil, err
		}
	}
	return sm, nil
}

// decodeDict decodes a map with keys that are not all strings as a
// pyon.Dict, its entries in wire order (the value model's form for such
// maps, as SiPyCo's protocol gives them).
func (m *msgDecoder) decodeDict(depth int) (any, error) {
	n, err := m.mapLen()
	if err != nil {
		return nil, err
	}
	d := make(pyon.Dict, n)
	for i := range d {
		if d[i].Key, err = m.decodeAny(depth + 1); err != nil {
			return nil, err
		}
		if d[i].Value, err = m.decodeAny(depth + 1); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// check walks the next value without decoding it, verifying that every
// announced array and map length fits in the bytes left and that nesting is
// bounded. msgpack's reflective decoding allocates from announced lengths,
// so values of types that hold slices, maps or interfaces are checked first.
func (m *msgDecoder) check(depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nested deeper than %d", errMalformed, maxDepth)
	}
	c, err := m.d.PeekCode()
	if err != nil {
		return err
	}
	switch {
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		n, err := m.arrayLen()
		if err != nil {
			return err
		}
		if err := m.charge(n * costSlot); err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if err := m.check(depth + 1); err != nil {
				return err
			}
		}
		return nil
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		n, err := m.mapLen()
		if err != nil {
			return err
		}
		if err := m.charge(n * costMapEntry); err != nil {
			return err
		}
		for i := 0; i < 2*n; i++ {
			if err := m.check(depth + 1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := m.lenOK(); err != nil {
		return err
	}
	return m.d.Skip()
}

// describe names a decoded value the way argument errors show it:
// `string "x"`, `int 5`, `array of 3 elements`.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case bool:
		return "bool " + strconv.FormatBool(x)
	case int64:
		return "int " + strconv.FormatInt(x, 10)
	case float64:
		return "float64 " + strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		if len(x) > 40 {
			return "string " + strconv.Quote(x[:40]) + "…"
		}
		return "string " + strconv.Quote(x)
	case []byte:
		return fmt.Sprintf("bytes of length %d", len(x))
	case []any:
		return plural(len(x), "array of %d element")
	case map[string]any:
		return plural(len(x), "map of %d entr")
	case pyon.Dict:
		return plural(len(x), "map of %d entr")
	case *big.Int:
		return "int " + x.String()
	}
	return fmt.Sprintf("%T value", v)
}

func plural(n int, format string) string {
	s := fmt.Sprintf(format, n)
	switch {
	case strings.HasSuffix(format, "entr") && n == 1:
		return s + "y"
	case strings.HasSuffix(format, "entr"):
		return s + "ies"
	case n == 1:
		return s
	}
	return s + "s"
}

// typeName is a Go type as listings and errors show it.
func typeName(t reflect.Type) string {
	return strings.ReplaceAll(t.String(), "interface {}", "any")
}
