package logfwd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/wire"
)

// rawExchange connects to addr, sends data, half-closes and returns what
// the server sent until it closed the connection.
func rawExchange(t *testing.T, addr string, tlsCfg *tls.Config, data []byte) []byte {
	t.Helper()
	var d net.Dialer
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	var c net.Conn = conn
	if tlsCfg != nil {
		c = tls.Client(conn, tlsCfg)
	}
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("reading the server's answer: %v", err)
	}
	return out
}

func frameOf(payload ...byte) []byte { return wire.AppendFrame(nil, payload) }

func helloBytes(source string) []byte {
	st := newEncState(0)
	st.helloFrame("source", source)
	return st.e.B
}

// frames splits a byte stream into decoded (op, detail) pairs.
func frames(t *testing.T, b []byte) []string {
	t.Helper()
	r := bufio.NewReader(bytes.NewReader(b))
	var out []string
	for {
		p, err := wire.NewFrameReader(r, 0).Next()
		if err != nil {
			return out
		}
		dc := newDecoder(0)
		op, n, err := dc.frame(p)
		if err != nil {
			t.Fatalf("server sent an undecodable frame %x: %v", p, err)
		}
		if op == opError {
			op += ": " + dc.errorReason(n)
		}
		out = append(out, op)
	}
}

