package rpc

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/wire"
	"github.com/vmihailenco/msgpack/v5"
)

// rawConn is a hand-driven client connection for feeding a server bad input.
type rawConn struct {
	t testing.TB
	net.Conn
	r *bufio.Reader
}

func (ts *testServer) raw(t testing.TB) *rawConn {
	t.Helper()
	var c net.Conn
	var err error
	if ts.clientTLS != nil {
		c, err = tls.Dial("tcp", ts.addr, ts.clientTLS)
	} else {
		c, err = net.Dial("tcp", ts.addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, Conn: c, r: bufio.NewReader(c)}
}

// handshake sends the banner and selects target.
func (rc *rawConn) handshake(target string) {
	rc.t.Helper()
	io.WriteString(rc, wire.BannerRPC+"\n")
	if m := rc.readMsg(); len(m) < 4 || m[0] != "hello" {
		rc.t.Fatalf("hello = %v", m)
	}
	rc.send([]any{"select", target})
	if m := rc.readMsg(); len(m) != 2 || m[0] != "selected" {
		rc.t.Fatalf("selected = %v", m)
	}
}

func (rc *rawConn) send(msg any) {
	rc.t.Helper()
	b, err := msgpack.Marshal(msg)
	if err != nil {
		rc.t.Fatal(err)
	}
	rc.sendRaw(b)
}

func (rc *rawConn) sendRaw(payload []byte) {
	rc.t.Helper()
	if _, err := rc.Write(wire.AppendFrame(nil, payload)); err != nil {
		rc.t.Fatal(err)
	}
}

func (rc *rawConn) readMsg() []any {
	rc.t.Helper()
	frame, err := readFrame(rc.r, 0)
	if err != nil {
		rc.t.Fatalf("read: %v", err)
	}
	var m []any
	if err := msgpack.Unmarshal(frame, &m); err != nil {
		rc.t.Fatalf("decode %x: %v", frame, err)
	}
	return m
}

// expectEOF reads until the server closes the connection.
func (rc *rawConn) expectEOF() {
	rc.t.Helper()
	rest, err := io.ReadAll(rc.r)
	if err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
		rc.t.Fatalf("read until close: %v (after %q)", err, rest)
	}
}

// expectFatal expects an error message containing want, then the close.
func (rc *rawConn) expectFatal(want string) {
	rc.t.Helper()
	m := rc.readMsg()
	if len(m) != 2 || m[0] != "error" || !strings.Contains(m[1].(string), want) {
		rc.t.Fatalf("got %v, want an error message containing %q", m, want)
	}
	rc.expectEOF()
}

// expectFail expects a failed reply to id of the given type containing want.
func (rc *rawConn) expectFail(id int, typ, want string) {
	rc.t.Helper()
	m := rc.readMsg()
	if len(m) != 5 || m[0] != "fail" || toInt(m[1]) != id || m[2] != typ || !strings.Contains(m[3].(string), want) {
		rc.t.Fatalf("got %v, want a %s failure of call %d containing %q", m, typ, id, want)
	}
}

func toInt(v any) int {
	switch x := v.(type) {
	case int8:
		return int(x)
	case uint8:
		return int(x)
	case int64:
		return int(x)
	case uint64:
		return int(x)
	}
	return -1
}

func TestBadBanner(t *testing.T) {
	tests := []struct {
		name  string
		input []byte
		want  string
	}{
		{"garbage", []byte("hello there\n"), `unknown banner "hello there"`},
		{"binary", []byte{0, 1, 2, 0xff, '\n'}, "unknown banner"},
		{"other protocol", []byte("SIGOCO sync 2\n"), `unknown banner "SIGOCO sync 2"`},
		{"older version", []byte("SIGOCO rpc 1\n"), `SIGOCO rpc 2`}, // wire.BannerMismatch names this side's version
		{"other sipyco protocol", []byte("ARTIQ sync_struct\n"), `unknown banner "ARTIQ sync_struct"`},
		{"too long", bytes.Repeat([]byte("x"), 5000), "banner line too long"},
	}
	forEachTransport(t, func(t *testing.T, tr transport) {
		ts := startServer(t, tr, map[string]any{"lda": newAttenuator()}, ServerOptions{})
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rc := ts.raw(t)
				rc.Write(tt.input)
				line, err := rc.r.ReadString('\n')
				if err != nil || !strings.HasPrefix(line, "SIGOCO error: ") || !strings.Contains(line, tt.want) {
					t.Fatalf("answer = %q, %v; want an error line containing %q", line, err, tt.want)
				}
				rc.expectEOF()
				assertServes(t, ts)
			})
		}
	})
}

