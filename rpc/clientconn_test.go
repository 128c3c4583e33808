package rpc

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/wire"
)

// connPair returns the two ends of a connection: net.Pipe, or loopback
// TCP where the rpc server's side is the one that dialled (as a run that
// exposes an object dials the tracking server, which then calls it).
func connPair(t *testing.T, kind string) (client, server net.Conn) {
	t.Helper()
	switch kind {
	case "pipe":
		client, server = net.Pipe()
	case "tcp":
		ln := listen(t)
		defer ln.Close()
		accepted := make(chan net.Conn, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				accepted <- nil
				return
			}
			accepted <- c
		}()
		var err error
		server, err = net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if client = <-accepted; client == nil {
			t.Fatal("accept failed")
		}
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// serveOn serves targets on conn until the test ends.
func serveOn(t *testing.T, conn net.Conn, targets map[string]any) *Server {
	t.Helper()
	srv, err := NewServer(targets, ServerOptions{Description: "on a conn"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeConn(context.Background(), conn) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return srv
}

func TestNewClientConn(t *testing.T) {
	for _, kind := range []string{"pipe", "tcp"} {
		t.Run(kind, func(t *testing.T) {
			cc, sc := connPair(t, kind)
			serveOn(t, sc, map[string]any{"lda": newAttenuator()})
			c, err := NewClientConn(testCtx(t), cc, "", ClientOptions{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			if c.Target() != "lda" || c.Description() != "on a conn" {
				t.Fatalf("Target %q, Description %q", c.Target(), c.Description())
			}
			if got, err := c.Call(testCtx(t), "add", 2, 3); err != nil || got != int64(5) {
				t.Fatalf("add = %v, %v", got, err)
			}
			if _, err := c.ListMethods(testCtx(t)); err != nil {
				t.Fatal(err)
			}
			// Many calls in flight at once, with a Wait watching.
			waited := make(chan error, 1)
			wctx, cancel := context.WithCancel(testCtx(t))
			go func() { waited <- c.Wait(wctx) }()
			errs := make(chan error, 20)
			for i := range 20 {
				go func() {
					var r int
					err := c.CallInto(testCtx(t), &r, "add", i, 1)
					if err == nil && r != i+1 {
						err = errors.New("wrong sum")
					}
					errs <- err
				}()
			}
			for range 20 {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			cancel()
			if err := <-waited; !errors.Is(err, context.Canceled) {
				t.Fatalf("Wait after cancel = %v", err)
			}
			// The peer goes away: Wait returns, calls fail, nothing redials.
			go func() { waited <- c.Wait(testCtx(t)) }()
			sc.Close()
			if err := <-waited; !errors.Is(err, ErrClosed) {
				t.Fatalf("Wait after the peer closed = %v", err)
			}
			if _, err := c.Call(testCtx(t), "add", 1, 1); !errors.Is(err, ErrClosed) {
				t.Fatalf("call on a lost connection = %v", err)
			}
			if err := c.Wait(testCtx(t)); !errors.Is(err, ErrClosed) {
				t.Fatalf("Wait on a lost connection = %v", err)
			}
		})
	}
}

func TestNewClientConnClose(t *testing.T) {
	cc, sc := connPair(t, "pipe")
	serveOn(t, sc, map[string]any{"lda": newAttenuator()})
	c, err := NewClientConn(testCtx(t), cc, "lda", ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- c.Wait(testCtx(t)) }()
	c.Close()
	if err := <-waited; !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait across Close = %v", err)
	}
	cc.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := cc.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("conn after Close: write = %v", err)
	}
}

func TestNewClientConnErrors(t *testing.T) {
	t.Run("targets", func(t *testing.T) {
		cc, sc := connPair(t, "pipe")
		serveOn(t, sc, map[string]any{"lda": newAttenuator(), "aux": Plain{}})
		_, err := NewClientConn(testCtx(t), cc, "", ClientOptions{})
		if !errors.Is(err, ErrAmbiguousTarget) || !strings.Contains(err.Error(), "aux, lda") {
			t.Fatalf("several targets = %v", err)
		}
		cc2, sc2 := connPair(t, "tcp")
		serveOn(t, sc2, map[string]any{"lda": newAttenuator(), "aux": Plain{}})
		if _, err := NewClientConn(testCtx(t), cc2, "nope", ClientOptions{}); !errors.Is(err, ErrIncompatibleServer) {
			t.Fatalf("unknown target = %v", err)
		}
	})
	t.Run("silent peer", func(t *testing.T) {
		// A peer that reads the banner and says nothing: the handshake
		// timeout ends it, and conn is closed.
		cc, sc := connPair(t, "pipe")
		go func() {
			buf := make([]byte, 64)
			for {
				if _, err := sc.Read(buf); err != nil {
					return
				}
			}
		}()
		_, err := NewClientConn(context.Background(), cc, "", ClientOptions{HandshakeTimeout: 50 * time.Millisecond})
		if !isTimeout(err) {
			t.Fatalf("silent peer = %v", err)
		}
		if _, err := cc.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
			t.Fatalf("conn after a failed handshake: write = %v", err)
		}
	})
	t.Run("peer closes", func(t *testing.T) {
		cc, sc := connPair(t, "pipe")
		go func() {
			wire.NewConn(sc).ReadBanner()
			sc.Close()
		}()
		if _, err := NewClientConn(testCtx(t), cc, "", ClientOptions{}); !errors.Is(err, ErrIncompatibleServer) {
			t.Fatalf("peer that closes = %v", err)
		}
	})
	t.Run("options", func(t *testing.T) {
		for _, opts := range []ClientOptions{{Protocol: ProtocolSiPyCo}, {TLS: transports[1].client(t)}} {
			cc, _ := connPair(t, "pipe")
			if _, err := NewClientConn(testCtx(t), cc, "", opts); err == nil {
				t.Fatalf("NewClientConn with %+v succeeded", opts)
			}
		}
		if _, err := NewClientConn(testCtx(t), nil, "", ClientOptions{}); err == nil {
			t.Fatal("NewClientConn(nil) succeeded")
		}
	})
}

// TestWaitSiPyCo: Wait on a client of SiPyCo's protocol says it is not
// supported instead of blocking.
func TestWaitSiPyCo(t *testing.T) {
	ts := startServer(t, transports[0], map[string]any{"lda": newAttenuator()}, ServerOptions{})
	c, err := Dial(testCtx(t), ts.addr, "lda", ClientOptions{Protocol: ProtocolSiPyCo})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Wait(testCtx(t)); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Wait over SiPyCo's protocol = %v", err)
	}
}
