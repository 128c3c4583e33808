package rpc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/big"
	"reflect"
	"strconv"
	"strings"

	"github.com/sigoco/sigoco/pyon"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// errMalformed marks msgpack that does not decode at all (as opposed to a
// well-formed value of the wrong type).
var errMalformed = errors.New("malformed msgpack")

// msgDecoder decodes the messages of one frame held in memory: their
// headers with msgpack's primitives, their values with pyon's one bounded
// decoder (pd), which checks every announced length against the bytes
// left of the frame and charges what it decodes against
// ServerOptions.MaxDecodedSize. The msgpack decoder reads the bytes.Reader
// directly (no read-ahead), so the reader's position is the decoder's.
type msgDecoder struct {
	br bytes.Reader
	d  *msgpack.Decoder
	b  []byte // the current frame

	// pd decodes values; pd.Used is the decoded size of the request so far
	// (reset per frame), pd.Limits.MaxDecodedSize its bound (<0: none).
	pd pyon.MsgpackDecoder

	scratch [64]byte
}

// errDecodedTooLarge is a request whose decoded values would take more
// memory than ServerOptions.MaxDecodedSize.
var errDecodedTooLarge = errors.New("decoded size over the limit")

// tooLarge wraps err in errDecodedTooLarge when it is pd's decoded-size
// limit that was hit.
func (m *msgDecoder) tooLarge(err error) error {
	if lim := m.pd.Limits.MaxDecodedSize; lim > 0 && m.pd.Used > lim && errors.Is(err, pyon.ErrLimit) {
		return fmt.Errorf("%w: the request decodes to more than %d bytes (ServerOptions.MaxDecodedSize)", errDecodedTooLarge, lim)
	}
	return err
}

// charge counts n more bytes of decoded values against the limit (for
// the values rpc's typed plans decode without pyon).
func (m *msgDecoder) charge(n int) error {
	m.pd.Used += int64(n)
	if lim := m.pd.Limits.MaxDecodedSize; lim > 0 && m.pd.Used > lim {
		return fmt.Errorf("%w: the request decodes to more than %d bytes (ServerOptions.MaxDecodedSize)", errDecodedTooLarge, lim)
	}
	return nil
}

// newMsgDecoder returns a decoder whose requests may decode to limit
// bytes (0: pyon's default; <0: no bound).
func newMsgDecoder(limit int) *msgDecoder {
	m := &msgDecoder{}
	m.pd.Limits.MaxDecodedSize = int64(limit)
	m.d = msgpack.NewDecoder(&m.br)
	m.d.UseLooseInterfaceDecoding(true)
	m.d.DisallowUnknownFields(true)
	return m
}