func TestHandshakeTimeout(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr transport) {
		// The timeout runs from the accept: over TLS it covers the TLS
		// handshake and the banner too, which on a loaded machine take
		// longer than 100 ms.
		ts := startServer(t, tr, map[string]any{"lda": newAttenuator()}, ServerOptions{HandshakeTimeout: time.Second})
		silent := ts.raw(t) // says nothing at all
		io.WriteString(silent, "")
		undecided := ts.raw(t) // sends the banner but selects nothing
		io.WriteString(undecided, wire.BannerRPC+"\n")
		if m := undecided.readMsg(); m[0] != "hello" {
			t.Fatalf("hello = %v", m)
		}
		undecided.expectFatal("timeout")
		silent.expectEOF()
		assertServes(t, ts)
	})
}

func TestBadHandshake(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr transport) {
		ts := startServer(t, tr, map[string]any{"lda": newAttenuator(), "aux": Plain{}}, ServerOptions{})
		t.Run("unknown target", func(t *testing.T) {
			rc := ts.raw(t)
			io.WriteString(rc, wire.BannerRPC+"\n")
			rc.readMsg()
			rc.send([]any{"select", "nope"})
			rc.expectFatal(`unknown target "nope"; this server has: aux, lda`)
		})
		t.Run("call before select", func(t *testing.T) {
			rc := ts.raw(t)
			io.WriteString(rc, wire.BannerRPC+"\n")
			rc.readMsg()
			rc.send([]any{"call", 1, "add", []any{1, 2}, nil, 0})
			rc.expectFatal("expected a target selection")
		})
		t.Run("garbage instead of select", func(t *testing.T) {
			rc := ts.raw(t)
			io.WriteString(rc, wire.BannerRPC+"\n")
			rc.readMsg()
			rc.sendRaw([]byte{0xc1})
			rc.expectFatal("handshake")
		})
		assertServes(t, ts)
	})
}

