package syncstruct

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
)

// Batches: several messages in one WebSocket message (see wsTransport).
//
// JSON (text): an array of message objects, [{...}, {...}]. A message is
// an object, so a text message whose first byte is '[' is a batch.
//
// msgpack (binary): an array of bin values, each the msgpack encoding of
// one message (a map). A message is a map, so a binary message whose
// first byte is an array code is a batch. The bins make the batch
// splittable by its headers alone: no message is decoded (or skipped,
// which would recurse into what a peer sent) to find the next.
//
// A batch holds no batch. An empty one is allowed and means nothing.

// wsBatch splits the batch being read; its messages stay valid until the
// transport reads the next WebSocket message.
type wsBatch struct {
	b    []byte // msgpack: the rest of the batch
	left int    // msgpack: messages still in b
	json []json.RawMessage
	i    int
}

// start takes msg apart if it is a batch and reports whether it was.
func (wb *wsBatch) start(msg []byte, text bool) bool {
	wb.b, wb.left, wb.json, wb.i = nil, 0, wb.json[:0], 0
	if len(msg) == 0 {
		return false
	}
	if text {
		i := 0
		for i < len(msg) && (msg[i] == ' ' || msg[i] == '\t' || msg[i] == '\n' || msg[i] == '\r') {
			i++
		}
		if i == len(msg) || msg[i] != '[' {
			return false
		}
		if err := json.Unmarshal(msg, &wb.json); err != nil {
			// Reported by next as the batch's one message, undecodable.
			wb.json = append(wb.json[:0], json.RawMessage(msg))
		}
		return true
	}
	n, hdr, ok := arrayHeader(msg)
	if !ok {
		return false
	}
	wb.b, wb.left = msg[hdr:], n
	if n == 0 && len(wb.b) > 0 {
		wb.left = -1 // bytes after an empty batch
	}
	return true
}

// next returns the batch's next message: ok is false when the batch is
// done (or there is none). A malformed batch is an error.
func (wb *wsBatch) next() (m []byte, ok bool, err error) {
	if wb.json != nil && wb.i < len(wb.json) {
		m := wb.json[wb.i]
		wb.i++
		if len(m) > 0 && m[0] == '[' {
			return nil, false, fmt.Errorf("%w: a batch inside a batch", ErrBadMessage)
		}
		return m, true, nil
	}
	if wb.left == 0 {
		if len(wb.b) > 0 {
			wb.b = nil
			return nil, false, fmt.Errorf("%w: bytes after the last message of a batch", ErrBadMessage)
		}
		return nil, false, nil
	}
	if wb.left < 0 {
		wb.left, wb.b = 0, nil
		return nil, false, fmt.Errorf("%w: bytes after an empty batch", ErrBadMessage)
	}
	l, hdr, ok := binHeader(wb.b)
	if !ok || l > len(wb.b)-hdr {
		wb.left, wb.b = 0, nil
		return nil, false, fmt.Errorf("%w: a batch's message is not a bin of the length it says", ErrBadMessage)
	}
	m = wb.b[hdr : hdr+l]
	wb.b = wb.b[hdr+l:]
	wb.left--
	if len(m) > 0 && isArrayCode(m[0]) {
		wb.left, wb.b = 0, nil
		return nil, false, fmt.Errorf("%w: a batch inside a batch", ErrBadMessage)
	}
	return m, true, nil
}

func isArrayCode(c byte) bool { return c&0xf0 == 0x90 || c == 0xdc || c == 0xdd }

// arrayHeader reads a msgpack array header: the length and the header's
// size; ok is false if b does not start with one.
func arrayHeader(b []byte) (n, size int, ok bool) {
	switch {
	case len(b) >= 1 && b[0]&0xf0 == 0x90:
		return int(b[0] & 0x0f), 1, true
	case len(b) >= 3 && b[0] == 0xdc:
		return int(binary.BigEndian.Uint16(b[1:])), 3, true
	case len(b) >= 5 && b[0] == 0xdd:
		n := binary.BigEndian.Uint32(b[1:])
		if uint64(n) > uint64(len(b)) { // each message takes a byte at least
			return 0, 0, false
		}
		return int(n), 5, true
	}
	return 0, 0, false
}

// binHeader reads a msgpack bin header.
func binHeader(b []byte) (n, size int, ok bool) {
	switch {
	case len(b) >= 2 && b[0] == 0xc4:
		return int(b[1]), 2, true
	case len(b) >= 3 && b[0] == 0xc5:
		return int(binary.BigEndian.Uint16(b[1:])), 3, true
	case len(b) >= 5 && b[0] == 0xc6:
		return int(binary.BigEndian.Uint32(b[1:])), 5, true
	}
	return 0, 0, false
}

func appendArrayHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n < 1<<16:
		return binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
}

func appendBinHeader(b []byte, n int) []byte {
	switch {
	case n < 1<<8:
		return append(b, 0xc4, byte(n))
	case n < 1<<16:
		return binary.BigEndian.AppendUint16(append(b, 0xc5), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xc6), uint32(n))
}