func (m *msgDecoder) reset(b []byte) {
	m.br.Reset(b)
	m.b = b
	m.pd.Used = 0
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

// decodeAny decodes the next value in the value model (pyon's msgpack
// mapping, docs/protocol.md "Values"): nil, bool, int64 (uint64 or
// *big.Int beyond it), float64, string, []byte, []any, map[string]any
// (pyon.Dict when a key is not a string), pyon.Tuple, pyon.Set,
// complex128, pyon.Fraction, pyon.NDArray, pyon.NPScalar,
// pyon.OrderedDict, pyon.Slice.
func (m *msgDecoder) decodeAny() (any, error) {
	off := m.offset()
	v, n, err := m.pd.Decode(m.b[off:])
	if err != nil {
		return nil, m.tooLarge(err)
	}
	m.seek(off + n)
	return v, nil
}

// skip passes over the next value without decoding it (nothing is
// allocated or charged): a call waiting for a busy target is only checked
// to be well-formed msgpack that fits in its frame, with bounded nesting.
func (m *msgDecoder) skip() error {
	off, err := skipValue(m.b, m.offset(), 0)
	if err != nil {
		return err
	}
	m.seek(off)
	return nil
}

// skipValue returns the offset after the msgpack value at b[off:].
func skipValue(b []byte, off, depth int) (int, error) {
	if depth > pyon.DefaultLimits.MaxDepth {
		return 0, fmt.Errorf("%w: nested deeper than %d", errMalformed, pyon.DefaultLimits.MaxDepth)
	}
	if off >= len(b) {
		return 0, fmt.Errorf("%w: %w", errMalformed, io.ErrUnexpectedEOF)
	}
	c := b[off]
	uintAt := func(at, size int) (int, error) {
		if at+size > len(b) {
			return 0, fmt.Errorf("%w: %w", errMalformed, io.ErrUnexpectedEOF)
		}
		n := 0
		for _, x := range b[at : at+size] {
			n = n<<8 | int(x)
		}
		return n, nil
	}
	var hdr, n, elems int // header bytes, payload bytes, elements to skip
	switch {
	case c <= msgpcode.PosFixedNumHigh || c >= msgpcode.NegFixedNumLow || c == msgpcode.Nil || c == msgpcode.False || c == msgpcode.True:
		hdr = 1
	case msgpcode.IsFixedMap(c):
		hdr, elems = 1, 2*int(c&msgpcode.FixedMapMask)
	case msgpcode.IsFixedArray(c):
		hdr, elems = 1, int(c&msgpcode.FixedArrayMask)
	case msgpcode.IsFixedString(c):
		hdr, n = 1, int(c&msgpcode.FixedStrMask)
	case c == msgpcode.Uint8 || c == msgpcode.Int8:
		hdr = 2
	case c == msgpcode.Uint16 || c == msgpcode.Int16:
		hdr = 3
	case c == msgpcode.Uint32 || c == msgpcode.Int32 || c == msgpcode.Float:
		hdr = 5
	case c == msgpcode.Uint64 || c == msgpcode.Int64 || c == msgpcode.Double:
		hdr = 9
	case c == msgpcode.FixExt1 || c == msgpcode.FixExt2 || c == msgpcode.FixExt4 || c == msgpcode.FixExt8 || c == msgpcode.FixExt16:
		hdr, n = 2, 1<<(c-msgpcode.FixExt1)
	default:
		var size int
		switch c {
		case msgpcode.Str8, msgpcode.Bin8, msgpcode.Ext8:
			size = 1
		case msgpcode.Str16, msgpcode.Bin16, msgpcode.Ext16, msgpcode.Array16, msgpcode.Map16:
			size = 2
		case msgpcode.Str32, msgpcode.Bin32, msgpcode.Ext32, msgpcode.Array32, msgpcode.Map32:
			size = 4
		default:
			return 0, fmt.Errorf("%w: invalid code %#x", errMalformed, c)
		}
		l, err := uintAt(off+1, size)
		if err != nil {
			return 0, err
		}
		hdr = 1 + size
		switch c {
		case msgpcode.Array16, msgpcode.Array32:
			elems = l
		case msgpcode.Map16, msgpcode.Map32:
			elems = 2 * l
		case msgpcode.Ext8, msgpcode.Ext16, msgpcode.Ext32:
			hdr, n = hdr+1, l
		default:
			n = l
		}
	}
	end := off + hdr
	if end > len(b) || n > len(b)-end || elems > len(b)-end {
		return 0, fmt.Errorf("%w: a value announcing more than the %d bytes left", errMalformed, len(b)-off)
	}
	end += n
	for ; elems > 0; elems-- {
		var err error
		if end, err = skipValue(b, end, depth+1); err != nil {
			return 0, err
		}
	}
	return end, nil
}

// decodeString decodes a str (or bin) value.
func (m *msgDecoder) decodeString() (string, error) {
	v, err := m.decodeAny()
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	}
	if err == nil {
		err = &mismatchError{"expected a string, got " + describe(v)}
	}
	return "", err
}

// decodeBytes decodes a bin (or str) value.
func (m *msgDecoder) decodeBytes() ([]byte, error) {
	v, err := m.decodeAny()
	switch x := v.(type) {
	case []byte:
		return x, nil
	case string:
		return []byte(x), nil
	}
	if err == nil {
		err = &mismatchError{"expected bytes, got " + describe(v)}
	}
	return nil, err
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
