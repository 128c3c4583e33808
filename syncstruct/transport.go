package syncstruct

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sigoco/sigoco/wire"
)

// transport carries whole messages over one connection: length-prefixed
// frames on TCP/TLS, one WebSocket message each on WebSocket. The
// messages handed to writeMsgs are as the connection's modEncoding produced
// them (msgpack ones carry a frame header, which WebSocket drops).
//
// One goroutine may read while another writes; close may be called from
// any goroutine, any number of times.
type transport interface {
	// readMsg returns the next message, valid until the next call.
	readMsg() ([]byte, error)
	// buffered reports whether the next readMsg returns a message already
	// read from the connection (false when the transport cannot tell).
	buffered() bool
	// writeMsgs writes messages in order, with as few system calls as it
	// can.
	writeMsgs(msgs [][]byte) error
	// writeInit writes the pieces of one snapshot (see newChunker).
	writeInit(pieces [][]byte) error
	setReadDeadline(t time.Time) error
	setWriteDeadline(t time.Time) error
	// chunkedInit reports whether snapshots are sent as chunk messages
	// (true) or as one message written in pieces (false).
	chunkedInit() bool
	encoding() modEncoding
	// control encodes a control message, or returns nil when the protocol
	// has no such message (writeMsgs skips nil messages).
	control(c *control) []byte
	// pings reports whether the peer sends heartbeats; if not, a silent
	// peer is not dropped.
	pings() bool
	close() error
	remote() string
}

// writeBufSize is the size of the pooled buffer small messages are
// gathered in, so several mods go out in one write.
const writeBufSize = 64 << 10

var writeBufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, writeBufSize)
	return &b
}}

// frameTransport is a transport over a stream: TCP or TLS, with wire's
// frame reader (limit bounds each frame; 0 is wire.DefaultMaxFrameSize).
type frameTransport struct {
	c    *wire.Conn
	r    *bufio.Reader // larger reads than the wire.Conn's own buffer, or c.R
	fr   *wire.FrameReader
	once sync.Once
}

func newFrameTransport(c *wire.Conn, limit, readBuf int) *frameTransport {
	t := &frameTransport{c: c, r: c.R}
	if readBuf > 0 {
		t.r = bufio.NewReaderSize(c, readBuf)
	}
	t.fr = wire.NewFrameReader(t.r, limit)
	return t
}

func (t *frameTransport) readMsg() ([]byte, error) { return t.fr.Next() }
func (t *frameTransport) buffered() bool           { return t.fr.Buffered() }