func TestGarbageDisconnected(t *testing.T) {
	hello := helloBytes("bad")
	cases := []struct {
		name string
		data []byte
		want string // substring of the last thing the server says
	}{
		{"hello not an array", append([]byte(wire.BannerLog+"\n"), frameOf(0xa1, 'x')...), "error: logfwd: handshake failed"},
		{"first frame not hello", append([]byte(wire.BannerLog+"\n"), frameOf(0x92, 0xa3, 'a', 'c', 'k', 0x01)...), `error: logfwd: handshake failed: logfwd: malformed message: first frame is "ack"`},
		{"hello value of a huge count", append([]byte(wire.BannerLog+"\n"), frameOf(0x92, 0xa5, 'h', 'e', 'l', 'l', 'o', 0x81, 0xa1, 'x', 0xdd, 0xdd, 0xdd, 0xdd, 0xdd)...), `error: logfwd: handshake failed: logfwd: malformed message: hello "x"`},
		{"hello frame too large", append([]byte(wire.BannerLog+"\n"), 0, 1, 0, 1), "error: logfwd: handshake failed: hello: wire: frame of 65537 bytes"},
		{"record not msgpack", append(append([]byte(wire.BannerLog+"\n"), hello...), frameOf(0xc1, 0xc1)...), "error: logfwd: malformed message: frame is not an array"},
		{"record too short", append(append([]byte(wire.BannerLog+"\n"), hello...), frameOf(0x92, 0xa3, 'r', 'e', 'c', 0xc0)...), "error: logfwd: malformed message: record has 2 elements"},
		{"record frame too large", append(append([]byte(wire.BannerLog+"\n"), hello...), 0x7f, 0, 0, 0), "error: wire: frame of 2130706432 bytes exceeds the limit"},
		{"unknown attr kind", append(append([]byte(wire.BannerLog+"\n"), hello...),
			frameOf(0x96, 0xa3, 'r', 'e', 'c', 0xc0, 0, 0xa0, 0xa1, 'm', 0x91, 0x93, 0xa1, 'k', 0xa1, 'z', 0x01)...), `unknown kind "z"`},
		{"trailing bytes", append(append([]byte(wire.BannerLog+"\n"), hello...),
			frameOf(0x96, 0xa3, 'r', 'e', 'c', 0xc0, 0, 0xa0, 0xa1, 'm', 0x90, 0x00)...), "1 bytes after the message"},
		{"attribute announcing 4 GiB (issue 9)", append(append([]byte(wire.BannerLog+"\n"), hello...),
			frameOf(0x96, 0xa3, 'r', 'e', 'c', 0xc0, 0, 0xa0, 0xa0, 0x91, 0x93, 0xa1, 'k', 0xa1, 's', 0xdb, 0xff, 0xff, 0xff, 0xff, 'x')...),
			"a value announces 4294967295 bytes, 1 remain in the frame"},
		{"value announcing 4 GiB (issue 9)", append(append([]byte(wire.BannerLog+"\n"), hello...),
			frameOf(0x96, 0xa3, 'r', 'e', 'c', 0xc0, 0, 0xa0, 0xa0, 0x91, 0x93, 0xa1, 'k', 0xa1, 'v', 0xc6, 0xff, 0xff, 0xff, 0xff, 'x')...),
			`attribute "k" value`},
		{"unknown banner", []byte("HELLO\n"), `SIGOCO error: unknown banner "HELLO"`},
		{"version 1 banner", []byte("SIGOCO log 1\n"), `SIGOCO error: unknown banner "SIGOCO log 1" (this server speaks version 2 of the protocol, "SIGOCO log 2": upgrade the peer)`},
	}
	for _, tr := range []transport{transports[0], transports[2]} {
		t.Run(tr.name, func(t *testing.T) {
			col := newCollector()
			warnings := newCollector()
			addr, srv, _ := serve(t, col, tr, ServerOptions{Logger: slog.New(warnings)}, "")
			good := forward(t, addr, ForwarderOptions{Source: "good"})
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					before := len(warnings.all())
					out := rawExchange(t, addr, nil, tc.data)
					var last string
					if bytes.HasPrefix(out, []byte("SIGOCO error")) {
						last = string(out)
					} else if fs := frames(t, out); len(fs) > 0 {
						last = fs[len(fs)-1]
					}
					if !strings.Contains(last, tc.want) {
						t.Errorf("server said %q, want %q", last, tc.want)
					}
					if !strings.HasSuffix(tc.name, "banner") && len(warnings.all()) == before {
						t.Error("no warning logged")
					}
					slog.New(good).Info(tc.name)
					flush(t, good)
				})
			}
			if got, want := len(col.all()), len(cases); got != want {
				t.Errorf("the good forwarder delivered %d records, want %d", got, want)
			}
			if s := srv.Stats(); s.Rejected == 0 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

func TestHandshakeWithWrongServer(t *testing.T) {
	// A Mux that serves only rpc answers the log banner with a text line;
	// the forwarder reports it and keeps retrying.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := wire.NewMux(wire.MuxOptions{})
	mux.Handle(wire.BannerRPC, NewServer(nil, ServerOptions{}))
	done := make(chan struct{})
	go func() { defer close(done); mux.Serve(context.Background(), ln) }()
	t.Cleanup(func() { mux.Close(); <-done })

	c := &core{addrs: []string{ln.Addr().String()}, opts: ForwarderOptions{}, progress: make(chan struct{})}
	c.opts.setDefaults()
	c.life, c.stop = context.WithCancel(context.Background())
	defer c.stop()
	_, _, err = c.connect()
	var pe *PeerError
	if !errors.As(err, &pe) || !errors.Is(err, ErrHandshake) || !strings.Contains(pe.Message, fmt.Sprintf("unknown banner %q", wire.BannerLog)) {
		t.Fatalf("connect = %v", err)
	}
}

func TestAckCountsEveryRecord(t *testing.T) {
	// Hand-written forwarder: the server acknowledges the records it
	// handled, cumulatively.
	col := newCollector()
	addr, _, _ := serve(t, col, transports[0], ServerOptions{}, "")
	conn, err := wire.Dial(context.Background(), addr, nil, wire.BannerLog)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	st := newEncState(0)
	st.helloFrame("source", "hand")
	for range 3 {
		at := st.e.Begin()
		st.recordHead(time.Time{}, slog.LevelInfo, "", "m")
		st.e.B = append(st.e.B, 0x90)
		st.e.End(at)
	}
	if _, err := conn.Write(st.e.B); err != nil {
		t.Fatal(err)
	}
	dc := newDecoder(0)
	fr := conn.FrameReader(0)
	var last uint64
	for last < 3 {
		p, err := fr.Next()
		if err != nil {
			t.Fatal(err)
		}
		op, n, _ := dc.frame(p)
		switch op {
		case opHello:
			h, err := dc.hello(n)
			if err != nil || h["max_frame"] == nil {
				t.Fatalf("hello %v %v", h, err)
			}
		case opAck:
			a, err := dc.ack(n)
			if err != nil || a <= last {
				t.Fatalf("ack %d after %d: %v", a, last, err)
			}
			last = a
		default:
			t.Fatalf("unexpected %q", op)
		}
	}
	if last != 3 || len(col.all()) != 3 {
		t.Errorf("ack %d, %d records", last, len(col.all()))
	}
}

func TestSourceFilter(t *testing.T) {
	col := newCollector()
	level := new(slog.LevelVar)
	level.Set(slog.LevelWarn)
	filtered := NewSourceFilter(col, level)
	addr, _, _ := serve(t, filtered, transports[0], ServerOptions{}, "")
	f := forward(t, addr, ForwarderOptions{Level: slog.LevelDebug})

	local := slog.New(filtered)
	local.Info("local info")    // below the local level: dropped
	local.Warn("local warning") // passes
	slog.New(f).Debug("remote debug")
	flush(t, f)
	level.Set(slog.LevelDebug)
	local.WithGroup("g").With("a", 1).Debug("local debug")
	got := strings.Join(col.messages(), ", ")
	if want := "local warning, remote debug, local debug"; got != want {
		t.Errorf("passed: %s, want %s", got, want)
	}
	if NewSourceFilter(col, nil).Enabled(context.Background(), slog.LevelDebug) {
		t.Error("nil level does not mean Info")
	}
}

func TestRejectedRecordIsDroppedNotResent(t *testing.T) {
	// Groups nested deeper than the decoder allows: the server rejects
	// the record, says how many it handled before it, and the forwarder
	// drops that one record instead of resending it forever.
	col, warnings := newCollector(), newCollector()
	addr, _, _ := serve(t, col, transports[0], ServerOptions{Logger: slog.New(warnings)}, "")
	f := forward(t, addr, ForwarderOptions{})
	deep := slog.Int("leaf", 1)
	for range maxGroupDepth + 5 {
		deep = slog.Group("g", deep)
	}
	log := slog.New(f)
	log.Info("before")
	log.Info("deep", deep)
	flush(t, f)
	log.Info("after")
	flush(t, f)
	if got := strings.Join(col.messages(), ", "); got != "before, 1 records dropped, after" {
		t.Errorf("server got %s", got)
	}
	if s := f.Stats(); s.Dropped != 1 || s.Reconnects != 1 {
		t.Errorf("stats %+v", s)
	}
	n := 0
	for _, w := range warnings.all() {
		if w.rec.Level == slog.LevelWarn {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d warnings, want 1", n)
	}
}

// blockingHandler blocks every Handle until release is closed.
type blockingHandler struct {
	entered chan struct{}
	release chan struct{}
}

func (h *blockingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *blockingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *blockingHandler) WithGroup(string) slog.Handler            { return h }
func (h *blockingHandler) Handle(context.Context, slog.Record) error {
	select {
	case h.entered <- struct{}{}:
	default:
	}
	<-h.release
	return nil
}

// TestCloseWaitsForMuxConnections: behind a wire.Mux the connection
// goroutines are the Mux's, but Close must still wait for them, so that no
// record reaches the handler after Close returns.
func TestCloseWaitsForMuxConnections(t *testing.T) {
	h := &blockingHandler{entered: make(chan struct{}, 1), release: make(chan struct{})}
	addr, srv, cliTLS := serve(t, h, transport{"mux-tcp", true, false}, ServerOptions{}, "")
	f := forward(t, addr, ForwarderOptions{TLS: cliTLS})
	slog.New(f).Info("held")
	<-h.entered
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	select {
	case <-closed:
		close(h.release)
		t.Fatal("Close returned while a connection was still in the handler")
	case <-time.After(200 * time.Millisecond):
	}
	close(h.release)
	<-closed
}
