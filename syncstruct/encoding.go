package syncstruct

import (
	"encoding/binary"
	"io"
	"sync"

	"github.com/sigoco/sigoco/wire"
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

// encPool holds the frame encoders of AppendMod and appendControlFrame.
var encPool = sync.Pool{New: func() any { return wire.NewEncoder(0) }}

// appendFrame appends one frame whose payload fn writes, with a pooled
// wire.Encoder.
func appendFrame(dst []byte, fn func(*msgpack.Encoder) error) ([]byte, error) {
	e := encPool.Get().(*wire.Encoder)
	defer encPool.Put(e)
	return e.Append(dst, fn)
}

func (msgpackEncoding) AppendMod(dst []byte, m *Mod) ([]byte, error) {
	return appendFrame(dst, func(enc *msgpack.Encoder) error { return encodeMod(enc, m) })
}

func (msgpackEncoding) WriteInit(w io.Writer, tree any, seq uint64) error {
	return encodeMod(newMsgpackEncoder(w), &Mod{Action: ActInit, Struct: tree, Seq: seq})
}

// appendControlFrame appends c as one msgpack frame.
func appendControlFrame(dst []byte, c *control) ([]byte, error) {
	return appendFrame(dst, func(enc *msgpack.Encoder) error { return encodeControl(enc, c) })
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

// newChunker returns the wire.Chunker a snapshot is cut into: with framed,
// each piece is a complete chunk message, {"t":"chunk","d":<bin>} with its
// frame header; otherwise pieces are bare slices of the encoding.
func newChunker(framed bool) *wire.Chunker {
	c := &wire.Chunker{}
	if framed {
		c.Prefix = appendChunkPrefix
	}
	return c
}

// appendChunkPrefix appends the msgpack bytes of a chunk message that
// come before its n data bytes: map header, "t": "chunk", "d" and the bin
// header.
func appendChunkPrefix(dst []byte, n int) []byte {
	dst = append(dst, 0x82, 0xa1, 't', 0xa0|byte(len(msgChunk)))
	dst = append(dst, msgChunk...)
	dst = append(dst, 0xa1, 'd')
	switch {
	case n <= 0xff:
		return append(dst, 0xc4, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(dst, 0xc5), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, 0xc6), uint32(n))
}