func (t *frameTransport) writeMsgs(msgs [][]byte) error {
	if len(msgs) == 1 && len(msgs[0]) > 0 {
		_, err := t.c.Write(msgs[0])
		return err
	}
	bp := writeBufPool.Get().(*[]byte)
	defer writeBufPool.Put(bp)
	buf := (*bp)[:0]
	for _, m := range msgs {
		if len(buf)+len(m) > cap(buf) && len(buf) > 0 {
			if _, err := t.c.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
		if len(m) > cap(buf) {
			if _, err := t.c.Write(m); err != nil {
				return err
			}
			continue
		}
		buf = append(buf, m...)
	}
	if len(buf) > 0 {
		_, err := t.c.Write(buf)
		return err
	}
	return nil
}

func (t *frameTransport) writeInit(pieces [][]byte) error { return t.writeMsgs(pieces) }

func (t *frameTransport) setReadDeadline(d time.Time) error  { return t.c.SetReadDeadline(d) }
func (t *frameTransport) setWriteDeadline(d time.Time) error { return t.c.SetWriteDeadline(d) }
func (t *frameTransport) chunkedInit() bool                  { return true }
func (t *frameTransport) encoding() modEncoding              { return encMsgpack }
func (t *frameTransport) pings() bool                        { return true }

func (t *frameTransport) control(c *control) []byte {
	b, _ := appendControlFrame(nil, c) // control messages always encode
	return b
}
func (t *frameTransport) remote() string { return t.c.RemoteAddr().String() }

func (t *frameTransport) close() error {
	var err error
	t.once.Do(func() { err = t.c.Close() })
	return err
}

// wsTransport is a transport over a WebSocket: binary messages carry
// msgpack (for Go), text messages JSON (for browsers).
//
// Several messages written at once (the mods a subscriber's writer found
// queued, see session.sendBatch) go as one WebSocket message, a batch, in
// one write; a group of mods (Notifier.Hold, or one mod alone) that a
// subscriber finds whole is written from the one message shared by every
// subscriber (writeGroup). A batch is, in JSON, an array of the messages;
// in msgpack, an array of bin values, each the msgpack encoding of one
// message (so a reader splits it without decoding the messages). A single message goes as it is; a
// reader takes both forms (see wsBatch).
type wsTransport struct {
	ws    *websocket.Conn
	text  bool
	buf   []byte // the last message read, reused by the reader
	batch wsBatch
	once  sync.Once
}

func (t *wsTransport) readMsg() ([]byte, error) {
	if m, ok, err := t.batch.next(); ok || err != nil {
		return m, err
	}
	for {
		b, err := t.readWS()
		if err != nil {
			return b, err
		}
		if !t.batch.start(b, t.text) {
			return b, nil
		}
		if m, ok, err := t.batch.next(); ok || err != nil {
			return m, err
		}
		// An empty batch: read on.
	}
}

// readWS reads one WebSocket message.
func (t *wsTransport) readWS() ([]byte, error) {
	typ, r, err := t.ws.NextReader()
	if err != nil {
		return nil, err
	}
	if (typ == websocket.TextMessage) != t.text {
		return nil, fmt.Errorf("%w: WebSocket message of the other type (text and binary mixed)", ErrBadMessage)
	}
	buf := t.buf[:0]
	defer func() { t.buf = buf[:0] }()
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func (t *wsTransport) msgType() int {
	if t.text {
		return websocket.TextMessage
	}
	return websocket.BinaryMessage
}

// payload strips the frame header msgpack messages carry.
func (t *wsTransport) payload(m []byte) []byte {
	if t.text {
		return m
	}
	return m[4:]
}

// maxWSBatch bounds the bytes of the messages gathered in one batch; a
// larger message goes alone.
const maxWSBatch = writeBufSize

func (t *wsTransport) writeMsgs(msgs [][]byte) error {
	for len(msgs) > 0 {
		// The next run of messages that fits in a batch.
		n, k, size := 0, 0, 0
		for ; k < len(msgs); k++ {
			l := len(msgs[k])
			if l == 0 {
				continue
			}
			if n > 0 && size+l > maxWSBatch {
				break
			}
			n++
			size += l
		}
		var err error
		switch n {
		case 0:
		case 1:
			for _, m := range msgs[:k] {
				if len(m) > 0 {
					err = t.ws.WriteMessage(t.msgType(), t.payload(m))
				}
			}
		default:
			err = t.writeBatch(msgs[:k], n)
		}
		if err != nil {
			return err
		}
		msgs = msgs[k:]
	}
	return nil
}

// writeBatch writes the n non-empty messages of msgs as one WebSocket
// message (one write when it fits the write buffer).
func (t *wsTransport) writeBatch(msgs [][]byte, n int) error {
	w, err := t.ws.NextWriter(t.msgType())
	if err != nil {
		return err
	}
	err = t.batchTo(w, msgs, n)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}

// batchTo writes the n non-empty messages of msgs to w as the payload of
// one batch.
func (t *wsTransport) batchTo(w io.Writer, msgs [][]byte, n int) error {
	var hdr [5]byte
	var err error
	if t.text {
		hdr[0] = '['
		_, err = w.Write(hdr[:1])
	} else {
		_, err = w.Write(appendArrayHeader(hdr[:0], n))
	}
	first := true
	for _, m := range msgs {
		if len(m) == 0 || err != nil {
			continue
		}
		p := t.payload(m)
		if t.text {
			if !first {
				hdr[0] = ','
				_, err = w.Write(hdr[:1])
			}
		} else {
			_, err = w.Write(appendBinHeader(hdr[:0], len(p)))
		}
		first = false
		if err == nil {
			_, err = w.Write(p)
		}
	}
	if err == nil && t.text {
		hdr[0] = ']'
		_, err = w.Write(hdr[:1])
	}
	return err
}

// writeGroup writes a whole group of mods (entries, none of them a
// resync) as one WebSocket message shared with every other subscriber of
// the same encoding: made (and framed) once, on the group's last entry,
// then written as it is. It reports false, having written nothing, when
// the group is too large for one batch (maxWSBatch).
func (t *wsTransport) writeGroup(entries []*entry, enc modEncoding) (bool, error) {
	last := entries[len(entries)-1]
	if len(entries) > 1 && last.cum-entries[0].cum+int64(len(entries[0].frame)) > maxWSBatch {
		return false, nil // too large in msgpack already (a single mod goes alone, shared)
	}
	pm, err := last.sharedFor(enc, func() (*websocket.PreparedMessage, error) {
		msgs := make([][]byte, len(entries))
		size := 0
		for i, e := range entries {
			b, err := e.bytesFor(enc)
			if err != nil {
				return nil, err
			}
			msgs[i] = b
			size += len(b)
		}
		if len(msgs) > 1 && size > maxWSBatch {
			return nil, nil // larger in this encoding than a batch may be: not shared
		}
		if len(msgs) == 1 {
			return websocket.NewPreparedMessage(t.msgType(), t.payload(msgs[0]))
		}
		buf := bytes.NewBuffer(make([]byte, 0, size+6*len(msgs)+8))
		t.batchTo(buf, msgs, len(msgs)) // a bytes.Buffer takes every write
		return websocket.NewPreparedMessage(t.msgType(), buf.Bytes())
	})
	if pm == nil || err != nil {
		return false, err
	}
	return true, t.ws.WritePreparedMessage(pm)
}

func (t *wsTransport) writeInit(pieces [][]byte) error {
	if !t.text {
		return t.writeMsgs(pieces)
	}
	// JSON: one text message, written piece by piece (WebSocket fragments
	// it), so a browser can JSON.parse it at once.
	w, err := t.ws.NextWriter(websocket.TextMessage)
	if err != nil {
		return err
	}
	for _, p := range pieces {
		if _, err := w.Write(p); err != nil {
			w.Close()
			return err
		}
	}
	return w.Close()
}

func (t *wsTransport) setReadDeadline(d time.Time) error  { return t.ws.SetReadDeadline(d) }
func (t *wsTransport) setWriteDeadline(d time.Time) error { return t.ws.SetWriteDeadline(d) }
func (t *wsTransport) chunkedInit() bool                  { return !t.text }
func (t *wsTransport) remote() string                     { return t.ws.RemoteAddr().String() }

func (t *wsTransport) pings() bool { return true }

func (t *wsTransport) buffered() bool { return false }

func (t *wsTransport) control(c *control) []byte {
	if t.text {
		return appendControlJSON(nil, c)
	}
	b, _ := appendControlFrame(nil, c)
	return b
}

func (t *wsTransport) encoding() modEncoding {
	if t.text {
		return encJSON
	}
	return encMsgpack
}

func (t *wsTransport) close() error {
	var err error
	t.once.Do(func() { err = t.ws.NetConn().Close() })
	return err
}

// isClosedErr reports errors that just mean the connection is gone.
func isClosedErr(err error) bool {
	if err == nil {
		return false
	}
	var ce *websocket.CloseError
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ce)
}
