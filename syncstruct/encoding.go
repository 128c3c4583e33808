package syncstruct

import (
	"encoding/binary"
	"io"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// modEncoding is a wire format for mods. The Publisher keeps each mod once,
// in the native msgpack encoding, and asks an modEncoding for its bytes at
// most once per mod: every subscriber that uses the encoding gets the same
// bytes. encMsgpack and encJSON are the native formats; another
// protocol (SiPyCo's PYON lines) plugs in by implementing modEncoding.
//
// Implementations must be safe for concurrent use.
type modEncoding interface {
	// AppendMod appends m to dst as one message, exactly as it goes on
	// the stream (framing included).
	AppendMod(dst []byte, m *Mod) ([]byte, error)
	// WriteInit writes the init mod {action: init, struct: tree, seq: seq}
	// as one message to w, in as many Write calls as it likes (the caller
	// cuts the bytes into chunks). tree is in normal form and must only be
	// read.
	WriteInit(w io.Writer, tree any, seq uint64) error
}

// encMsgpack is the native binary encoding: each mod is one wire
// frame (4-byte big-endian length, then a msgpack map).
var encMsgpack modEncoding = msgpackEncoding{}

// encJSON is the encoding for browsers: each mod is one JSON object
// (a WebSocket text message). Values JSON lacks are written as PYON does,
// {"__jsonclass__": [name, args]}.
var encJSON modEncoding = jsonEncoding{}

type msgpackEncoding struct{}

// mpEnc is a reusable msgpack encoder appending to a buffer.
type mpEnc struct {
	buf appendBuffer
	enc *msgpack.Encoder
}

var mpEncPool = sync.Pool{New: func() any {
	e := &mpEnc{}
	e.enc = newMsgpackEncoder(&e.buf)
	return e
}}

// appendFramed appends one frame whose payload fn writes with e.
func (e *mpEnc) appendFramed(dst []byte, fn func(*msgpack.Encoder) error) ([]byte, error) {
	start := len(dst)
	e.buf.b = append(dst, 0, 0, 0, 0)
	err := fn(e.enc)
	out := e.buf.b
	e.buf.b = nil
	if err != nil {
		return dst[:start], err
	}
	binary.BigEndian.PutUint32(out[start:], uint32(len(out)-start-4))
	return out, nil
}

func (msgpackEncoding) AppendMod(dst []byte, m *Mod) ([]byte, error) {
	e := mpEncPool.Get().(*mpEnc)
	defer mpEncPool.Put(e)
	return e.appendFramed(dst, func(enc *msgpack.Encoder) error { return encodeMod(enc, m) })
}

func (msgpackEncoding) WriteInit(w io.Writer, tree any, seq uint64) error {
	return encodeMod(newMsgpackEncoder(w), &Mod{Action: ActInit, Struct: tree, Seq: seq})
}

// appendControlFrame appends c as one msgpack frame.
func appendControlFrame(dst []byte, c *control) ([]byte, error) {
	e := mpEncPool.Get().(*mpEnc)
	defer mpEncPool.Put(e)
	return e.appendFramed(dst, func(enc *msgpack.Encoder) error { return encodeControl(enc, c) })
}

type jsonEncoding struct{}

func (jsonEncoding) AppendMod(dst []byte, m *Mod) ([]byte, error) {
	j := jsonBuf{b: dst}
	start := len(dst)
	if err := j.mod(m); err != nil {
		return dst[:start], err
	}
	return j.b, nil
}

func (jsonEncoding) WriteInit(w io.Writer, tree any, seq uint64) error {
	j := jsonBuf{w: w}
	if err := j.mod(&Mod{Action: ActInit, Struct: tree, Seq: seq}); err != nil {
		return err
	}
	return j.flush()
}

// appendControlJSON appends c as one JSON object.
func appendControlJSON(dst []byte, c *control) []byte {
	j := jsonBuf{b: dst}
	j.control(c)
	return j.b
}

// chunkSize is the payload size of one snapshot chunk.
const chunkSize = 64 << 10

// chunkHeadroom is room left before a chunk's data for its frame header
// and the msgpack prefix of a chunk message.
const chunkHeadroom = 32

// chunker collects a snapshot encoding as a list of pieces of at most
// chunkSize bytes, so no snapshot is ever one giant allocation. framed
// pieces are complete chunk frames ({"t":"chunk","d":bytes} with the frame
// header); raw pieces are bare slices of the encoding.
type chunker struct {
	framed bool
	pieces [][]byte
	cur    []byte
	bytes  int // total data bytes
}

func (c *chunker) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if c.cur == nil {
			c.cur = make([]byte, chunkHeadroom, chunkHeadroom+chunkSize)
		}
		k := min(len(p), chunkHeadroom+chunkSize-len(c.cur))
		c.cur = append(c.cur, p[:k]...)
		p = p[k:]
		if len(c.cur) == chunkHeadroom+chunkSize {
			c.finish()
		}
	}
	c.bytes += n
	return n, nil
}

func (c *chunker) WriteByte(b byte) error {
	_, err := c.Write([]byte{b})
	return err
}

func (c *chunker) WriteString(s string) (int, error) {
	// Copy through a small stack buffer to avoid a []byte(s) allocation.
	var buf [256]byte
	n := len(s)
	for len(s) > 0 {
		k := copy(buf[:], s)
		c.Write(buf[:k])
		s = s[k:]
	}
	return n, nil
}

// finish closes the current piece.
func (c *chunker) finish() {
	if c.cur == nil {
		return
	}
	data := len(c.cur) - chunkHeadroom
	start := chunkHeadroom
	if c.framed {
		var pre appendBuffer
		pre.b = make([]byte, 4, chunkHeadroom)
		e := msgpack.NewEncoder(&pre)
		e.EncodeMapLen(2)
		e.EncodeString("t")
		e.EncodeString(msgChunk)
		e.EncodeString("d")
		e.EncodeBytesLen(data)
		binary.BigEndian.PutUint32(pre.b, uint32(len(pre.b)-4+data))
		start = chunkHeadroom - len(pre.b)
		copy(c.cur[start:], pre.b)
	}
	c.pieces = append(c.pieces, c.cur[start:])
	c.cur = nil
}

// done finishes the last piece and returns them all.
func (c *chunker) done() [][]byte {
	c.finish()
	return c.pieces
}
