package rpc

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/wire"
)

// Issue 9: with IdleTimeout set, 1,000 idle connections (banner sent,
// nothing after) are closed by the server; a client that keeps calling is
// not.
func TestIdleTimeoutClosesIdleConns(t *testing.T) {
	ts := startServer(t, transports[0], map[string]any{"lda": newAttenuator()}, ServerOptions{IdleTimeout: time.Second, HandshakeTimeout: time.Minute, MaxConns: -1})
	const n = 1000
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for range n {
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		c.Write([]byte(wire.BannerRPC + "\n"))
	}
	// A busy client calls every 100 ms meanwhile (far less than the idle
	// timeout, even on a loaded machine): it must never be closed.
	busy := ts.dial(t, "lda")
	stop, busyErr := make(chan struct{}), make(chan error, 1)
	go func() {
		defer close(busyErr)
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := busy.Call(testCtx(t), "add", 1, 2); err != nil {
				busyErr <- err
				return
			}
		}
	}()
	deadline := time.Now().Add(20 * time.Second) // fails, not hangs, without the idle timeout
	for i, c := range conns {
		c.SetReadDeadline(deadline)
		r := bufio.NewReader(c)
		if _, err := readFrame(r, 0); err != nil { // the hello
			t.Fatalf("conn %d: hello: %v", i, err)
		}
		// The handshake timeout (1 min) is far beyond the read deadline:
		// only the idle timeout closes the connection in time.
		if _, err := readFrame(r, 0); !errors.Is(err, io.EOF) && !isReset(err) {
			t.Fatalf("conn %d: read after idling = %v, want the server's close", i, err)
		}
	}
	close(stop)
	if err := <-busyErr; err != nil {
		t.Fatalf("a busy client was closed too: %v", err)
	}
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && strings.Contains(err.Error(), "reset")
}

// Issue 9: the MaxConns+1-th connection is refused with a line the Go
// client reports, while the others keep working; one slot freed admits a
// new client.
func TestMaxConnsRefusal(t *testing.T) {
	forEachTransportMux(t, func(t *testing.T, tr transport) {
		const max = 3
		ts := startServer(t, tr, map[string]any{"lda": newAttenuator()}, ServerOptions{MaxConns: max})
		var clients []*Client
		for range max {
			clients = append(clients, ts.dial(t, "lda"))
		}
		opts := ts.clientOpts(t)
		opts.Protocol = ProtocolNative
		_, err := Dial(testCtx(t), ts.addr, "lda", opts)
		// Behind a Mux (whose own MaxConns is unset) the rpc server refuses.
		if !errors.Is(err, ErrIncompatibleServer) || !strings.Contains(err.Error(), "too many connections (limit 3)") {
			t.Fatalf("Dial past MaxConns = %v", err)
		}
		for i, c := range clients {
			if _, err := c.Call(testCtx(t), "add", i, 1); err != nil {
				t.Fatalf("client %d after the refusal: %v", i, err)
			}
		}
		clients[0].Close()
		// The slot is freed once the server has seen the close.
		var c *Client
		for {
			c, err = Dial(testCtx(t), ts.addr, "lda", opts)
			if err == nil {
				break
			}
			if testCtx(t).Err() != nil || !strings.Contains(err.Error(), "too many connections") {
				t.Fatalf("Dial after a slot was freed: %v", err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		c.Close()
	})
}

// Server implements wire.Shutdowner: wire.Mux.Shutdown drains it, so a
// call in flight finishes and its reply arrives.
func TestMuxShutdownDrainsServer(t *testing.T) {
	a := newAttenuator()
	srv, err := NewServer(map[string]any{"lda": a}, ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	release := releaseOnCleanup(t, a.release)
	mux := wire.NewMux(wire.MuxOptions{})
	mux.Handle(wire.BannerRPC, srv)
	ln := listen(t)
	done := make(chan error, 1)
	go func() { done <- mux.Serve(context.Background(), ln) }()
	t.Cleanup(func() { mux.Close(); <-done })
	c, err := Dial(testCtx(t), ln.Addr().String(), "lda", ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	res := make(chan any, 1)
	go func() {
		r, err := c.Call(testCtx(t), "hold", "in flight")
		if err != nil {
			r = err
		}
		res <- r
	}()
	<-a.started
	shut := make(chan error, 1)
	go func() { shut <- mux.Shutdown(testCtx(t)) }()
	release()
	if r := <-res; r != "in flight" {
		t.Fatalf("call in flight during Mux.Shutdown = %v", r)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Mux.Shutdown = %v", err)
	}
}