func TestBadFrames(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr transport) {
		ts := startServer(t, tr, map[string]any{"lda": newAttenuator()}, ServerOptions{MaxFrameSize: 1 << 16})
		fatal := []struct {
			name  string
			frame []byte // whole frame, header included
			want  string
		}{
			{"over the limit", []byte{0x7f, 0xff, 0xff, 0xff}, "exceeds the limit of 65536 bytes"},
			{"just over the limit", binary.BigEndian.AppendUint32(nil, 1<<16+1), "exceeds"},
			{"undecodable", wire.AppendFrame(nil, []byte{0xc1}), "malformed"},
			{"not an array", wire.AppendFrame(nil, []byte{0x05}), "malformed"},
			{"kind not a string", mustFrame(t, []any{4, 1, "add", []any{}, nil, 0}), "message kind"},
			{"empty array", wire.AppendFrame(nil, []byte{0x90}), "malformed"},
			{"empty frame", wire.AppendFrame(nil, nil), "malformed"},
			{"no id", mustFrame(t, []any{"call"}), "call message without an id"},
			{"string id", mustFrame(t, []any{"call", "one", "add", []any{}}), "request id"},
		}
		for _, tt := range fatal {
			t.Run(tt.name, func(t *testing.T) {
				rc := ts.raw(t)
				rc.handshake("lda")
				rc.Write(tt.frame)
				rc.expectFatal(tt.want)
				assertServes(t, ts)
			})
		}
		t.Run("truncated", func(t *testing.T) {
			rc := ts.raw(t)
			rc.handshake("lda")
			rc.Write([]byte{0, 0, 0, 100, 0x96, 4, 1})
			closeWrite(rc.Conn)
			rc.expectEOF()
			assertServes(t, ts)
		})

		// Requests that can be answered: the connection goes on.
		huge := func(code byte) []byte { return []byte{code, 0xff, 0xff, 0xff, 0xff} }
		answered := []struct {
			name    string
			payload []byte
			typ     string
			want    string
		}{
			{"unknown kind", mustPayload(t, []any{"bogus", 1}), TypeBadRequest, "unknown message kind"},
			{"method not a string", mustPayload(t, []any{"call", 1, 5, []any{}}), TypeBadRequest, "method name must be a string"},
			{"call too short", mustPayload(t, []any{"call", 1, "add"}), TypeBadRequest, "needs a method name and arguments"},
			{"args not an array", mustPayload(t, []any{"call", 1, "add", 5, nil, 0}), TypeBadRequest, "add: arguments"},
			{"args longer than the frame", append(msgPrefix(t, 6, "call", 1, "add"), huge(0xdd)...), TypeBadRequest, "add: arguments"},
			{"argument not msgpack", append(msgPrefix(t, 6, "call", 1, "add"), 0x92, 0xc1, 0x01), TypeBadRequest, "add: argument 1"},
			{"huge array argument", append(append(msgPrefix(t, 6, "call", 1, "echo_ints"), 0x91), huge(0xdd)...), TypeBadRequest, "echo_ints: argument 1"},
			{"huge map argument", append(append(msgPrefix(t, 6, "call", 1, "echo_point"), 0x91), huge(0xdf)...), TypeBadRequest, "echo_point: argument 1"},
			{"huge map for any", append(append(msgPrefix(t, 6, "call", 1, "echo"), 0x91), huge(0xdf)...), TypeBadRequest, "echo: argument 1"},
			{"huge string", append(append(msgPrefix(t, 6, "call", 1, "echo"), 0x91), huge(0xdb)...), TypeBadRequest, "echo: argument 1"},
			{"deep nesting", append(append(append(msgPrefix(t, 6, "call", 1, "echo"), 0x91), bytes.Repeat([]byte{0x91}, 20000)...), 0x01), TypeBadRequest, "nested deeper"},
			{"deep nesting in a struct", append(append(append(msgPrefix(t, 6, "call", 1, "echo_map"), 0x91, 0x81, 0xa1, 'a'), bytes.Repeat([]byte{0x91}, 20000)...), 0x01), TypeBadRequest, "nested deeper"},
			{"kwargs not a map", mustPayload(t, []any{"call", 1, "add", []any{1, 2}, "x", 0}), TypeBadRequest, "keyword arguments"},
			{"keyword not a string", mustPayload(t, []any{"call", 1, "greet", []any{"a"}, map[int]int{1: 2}, 0}), TypeBadRequest, "keyword arguments"},
			{"timeout not a number", mustPayload(t, []any{"call", 1, "add", []any{1, 2}, nil, "soon"}), TypeBadRequest, "timeout"},
		}
		rc := ts.raw(t)
		rc.handshake("lda")
		for _, tt := range answered {
			t.Run(tt.name, func(t *testing.T) {
				rc.sendRaw(tt.payload)
				rc.expectFail(1, tt.typ, tt.want)
				rc.send([]any{"call", 2, "add", []any{2, 3}, nil, 0})
				if m := rc.readMsg(); len(m) != 3 || m[0] != "result" || toInt(m[2]) != 5 {
					t.Fatalf("add after bad request = %v", m)
				}
			})
		}
		// A message kind the server ignores (cancel of an unknown id) and
		// extra trailing fields are fine.
		rc.send([]any{"cancel", 99})
		rc.send([]any{"call", 3, "add", []any{1, 1}, nil, 0, "future", "fields"})
		if m := rc.readMsg(); len(m) != 3 || toInt(m[1]) != 3 || toInt(m[2]) != 2 {
			t.Fatalf("reply = %v", m)
		}
	})
}

func closeWrite(c net.Conn) {
	switch c := c.(type) {
	case *net.TCPConn:
		c.CloseWrite()
	case *tls.Conn:
		c.CloseWrite()
	}
}

