package wire

import "encoding/binary"

// DefaultChunkSize is Chunker.Size when left 0.
const DefaultChunkSize = 64 << 10

// chunkHeadroom is the room kept free before each piece's data for the
// frame header and a message prefix, so framing a piece copies nothing.
const chunkHeadroom = 64

// Chunker collects a long encoding (a snapshot) as pieces of at most Size
// bytes, so no message is ever one giant allocation. It is an io.Writer,
// io.ByteWriter and io.StringWriter, so a msgpack.Encoder can write into
// it. With Prefix set, every piece is a complete frame: the frame header,
// then Prefix's bytes, then the piece's data — a protocol's "chunk"
// message; without it, pieces are bare slices of the encoding.
//
// The zero value collects bare pieces of DefaultChunkSize. A Chunker is not
// safe for concurrent use.
type Chunker struct {
	// Size is the data bytes per piece. Default DefaultChunkSize.
	Size int
	// Prefix, if set, appends to dst the payload bytes that come before
	// n data bytes in a chunk message (for instance a msgpack map header,
	// a key and a bin header). It should stay under 60 bytes; a longer
	// prefix works but costs a copy of the piece.
	Prefix func(dst []byte, n int) []byte

	pieces [][]byte
	cur    []byte
	n      int
}

func (c *Chunker) size() int {
	if c.Size <= 0 {
		return DefaultChunkSize
	}
	return c.Size
}

func (c *Chunker) Write(p []byte) (int, error) {
	n := len(p)
	size := c.size()
	for len(p) > 0 {
		if c.cur == nil {
			c.cur = make([]byte, chunkHeadroom, chunkHeadroom+size)
		}
		k := min(len(p), chunkHeadroom+size-len(c.cur))
		c.cur = append(c.cur, p[:k]...)
		p = p[k:]
		if len(c.cur) == chunkHeadroom+size {
			c.finish()
		}
	}
	c.n += n
	return n, nil
}

// WriteByte writes one byte.
func (c *Chunker) WriteByte(b byte) error {
	_, err := c.Write([]byte{b})
	return err
}

// WriteString writes s without converting it to a []byte first.
func (c *Chunker) WriteString(s string) (int, error) {
	var buf [256]byte
	n := len(s)
	for len(s) > 0 {
		k := copy(buf[:], s)
		c.Write(buf[:k])
		s = s[k:]
	}
	return n, nil
}

// Len returns the data bytes written so far.
func (c *Chunker) Len() int { return c.n }

// finish closes the current piece.
func (c *Chunker) finish() {
	if c.cur == nil {
		return
	}
	data := c.cur[chunkHeadroom:]
	piece := data
	if c.Prefix != nil {
		var pre [chunkHeadroom]byte
		head := c.Prefix(pre[:FrameHeaderLen], len(data))
		binary.BigEndian.PutUint32(head, uint32(len(head)-FrameHeaderLen+len(data)))
		if len(head) <= chunkHeadroom {
			start := chunkHeadroom - len(head)
			copy(c.cur[start:], head)
			piece = c.cur[start:]
		} else {
			piece = append(append(make([]byte, 0, len(head)+len(data)), head...), data...)
		}
	}
	c.pieces = append(c.pieces, piece)
	c.cur = nil
}

// Pieces finishes the last piece and returns them all, in order. Writing
// after Pieces starts a new piece.
func (c *Chunker) Pieces() [][]byte {
	c.finish()
	return c.pieces
}
