package syncstruct

import (
	"errors"
	"fmt"
	"io"

	"github.com/sigoco/sigoco/pyon"
	"github.com/vmihailenco/msgpack/v5"
)

// Tree values travel in pyon's one msgpack mapping of the value model
// (pyon.AppendMsgpack, pyon.MsgpackDecoder; docs/protocol.md "Values").
// This file only adapts it to the encoders and decoders of this package.

// appendBuffer lets a msgpack.Encoder append to a byte slice.
type appendBuffer struct{ b []byte }

func (w *appendBuffer) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func (w *appendBuffer) WriteByte(c byte) error {
	w.b = append(w.b, c)
	return nil
}

func (w *appendBuffer) WriteString(s string) (int, error) {
	w.b = append(w.b, s...)
	return len(s), nil
}

// newMsgpackEncoder returns an encoder with the options every tree
// encoding uses.
func newMsgpackEncoder(w io.Writer) *msgpack.Encoder {
	e := msgpack.NewEncoder(w)
	e.UseCompactInts(true)
	return e
}

// encodeValue writes a normalized tree (depth is unused: Normalize has
// bounded the nesting). String-keyed maps are written with sorted keys so
// equal trees give equal bytes.
func encodeValue(e *msgpack.Encoder, v any, depth int) error {
	var err error
	if w, ok := e.Writer().(*appendBuffer); ok {
		w.b, err = pyon.AppendMsgpack(w.b, v)
	} else {
		var b []byte
		if b, err = pyon.AppendMsgpack(nil, v); err == nil {
			_, err = e.Writer().Write(b)
		}
	}
	if err != nil && !errors.Is(err, ErrUnsupportedValue) {
		return fmt.Errorf("%w: %w", ErrUnsupportedValue, err)
	}
	return err
}

// newMsgpackDecoder returns a decoder reading r.
func newMsgpackDecoder(r io.Reader) *msgpack.Decoder {
	return msgpack.NewDecoder(r)
}

// treeLimits are pyon's defaults with this package's nesting bound. The
// decoded size is bounded by the frame (MaxFrameSize) and pyon's default.
var treeLimits = pyon.Limits{MaxDepth: maxDepth}

// decodeValueBytes decodes one tree that must fill b exactly.
func decodeValueBytes(b []byte) (any, error) {
	d := pyon.MsgpackDecoder{Limits: treeLimits}
	v, n, err := d.Decode(b)
	if err != nil {
		return nil, badMessage(err)
	}
	if n != len(b) {
		return nil, fmt.Errorf("%w: %d bytes after the value", ErrBadMessage, len(b)-n)
	}
	return v, nil
}

// decodeValue reads one tree in normal form at the given message depth.
func decodeValue(d *msgpack.Decoder, depth int) (any, error) {
	lim := treeLimits
	lim.MaxDepth = max(maxDepth-depth, 1)
	md := pyon.MsgpackDecoder{Limits: lim}
	v, err := md.Read(d)
	if err != nil {
		return nil, badMessage(err)
	}
	return v, nil
}

func badMessage(err error) error {
	if errors.Is(err, ErrBadMessage) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrBadMessage, err)
}
