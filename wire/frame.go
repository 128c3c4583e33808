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

// FrameHeaderLen is the size of a frame's length prefix.
const FrameHeaderLen = 4

// readChunk is how much a frame buffer grows at a time beyond what has
// arrived, so an announced length alone never allocates.
const readChunk = 64 << 10

// maxKeptBuffer is the largest buffer a FrameReader or an Encoder keeps for
// the next frame; a bigger one (a huge message) is let go once used.
const maxKeptBuffer = 1 << 20

// AppendFrame appends payload to dst as one frame.
func AppendFrame(dst, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}

// Buffer is a byte slice a msgpack.Encoder writes into: it implements
// io.Writer, io.ByteWriter and io.StringWriter by appending to B, and never
// fails. B belongs to the caller: append to it, cut it back to a mark, hand
// it on.
type Buffer struct{ B []byte }

func (b *Buffer) Write(p []byte) (int, error) {
	b.B = append(b.B, p...)
	return len(p), nil
}

// WriteByte appends c.
func (b *Buffer) WriteByte(c byte) error {
	b.B = append(b.B, c)
	return nil
}

// WriteString appends s.
func (b *Buffer) WriteString(s string) (int, error) {
	b.B = append(b.B, s...)
	return len(s), nil
}

// Encoder is THE frame writer: it encodes msgpack frames into its Buffer
// (or into a caller's slice with Append), so a message costs one buffer
// and, once warm, no allocation. There are two ways to use it:
//
//   - Append(dst, fn) appends one frame whose payload fn encodes; on error
//     dst comes back unchanged. This is what a writer queueing frames in
//     its own buffer wants.
//   - Begin, then encode into e.B (with Msgpack() or by appending bytes
//     directly), then End: the length prefix is reserved and patched, so a
//     caller can build a frame piece by piece, patch counts inside it and
//     cut back to a mark.
//
// Maps are encoded with sorted keys and integers in their compact form, so
// the same value always gives the same bytes; Msgpack() changes that. An
// Encoder is not safe for concurrent use (keep one per goroutine, per lock
// or in a sync.Pool).
type Encoder struct {
	Buffer // the bytes Begin/End work on; Append swaps in the caller's slice
	enc    *msgpack.Encoder
	limit  int
}

// NewEncoder returns an Encoder whose frames may not exceed limit bytes of
// payload (DefaultMaxFrameSize if limit <= 0).
func NewEncoder(limit int) *Encoder {
	if limit <= 0 {
		limit = DefaultMaxFrameSize
	}
	e := &Encoder{limit: limit}
	e.enc = msgpack.NewEncoder(&e.Buffer)
	e.enc.SetSortMapKeys(true)
	e.enc.UseCompactInts(true)
	return e
}

// Msgpack returns the msgpack encoder writing into e.B, to encode a payload
// between Begin and End, or to change its options.
func (e *Encoder) Msgpack() *msgpack.Encoder { return e.enc }

// Limit returns the payload size limit of e's frames.
func (e *Encoder) Limit() int { return e.limit }

// Begin reserves a frame's length prefix at the end of e.B and returns the
// frame's offset, for End.
func (e *Encoder) Begin() int {
	at := len(e.B)
	e.B = append(e.B, 0, 0, 0, 0)
	return at
}

// End writes the length of the frame begun at at (everything in e.B after
// its prefix). A payload over the limit is cut off again (e.B = e.B[:at])
// and reported as a *FrameTooLargeError.
func (e *Encoder) End(at int) error {
	n := len(e.B) - at - FrameHeaderLen
	if n > e.limit {
		e.B = e.B[:at]
		return &FrameTooLargeError{Size: uint64(n), Limit: e.limit}
	}
	binary.BigEndian.PutUint32(e.B[at:], uint32(n))
	return nil
}

// Append appends one frame to dst whose payload fn encodes with the msgpack
// encoder it is given, and returns the extended slice. If fn fails or the
// payload is over the limit, dst is returned unchanged (same length) with
// the error. e.B is left as it was.
func (e *Encoder) Append(dst []byte, fn func(*msgpack.Encoder) error) ([]byte, error) {
	saved := e.B
	e.B = dst
	at := e.Begin()
	err := fn(e.enc)
	if err == nil {
		err = e.End(at)
	}
	out := e.B
	e.B = saved
	if err != nil {
		return out[:at], err
	}
	return out, nil
}

// AppendValue appends v as one frame to dst, as Append does.
func (e *Encoder) AppendValue(dst []byte, v any) ([]byte, error) {
	out, err := e.Append(dst, func(enc *msgpack.Encoder) error { return enc.Encode(v) })
	if err != nil {
		if _, ok := err.(*FrameTooLargeError); !ok {
			err = fmt.Errorf("wire: encode %T: %w", v, err)
		}
	}
	return out, err
}

