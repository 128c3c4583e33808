package syncstruct

import (
	"errors"
	"fmt"
	"io"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/wire"
	"github.com/vmihailenco/msgpack/v5"
)

// Tree values travel in pyon's one msgpack mapping of the value model
// (pyon.AppendMsgpack, pyon.MsgpackDecoder; docs/protocol.md "Values").
// This file only adapts it to the encoders and decoders of this package.

// newMsgpackEncoder returns an encoder with the options every tree
// encoding uses.
func newMsgpackEncoder(w io.Writer) *msgpack.Encoder {
	e := msgpack.NewEncoder(w)
	e.UseCompactInts(true)
	return e
}

// encodeValue writes a normalized tree (depth is unused: Normalize has
// bounded the nesting). String-keyed maps are written with sorted keys so
// equal trees give equal bytes. Into a frame (a wire.Buffer) the value is
// appended in place; into a stream (a snapshot's wire.Chunker) dicts and
// lists are written element by element, so a large tree never exists as
// one encoded piece.
func encodeValue(e *msgpack.Encoder, v any, depth int) error {
	var err error
	if w, ok := e.Writer().(*wire.Buffer); ok {
		w.B, err = pyon.AppendMsgpack(w.B, v)
	} else {
		var scratch []byte
		err = streamValue(e, v, &scratch)
	}
	if err != nil && !errors.Is(err, ErrUnsupportedValue) {
		return fmt.Errorf("%w: %w", ErrUnsupportedValue, err)
	}
	return err
}

// streamValue writes v to e's writer as pyon.AppendMsgpack encodes it (the
// same bytes: a plain msgpack map with sorted string keys, a plain
// array), one leaf at a time through scratch.
func streamValue(e *msgpack.Encoder, v any, scratch *[]byte) error {
	switch x := v.(type) {
	case map[string]any:
		if err := e.EncodeMapLen(len(x)); err != nil {
			return err
		}
		for _, k := range sortedKeys(x) {
			if err := e.EncodeString(k); err != nil {
				return err
			}
			if err := streamValue(e, x[k], scratch); err != nil {
				return err
			}
		}
		return nil
	case []any:
		if err := e.EncodeArrayLen(len(x)); err != nil {
			return err
		}
		for _, el := range x {
			if err := streamValue(e, el, scratch); err != nil {
				return err
			}
		}
		return nil
	}
	b, err := pyon.AppendMsgpack((*scratch)[:0], v)
	if err != nil {
		return err
	}
	if cap(b) <= 1<<20 {
		*scratch = b
	}
	_, err = e.Writer().Write(b)
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
