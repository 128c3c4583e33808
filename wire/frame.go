package wire

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/vmihailenco/msgpack/v5"
)

// DefaultMaxFrameSize is the frame size limit used when an option leaves it 0.
const DefaultMaxFrameSize = 64 << 20

// headerLen is the size of a frame's length prefix.
const headerLen = 4

// readChunk is how much a frame buffer grows at a time beyond what has
// arrived, so an announced length alone never allocates.
const readChunk = 64 << 10

// ReadFrame reads one frame from r and returns its payload appended to
// dst[:0]; pass the previous result back as dst to reuse its memory. A frame
// announcing more than limit bytes (DefaultMaxFrameSize if limit <= 0) is a
// *FrameTooLargeError and nothing is allocated for it. A stream that ends
// inside a frame is io.ErrUnexpectedEOF; one that ends between frames is
// io.EOF.
func ReadFrame(r *bufio.Reader, dst []byte, limit int) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxFrameSize
	}
	hdr, err := r.Peek(headerLen)
	if err != nil {
		if err == io.EOF && len(hdr) > 0 {
			return dst[:0], io.ErrUnexpectedEOF
		}
		return dst[:0], err
	}
	n := binary.BigEndian.Uint32(hdr)
	if uint64(n) > uint64(limit) {
		return dst[:0], &FrameTooLargeError{Size: uint64(n), Limit: limit}
	}
	r.Discard(headerLen)
	size := int(n)
	buf := dst[:0]
	for len(buf) < size {
		if cap(buf) == len(buf) {
			grow := min(size-len(buf), max(len(buf), readChunk))
			buf = append(buf, make([]byte, grow)...)[:len(buf)]
		}
		want := min(size, cap(buf))
		m, err := io.ReadFull(r, buf[len(buf):want])
		buf = buf[:len(buf)+m]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return buf, err
		}
	}
	return buf, nil
}

// AppendFrame appends payload to dst as one frame.
func AppendFrame(dst, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}

// WriteFrame writes payload as one frame with a single Write call.
func WriteFrame(w io.Writer, payload []byte) error {
	_, err := w.Write(AppendFrame(make([]byte, 0, headerLen+len(payload)), payload))
	return err
}

// Encoder encodes values as msgpack frames into a reusable buffer, so a
// message costs one Write and, once warmed up, no allocation for the buffer.
// The zero value is not usable; make one with NewEncoder. An Encoder is not
// safe for concurrent use.
type Encoder struct {
	buf []byte
	enc *msgpack.Encoder
	w   appendWriter
	max int
}

// NewEncoder returns an Encoder whose frames may not exceed limit bytes
// (DefaultMaxFrameSize if limit <= 0). Maps are encoded with sorted keys so the
// same value always gives the same bytes.
func NewEncoder(limit int) *Encoder {
	if limit <= 0 {
		limit = DefaultMaxFrameSize
	}
	e := &Encoder{max: limit}
	e.enc = msgpack.NewEncoder(&e.w)
	e.enc.SetSortMapKeys(true)
	e.enc.SetCustomStructTag("msgpack")
	e.enc.UseCompactInts(true)
	return e
}

// Msgpack returns the underlying msgpack encoder, for callers that need to
// change its options.
func (e *Encoder) Msgpack() *msgpack.Encoder { return e.enc }

// Append encodes v as one frame appended to dst and returns the extended
// slice. On error dst is returned unchanged.
func (e *Encoder) Append(dst []byte, v any) ([]byte, error) {
	start := len(dst)
	e.w.b = append(dst, 0, 0, 0, 0)
	if err := e.enc.Encode(v); err != nil {
		e.w.b = nil
		return dst[:start], fmt.Errorf("wire: encode %T: %w", v, err)
	}
	out := e.w.b
	e.w.b = nil
	n := len(out) - start - headerLen
	if n > e.max {
		return dst[:start], &FrameTooLargeError{Size: uint64(n), Limit: e.max}
	}
	binary.BigEndian.PutUint32(out[start:], uint32(n))
	return out, nil
}

// Write encodes v as one frame and writes it with a single Write call.
func (e *Encoder) Write(w io.Writer, v any) error {
	b, err := e.Append(e.buf[:0], v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	if cap(b) <= 1<<20 { // keep ordinary buffers, let huge ones go
		e.buf = b[:0]
	} else {
		e.buf = nil
	}
	return err
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
