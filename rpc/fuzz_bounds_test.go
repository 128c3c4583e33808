package rpc

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"testing"

	"github.com/sigoco/sigoco/wire"
	"github.com/vmihailenco/msgpack/v5"
)

// allocBound is what one decode of n bytes of input may allocate: a small
// multiple of the input plus a constant (issue 9).
func allocBound(n int) uint64 { return 64*uint64(n) + 256<<10 }

func checkAlloc(t *testing.T, data []byte, fn func()) {
	t.Helper()
	if got := allocated(fn); got > allocBound(len(data)) {
		t.Fatalf("%d bytes of input allocated %d bytes (bound %d)", len(data), got, allocBound(len(data)))
	}
}

// replayConn is a net.Conn that reads data and keeps what is written.
type replayConn struct {
	captureConn
	r io.Reader
}

func (c *replayConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func framesOf(msgs ...[]any) []byte {
	var b []byte
	for _, m := range msgs {
		p, err := msgpack.Marshal(m)
		if err != nil {
			panic(err)
		}
		b = wire.AppendFrame(b, p)
	}
	return b
}

// FuzzServerHandshake feeds the server's handshake (after the banner) a
// select message: bounded allocation, no panic.
func FuzzServerHandshake(f *testing.F) {
	f.Add(framesOf([]any{"select", "t"}))
	f.Add(framesOf([]any{"select", "nope"}))
	f.Add(framesOf([]any{"select", 1}))
	f.Add(framesOf([]any{"call", 1, "add"}))
	f.Add([]byte{0, 0, 0, 7, 0x92, 0xa6, 's', 'e', 'l', 'e', 'c'})
	f.Add([]byte{0, 0, 0, 12, 0x92, 0xa6, 's', 'e', 'l', 'e', 'c', 't', 0xdb, 0xff, 0xff, 0xff, 0xff})
	srv, err := NewServer(map[string]any{"t": fuzzTarget{}}, ServerOptions{MaxFrameSize: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	defer srv.Close()
	f.Fuzz(func(t *testing.T, data []byte) {
		c := newServerConn(srv, &replayConn{r: bytes.NewReader(data)})
		checkAlloc(t, data, func() { c.handshake(wire.BannerRPC, nil) })
	})
}

// FuzzClientHandshake feeds the client's handshake a hello and a selected
// message: bounded allocation, no panic.
func FuzzClientHandshake(f *testing.F) {
	f.Add(framesOf([]any{"hello", 1, "desc", []any{"t"}}, []any{"selected", "t"}))
	f.Add(framesOf([]any{"hello", 1, "desc", []any{"t", 2}}, []any{"selected", "u"}))
	f.Add(framesOf([]any{"error", "no"}))
	f.Add([]byte("SIGOCO error: unknown banner; this port serves: \"ARTIQ pc_rpc\"\n"))
	f.Add([]byte{0, 0, 0, 14, 0x94, 0xa5, 'h', 'e', 'l', 'l', 'o', 1, 0xa0, 0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 12, 0x94, 0xa5, 'h', 'e', 'l', 'l', 'o', 1, 0xc6, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := fuzzClient(data)
		checkAlloc(t, data, func() {
			if c.readHello() == nil {
				c.readSelected("t")
			}
		})
	})
}

func fuzzClient(data []byte) *Client {
	conn := wire.NewConn(&replayConn{r: bytes.NewReader(data)})
	return &Client{
		conn:    conn,
		opts:    ClientOptions{MaxFrameSize: 1 << 20, Logger: slog.New(slog.DiscardHandler)},
		w:       newWriter(conn, 1<<20),
		pending: map[uint64]*call{},
		fr:      wire.NewFrameReader(bufio.NewReader(conn), 1<<20),
		md:      newMsgDecoder(0),
	}
}

// FuzzClientReply feeds the client's reply reader results and failures
// for calls waiting untyped and typed: bounded allocation, no panic.
func FuzzClientReply(f *testing.F) {
	f.Add(framesOf([]any{"result", 1, map[string]any{"a": []any{1, "x"}}}, []any{"result", 2, []float64{1, 2}}, []any{"result", 3, Point{1, 2, "p"}}))
	f.Add(framesOf([]any{"fail", 1, "error", "boom", "tb"}, []any{"result", 4, 1}))
	f.Add(framesOf([]any{"result", 2, []int64{1, 2, 3}}, []any{"error", "bye"}))
	f.Add([]byte{0, 0, 0, 10, 0x93, 0xa6, 'r', 'e', 's', 'u', 'l', 't', 1, 0xc6, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 10, 0x95, 0xa4, 'f', 'a', 'i', 'l', 1, 0xdb, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 10, 0x93, 0xa6, 'r', 'e', 's', 'u', 'l', 't', 3, 0xdf, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := fuzzClient(data)
		var floats []float64
		var pt Point
		c.pending[1] = &call{untyped: true, method: "a", ch: make(chan struct{}, 1)}
		c.pending[2] = &call{into: &floats, method: "b", ch: make(chan struct{}, 1)}
		c.pending[3] = &call{into: &pt, method: "c", ch: make(chan struct{}, 1)}
		checkAlloc(t, data, func() {
			for c.readOne() == nil {
			}
		})
	})
}
