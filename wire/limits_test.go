package wire

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// dialFrom dials addr from the local address ip (any 127/8 address is
// this machine's loopback on Linux).
func dialFrom(t *testing.T, ip, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Skipf("cannot dial from %s: %v", ip, err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// TestMuxMaxConnsPerAddr: one address holding its share of the port is
// refused more, readably (a line for a native client, a 503 for HTTP),
// while another address is still served and the first's connections
// keep working; a connection that closes frees its place.
func TestMuxMaxConnsPerAddr(t *testing.T) {
	m, addr := startMux(t, MuxOptions{MaxConns: 10, MaxConnsPerAddr: 2})
	if m.opts.MaxConnsPerAddr != 2 || m.opts.MaxConns != 10 {
		t.Fatalf("options %+v", m.opts)
	}
	a := dialFrom(t, "127.0.0.1", addr)
	b := dialFrom(t, "127.0.0.1", addr)
	for _, c := range []net.Conn{a, b} {
		io.WriteString(c, BannerRPC+"\n")
	}
	waitConns(t, m.loop, 2)
	got := roundTrip(t, dialFrom(t, "127.0.0.1", addr), BannerRPC+"\nhello\n")
	if !strings.Contains(got, "SIGOCO error: too many connections from 127.0.0.1 (limit 2)") {
		t.Fatalf("third native connection from one address got %q", got)
	}
	got = roundTrip(t, dialFrom(t, "127.0.0.1", addr), "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 503 ") || !strings.Contains(got, "too many connections from 127.0.0.1 (limit 2)") {
		t.Fatalf("third HTTP connection from one address got %q", got)
	}
	if got := roundTrip(t, dialFrom(t, "127.0.0.2", addr), BannerRPC+"\nother\n"); got != "rpc SIGOCO rpc 2 other\n" {
		t.Fatalf("another address: %q", got)
	}
	// The echo handler answers one line, then ends its connection:
	// that frees a place.
	if got := roundTrip(t, a, "still\n"); got != "rpc SIGOCO rpc 2 still\n" {
		t.Fatalf("first connection after the refusals: %q", got)
	}
	waitConns(t, m.loop, 1) // b
	if got := roundTrip(t, dialFrom(t, "127.0.0.1", addr), BannerRPC+"\nagain\n"); got != "rpc SIGOCO rpc 2 again\n" {
		t.Fatalf("after one closed: %q", got)
	}
}

// TestAcceptLoopTrackPerAddr: Track refuses past MaxConnsPerAddr with
// an error that is also ErrTooManyConns (what servers behind a Mux test).
func TestAcceptLoopTrackPerAddr(t *testing.T) {
	l := NewAcceptLoop(AcceptOptions{MaxConnsPerAddr: 1})
	defer l.Close()
	a1, a2 := net.Pipe()
	defer a1.Close()
	defer a2.Close()
	c1 := &addrConn{Conn: a1, remote: &net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 1}}
	c2 := &addrConn{Conn: a2, remote: &net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 2}}
	c3 := &addrConn{Conn: a2, remote: &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 2}}
	c4 := &addrConn{Conn: a1, remote: &net.TCPAddr{IP: net.ParseIP("2001:db8::2"), Port: 2}} // same /64
	if err := l.Track(c1); err != nil {
		t.Fatal(err)
	}
	if err := l.Track(c2); !errors.Is(err, ErrTooManyConnsFromAddr) || !errors.Is(err, ErrTooManyConns) {
		t.Fatalf("second from one address: %v", err)
	}
	if err := l.Track(c3); err != nil {
		t.Fatal(err)
	}
	if err := l.Track(c4); !errors.Is(err, ErrTooManyConnsFromAddr) {
		t.Fatalf("second from one /64: %v", err)
	}
	l.Untrack(c1)
	if err := l.Track(c2); err != nil {
		t.Fatalf("after Untrack: %v", err)
	}
	l.Untrack(c2)
	l.Untrack(c3)
}

type addrConn struct {
	net.Conn
	remote net.Addr
}

func (c *addrConn) RemoteAddr() net.Addr { return c.remote }