func mustPayload(t testing.TB, msg []any) []byte {
	t.Helper()
	b, err := msgpack.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// msgPrefix encodes the header of an n-element message and its first
// elements; the test appends the rest by hand.
func msgPrefix(t testing.TB, n int, elems ...any) []byte {
	t.Helper()
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	e.EncodeArrayLen(n)
	for _, x := range elems {
		if err := e.Encode(x); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func mustFrame(t testing.TB, msg []any) []byte { return wire.AppendFrame(nil, mustPayload(t, msg)) }

func TestUnknownMethods(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr transport) {
		ts := startServer(t, tr, map[string]any{"lda": newAttenuator()}, ServerOptions{})
		c := ts.dial(t, "lda")
		suggestions := map[string]string{
			"set_atenuation": "did you mean one of: set_attenuation, get_attenuation?",
			"SetAtenuation":  "did you mean one of: set_attenuation, get_attenuation?",
			"pnig":           "did you mean one of: panic, ping?",
			"ad":             "add",
			"get_attenuaton": "get_attenuation",
		}
		for name, want := range suggestions {
			_, err := c.Call(testCtx(t), name)
			if !errors.Is(err, ErrUnknownMethod) || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v; want a suggestion %q", name, err, want)
			}
		}
		// Nothing but exported methods is callable, whatever the spelling.
		for _, name := range []string{
			"reset", "Reset", "RESET", "_reset", "reset_",
			"exposed", "Exposed", "EXPOSED", "mu", "db", "started", "release",
			"setAttenuation", "set_Attenuation", "SET_ATTENUATION", "setattenuation",
			"", " add", "add ", "add()", "lda.add", "String", "__init__", "__class__", "__dict__",
			"terminate", "get_rpc_method_list", "newAttenuator", strings.Repeat("a", 300),
		} {
			_, err := c.Call(testCtx(t), name)
			var re *RemoteError
			if !errors.As(err, &re) || re.Type != TypeUnknownMethod {
				t.Errorf("%q: %v; want an unknown method", name, err)
			}
		}
		assertServes(t, ts)
	})
}

func TestClientDisconnectMidCall(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr transport) {
		a := newAttenuator()
		ts := startServer(t, tr, map[string]any{"lda": a}, ServerOptions{})
		release := releaseOnCleanup(t, a.release) // a failing assertion must not leave it blocked
		rc := ts.raw(t)
		rc.handshake("lda")
		rc.send([]any{"call", 1, "hold", []any{"gone"}, nil, 0})
		<-a.started
		rc.Close() // the server is still inside hold
		release()
		assertServes(t, ts)
	})
}

func TestManyConnections(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr transport) {
		n := 10000
		if tr.client != nil || testing.Short() {
			n = 300 // TLS handshakes are slow; the TCP run covers the count
		}
		ts := startServer(t, tr, map[string]any{"lda": newAttenuator()}, ServerOptions{})
		var clientTLS *tls.Config
		if tr.client != nil {
			clientTLS = tr.client(t)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		next := make(chan int)
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					if err := openAndDrop(ts.addr, clientTLS, i%4); err != nil {
						select {
						case errs <- err:
						default:
						}
						return
					}
				}
			}()
		}
		for i := 0; i < n; i++ {
			next <- i
		}
		close(next)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		assertServes(t, ts)
		// Every dropped connection's goroutine ends.
		deadline := time.Now().Add(10 * time.Second)
		for {
			ts.mu.Lock()
			left := len(ts.conns)
			ts.mu.Unlock()
			if left == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d connections still served", left)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// openAndDrop opens a connection and drops it at a stage of the handshake.
func openAndDrop(addr string, cfg *tls.Config, stage int) error {
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	raw.(*net.TCPConn).SetLinger(0) // reset: no TIME_WAIT pile-up
	defer raw.Close()
	var c net.Conn = raw
	if cfg != nil {
		tc := tls.Client(raw, cfg)
		if stage > 0 {
			if err := tc.Handshake(); err != nil {
				return err
			}
		}
		c = tc
	}
	switch stage {
	case 0: // nothing sent
	case 1:
		io.WriteString(c, wire.BannerRPC+"\n")
	case 2:
		io.WriteString(c, wire.BannerRPC+"\n")
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := readFrame(bufio.NewReader(c), 0); err != nil {
			return err
		}
	case 3:
		c.Write(append([]byte(wire.BannerRPC+"\n"), mustPayloadNoT([]any{"select", "lda"})...))
	}
	return nil
}

func mustPayloadNoT(msg []any) []byte {
	b, _ := msgpack.Marshal(msg)
	return wire.AppendFrame(nil, b)
}
