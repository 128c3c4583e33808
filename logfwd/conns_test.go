package logfwd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/wire"
)

// rawForwarder dials addr, does the native handshake by hand and returns
// the connection, idle from then on; it is closed at cleanup.
func rawForwarder(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(append([]byte(wire.BannerLog+"\n"), helloBytes("idle")...)); err != nil {
		t.Fatal(err)
	}
	p, err := wire.NewFrameReader(bufio.NewReader(c), controlFrameLimit).Next()
	if err != nil {
		t.Fatalf("reading the server's hello: %v", err)
	}
	if op, _, err := newDecoder(0).frame(p); err != nil || op != opHello {
		t.Fatalf("server answered %q %v, want its hello", op, err)
	}
	c.SetDeadline(time.Time{})
	return c
}

// waitClosed reads c until the server closes it, failing after 20 s.
func waitClosed(c net.Conn) error {
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("still open after 20 s")
	}
	return nil // EOF or a reset: closed
}

// Issue 9: 1,000 idle log connections used to stay for ever. With an
// IdleTimeout they are all closed, and the server keeps serving.
func TestIdleConnectionsClosed(t *testing.T) {
	const n = 1000
	col := newCollector()
	addr, srv, _ := serve(t, col, transports[0], ServerOptions{IdleTimeout: 300 * time.Millisecond}, "")
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = rawForwarder(t, addr)
	}
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- waitClosed(c) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("an idle connection: %v", err)
		}
	}
	until(t, "the server to forget its idle connections", func() bool { return srv.loop.Conns() == 0 })
	f := forward(t, addr, ForwarderOptions{})
	slog.New(f).Info("still serving")
	flush(t, f)
	if got := col.messages(); len(got) != 1 || got[0] != "still serving" {
		t.Fatalf("records %q", got)
	}
}

// A quiet Forwarder pings, so a server's IdleTimeout does not cut it;
// one that does not ping is cut (and reconnects).
func TestHeartbeatKeepsForwarderAlive(t *testing.T) {
	const idle = 400 * time.Millisecond
	t.Run("no pings: cut", func(t *testing.T) {
		addr, _, _ := serve(t, nil, transports[0], ServerOptions{IdleTimeout: idle}, "")
		f := forward(t, addr, ForwarderOptions{HeartbeatInterval: -1})
		until(t, "the idle forwarder to be cut and reconnect", func() bool { return f.Stats().Reconnects > 0 })
	})
	t.Run("pings: kept", func(t *testing.T) {
		col := newCollector()
		addr, _, _ := serve(t, col, transports[0], ServerOptions{IdleTimeout: idle}, "")
		f := forward(t, addr, ForwarderOptions{HeartbeatInterval: idle / 20})
		until(t, "connected", func() bool { return f.Stats().Connected })
		time.Sleep(4 * idle) // quiet for four idle timeouts
		if s := f.Stats(); s.Reconnects != 0 || !s.Connected {
			t.Fatalf("a pinging forwarder was cut: %+v", s)
		}
		slog.New(f).Info("after the quiet")
		flush(t, f)
		if got := col.messages(); len(got) != 1 {
			t.Fatalf("records %q", got)
		}
	})
}

// Issue 9: past MaxConns a connection is refused with a readable line, on
// the server's own listener and behind a wire.Mux; the server keeps
// serving the others, and a Forwarder says why it cannot connect.
func TestMaxConnsRefused(t *testing.T) {
	const max = 3
	for _, tr := range []transport{transports[0], transports[2]} {
		t.Run(tr.name, func(t *testing.T) {
			col := newCollector()
			warnings := newCollector()
			addr, srv, _ := serve(t, col, tr, ServerOptions{MaxConns: max, Logger: slog.New(warnings)}, "")
			held := make([]net.Conn, max)
			for i := range held {
				held[i] = rawForwarder(t, addr)
			}
			until(t, "all counted", func() bool { return srv.loop.Conns() == max })

			// The next one is told why, in a line.
			out := string(rawExchange(t, addr, nil, []byte(wire.BannerLog+"\n")))
			want := fmt.Sprintf("SIGOCO error: too many connections (limit %d); try again later\n", max)
			if out != want {
				t.Fatalf("connection %d was told %q, want %q", max+1, out, want)
			}
			if len(warnings.records(slog.LevelWarn, "")) == 0 {
				t.Error("no warning logged for the refusal")
			}

			// A Forwarder meanwhile says so, and keeps retrying.
			diag := newCollector()
			f := forward(t, addr, ForwarderOptions{Logger: slog.New(diag)})
			until(t, "the forwarder's warning", func() bool { return len(diag.records(slog.LevelWarn, "")) > 0 })
			w := diag.records(slog.LevelWarn, "")[0]
			if !strings.HasPrefix(w.rec.Message, "logfwd: the server refused the connection") || !strings.Contains(w.str("err"), "too many connections") {
				t.Errorf("forwarder warned %q err=%q", w.rec.Message, w.str("err"))
			}
			slog.New(f).Info("queued while refused")

			// The held connections are still served.
			c := held[0]
			c.SetDeadline(time.Now().Add(10 * time.Second))
			st := newEncState(0)
			at := st.e.Begin()
			st.recordHead(time.Time{}, slog.LevelInfo, "", "from a held connection")
			st.e.B = append(st.e.B, 0x90)
			if err := st.e.End(at); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Write(st.e.B); err != nil {
				t.Fatal(err)
			}
			col.wait(t, 1)

			// Once one leaves, the forwarder gets in and delivers.
			c.Close()
			flush(t, f)
			if got := col.messages(); len(got) != 2 || got[1] != "queued while refused" {
				t.Fatalf("records %q", got)
			}
		})
	}
}

// ServeConn past MaxConns returns an error wrapping wire.ErrTooManyConns.
func TestServeConnTooMany(t *testing.T) {
	srv := NewServer(nil, ServerOptions{MaxConns: 1})
	t.Cleanup(func() { srv.Close() })
	a1, b1 := net.Pipe()
	t.Cleanup(func() { a1.Close(); b1.Close() })
	done := make(chan error, 1)
	go func() { done <- srv.ServeConn(context.Background(), b1) }()
	until(t, "the first counted", func() bool { return srv.loop.Conns() == 1 })

	a2, b2 := net.Pipe()
	t.Cleanup(func() { a2.Close(); b2.Close() })
	go func() {
		a2.SetDeadline(time.Now().Add(10 * time.Second))
		a2.Write([]byte(wire.BannerLog + "\n"))
		io.Copy(io.Discard, a2)
	}()
	if err := srv.ServeConn(context.Background(), b2); !errors.Is(err, wire.ErrTooManyConns) {
		t.Fatalf("second ServeConn = %v, want wire.ErrTooManyConns", err)
	}
	a1.Close()
	if err := <-done; err != nil {
		t.Fatalf("first ServeConn = %v", err)
	}
}

// After Close, Serve returns ErrClosed (net.ErrClosed), like every sigoco
// server.
func TestServeAfterClose(t *testing.T) {
	srv := NewServer(nil, ServerOptions{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	rawForwarder(t, ln.Addr().String()) // Serve is running
	srv.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Serve after Close = %v, want ErrClosed", err)
	}
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(context.Background(), ln2); !errors.Is(err, ErrClosed) {
		t.Fatalf("Serve on a closed server = %v, want ErrClosed", err)
	}
}