func waitConns(t *testing.T, l *AcceptLoop, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for l.Conns() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections, want %d", l.Conns(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestMuxDefaults: the zero MuxOptions cap the port's connections (below
// the open-file limit) and per address, and the HTTP server has read,
// header and idle timeouts; negative values turn them off.
func TestMuxDefaults(t *testing.T) {
	m := NewMux(MuxOptions{})
	defer m.Close()
	m.HandleHTTP(http.NotFoundHandler())
	if m.opts.MaxConns <= 0 || m.opts.MaxConns > DefaultMaxConns {
		t.Errorf("MaxConns %d", m.opts.MaxConns)
	}
	if lim, ok := openFileLimit(); ok && uint64(m.opts.MaxConns) >= lim {
		t.Errorf("MaxConns %d not below the open-file limit %d", m.opts.MaxConns, lim)
	}
	if m.opts.MaxConnsPerAddr <= 0 || m.opts.MaxConnsPerAddr > m.opts.MaxConns/2 && m.opts.MaxConns >= 2 {
		t.Errorf("MaxConnsPerAddr %d (MaxConns %d)", m.opts.MaxConnsPerAddr, m.opts.MaxConns)
	}
	hs := m.http
	if hs.ReadHeaderTimeout != DefaultHandshakeTimeout || hs.ReadTimeout != DefaultHTTPReadTimeout ||
		hs.IdleTimeout != DefaultHTTPIdleTimeout || hs.MaxHeaderBytes != DefaultHTTPMaxHeaderBytes || hs.WriteTimeout != 0 {
		t.Errorf("http.Server %+v", hs)
	}
	m2 := NewMux(MuxOptions{MaxConns: -1, MaxConnsPerAddr: -1, HTTP: HTTPOptions{ReadTimeout: -1}})
	defer m2.Close()
	m2.HandleHTTP(http.NotFoundHandler())
	if m2.loop.opts.MaxConns != 0 || m2.loop.opts.MaxConnsPerAddr != 0 || m2.http.ReadTimeout != 0 {
		t.Errorf("negative options: %+v, read timeout %v", m2.loop.opts, m2.http.ReadTimeout)
	}
}

// TestMuxSlowBody: an HTTP client that sends its body a byte at a time
// (issue 22: 1 byte every 5 s kept thousands of connections open) is cut
// off once HTTPOptions.ReadTimeout has passed; so is one that dribbles
// its header (ReadHeaderTimeout).
func TestMuxSlowBody(t *testing.T) {
	var mu sync.Mutex
	var bodyErr error
	m := NewMux(MuxOptions{HTTP: HTTPOptions{ReadTimeout: 400 * time.Millisecond, ReadHeaderTimeout: 300 * time.Millisecond}})
	m.HandleHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		mu.Lock()
		bodyErr = err
		mu.Unlock()
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Serve(context.Background(), ln) }()
	t.Cleanup(func() { m.Close(); <-done })
	addr := ln.Addr().String()

	for _, tc := range []struct{ name, head, drip string }{
		{"body", "POST /api/call HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", "x"},
		{"header", "GET / HTTP/1.1\r\n", "X"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialT(t, addr)
			start := time.Now()
			if _, err := io.WriteString(c, tc.head); err != nil {
				t.Fatal(err)
			}
			// Drip a byte every 50 ms, as long as the server takes it.
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				for {
					select {
					case <-stop:
						return
					case <-time.After(50 * time.Millisecond):
					}
					if _, err := io.WriteString(c, tc.drip); err != nil {
						return
					}
				}
			}()
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			io.Copy(io.Discard, c) // until the server closes
			if el := time.Since(start); el > 3*time.Second {
				t.Fatalf("slow %s held the connection for %v", tc.name, el)
			}
			if tc.name == "body" {
				mu.Lock()
				defer mu.Unlock()
				var ne net.Error
				if !errors.As(bodyErr, &ne) || !ne.Timeout() {
					t.Errorf("handler's body read: %v, want a timeout", bodyErr)
				}
			}
		})
	}
}

// TestRefusalLogRateLimited: a flood of refused connections logs a
// warning a second, not one per connection.
func TestRefusalLogRateLimited(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	_, addr := startMux(t, MuxOptions{MaxConns: 1, Logger: logger})
	a := dialT(t, addr)
	io.WriteString(a, BannerRPC+"\n")
	for range 20 {
		c := dialT(t, addr)
		c.Close()
	}
	roundTrip(t, dialT(t, addr), BannerRPC+"\n") // refused, after the others
	if n := strings.Count(logs.String(), "connection refused"); n < 1 || n > 5 {
		t.Fatalf("%d refusal warnings for 21 refusals:\n%s", n, logs.String())
	}
}