// Write encodes v as one frame and writes it with a single Write call,
// reusing e.B as its buffer.
func (e *Encoder) Write(w io.Writer, v any) error {
	b, err := e.AppendValue(e.B[:0], v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	e.Keep(b)
	return err
}

// Keep makes b[:0] e's buffer again, unless it is larger than is worth
// keeping (1 MiB); for callers that hand e.B off and get it back.
func (e *Encoder) Keep(b []byte) {
	if cap(b) <= maxKeptBuffer {
		e.B = b[:0]
	} else {
		e.B = nil
	}
}

// FrameReader is THE frame reader. It reads frames from a bufio.Reader and
// is resumable: a read cut short by a deadline (or any error the caller
// chooses to retry after) keeps what has arrived, and the next call to Next
// continues the same frame, so nothing is lost or read twice. The
// announced length is checked against the limit before anything is
// allocated, and the buffer grows only as bytes arrive (64 KiB beyond them
// at most), so a peer that announces 4 GiB and sends nothing costs nothing.
//
// A FrameReader is not safe for concurrent use.
type FrameReader struct {
	r       *bufio.Reader
	limit   int
	buf     []byte
	need    int
	inFrame bool
}

// NewFrameReader returns a FrameReader for frames of at most limit bytes of
// payload (DefaultMaxFrameSize if limit <= 0).
func NewFrameReader(r *bufio.Reader, limit int) *FrameReader {
	if limit <= 0 {
		limit = DefaultMaxFrameSize
	}
	return &FrameReader{r: r, limit: limit}
}

// Limit returns the payload size limit.
func (f *FrameReader) Limit() int { return f.limit }

// SetLimit changes the limit for the frames that follow (a handshake may
// allow less than the session).
func (f *FrameReader) SetLimit(limit int) {
	if limit <= 0 {
		limit = DefaultMaxFrameSize
	}
	f.limit = limit
}

// Next returns the next frame's payload, valid until the next call. A frame
// announcing more than the limit is a *FrameTooLargeError (nothing is
// consumed or allocated for it). A stream that ends inside a frame is
// io.ErrUnexpectedEOF; one that ends between frames is io.EOF. Any other
// error (a timeout) leaves the frame in progress: call Next again to
// continue it.
func (f *FrameReader) Next() ([]byte, error) {
	if !f.inFrame {
		hdr, err := f.r.Peek(FrameHeaderLen)
		if err != nil {
			if err == io.EOF && len(hdr) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		n := binary.BigEndian.Uint32(hdr)
		if uint64(n) > uint64(f.limit) {
			return nil, &FrameTooLargeError{Size: uint64(n), Limit: f.limit}
		}
		f.r.Discard(FrameHeaderLen)
		f.inFrame, f.need = true, int(n)
		if cap(f.buf) > maxKeptBuffer {
			f.buf = nil
		}
		f.buf = f.buf[:0]
	}
	for len(f.buf) < f.need {
		if len(f.buf) == cap(f.buf) {
			grow := min(f.need-len(f.buf), max(len(f.buf), readChunk))
			f.buf = append(f.buf, make([]byte, grow)...)[:len(f.buf)]
		}
		m, err := f.r.Read(f.buf[len(f.buf):min(f.need, cap(f.buf))])
		f.buf = f.buf[:len(f.buf)+m]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	f.inFrame = false
	return f.buf, nil
}

// InFrame reports whether a frame has been started and not finished (a
// Next was interrupted inside it).
func (f *FrameReader) InFrame() bool { return f.inFrame }

// Buffered reports whether a whole frame is already buffered, so Next will
// return it without reading from the connection (a writer can hold back
// replies for the next request's).
func (f *FrameReader) Buffered() bool {
	nb := f.r.Buffered()
	if f.inFrame {
		return nb >= f.need-len(f.buf)
	}
	if nb < FrameHeaderLen {
		return false
	}
	hdr, _ := f.r.Peek(FrameHeaderLen)
	return uint64(nb) >= FrameHeaderLen+uint64(binary.BigEndian.Uint32(hdr))
}

// ReadFrame reads one frame from r and returns its payload appended to
// dst[:0]; limit <= 0 means DefaultMaxFrameSize. It is FrameReader.Next
// without the state that makes it resumable: after a timeout inside a
// frame the stream is out of step.
//
// Deprecated: use a FrameReader; ReadFrame stays until rpc, syncstruct and
// logfwd have moved to it.
func ReadFrame(r *bufio.Reader, dst []byte, limit int) ([]byte, error) {
	f := FrameReader{r: r, buf: dst[:0], limit: limit}
	if limit <= 0 {
		f.limit = DefaultMaxFrameSize
	}
	b, err := f.Next()
	if err != nil {
		return dst[:0], err
	}
	return b, nil
}
