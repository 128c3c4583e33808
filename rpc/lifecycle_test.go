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

func TestTerminate(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr transport) {
		ts := startServer(t, tr, map[string]any{"lda": newAttenuator()}, ServerOptions{BuiltinTerminate: true})
		c := ts.dial(t, "lda")
		other := ts.dial(t, "lda")
		waited := make(chan error, 1)
		go func() { waited <- ts.WaitTerminate(testCtx(t)) }()
		if err := c.Terminate(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		if err := <-waited; err != nil {
			t.Fatalf("WaitTerminate = %v", err)
		}
		if err := <-ts.done; err != nil {
			t.Fatalf("Serve = %v", err)
		}
		ts.done <- nil // for the cleanup
		if _, err := other.Call(testCtx(t), "add", 1, 2); !errors.Is(err, ErrClosed) {
			t.Fatalf("call after terminate = %v", err)
		}

		ts2 := startServer(t, tr, map[string]any{"lda": newAttenuator()}, ServerOptions{})
		c2 := ts2.dial(t, "lda")
		if _, err := c2.Call(testCtx(t), "terminate"); !errors.Is(err, ErrUnknownMethod) {
			t.Fatalf("terminate without BuiltinTerminate = %v", err)
		}
	})
}

func TestShutdown(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr transport) {
		a := newAttenuator()
		ts := startServer(t, tr, map[string]any{"lda": a}, ServerOptions{})
		release := releaseOnCleanup(t, a.release) // a failing assertion must not leave it blocked
		c := ts.dial(t, "lda")
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
		go func() { shut <- ts.Shutdown(testCtx(t)) }()
		select {
		case err := <-shut:
			t.Fatalf("Shutdown returned before the call finished: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		release()
		if r := <-res; r != "in flight" {
			t.Fatalf("call in flight = %v", r)
		}
		if err := <-shut; err != nil {
			t.Fatalf("Shutdown = %v", err)
		}
		if err := <-ts.done; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Serve after Shutdown = %v, want net.ErrClosed", err)
		}
		ts.done <- nil
		if _, err := Dial(testCtx(t), ts.addr, "lda", ts.clientOpts(t)); err == nil {
			t.Fatal("Dial after Shutdown succeeded")
		}
	})
}

func TestShutdownTimeout(t *testing.T) {
	a := newAttenuator()
	ts := startServer(t, transports[0], map[string]any{"lda": a}, ServerOptions{})
	c := ts.dial(t, "lda")
	errc := make(chan error, 1)
	go func() {
		_, err := c.Call(testCtx(t), "block", "x")
		errc <- err
	}()
	<-a.started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ts.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown = %v", err)
	}
	if err := <-a.ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("method ctx = %v", err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("call = %v", err)
	}
}

func TestServeContext(t *testing.T) {
	srv, err := NewServer(map[string]any{"lda": newAttenuator()}, ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	c, err := Dial(testCtx(t), ln.Addr().String(), "", ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve = %v", err)
	}
	// Serve finished its connections before returning.
	if _, err := c.Call(testCtx(t), "add", 1, 2); !errors.Is(err, ErrClosed) {
		t.Fatalf("call after Serve returned = %v", err)
	}
}

func TestFrameLimits(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr transport) {
		ts := startServer(t, tr, map[string]any{"lda": newAttenuator()}, ServerOptions{MaxFrameSize: 4096})
		opts := ts.clientOpts(t)
		opts.MaxFrameSize = 2048
		c, err := Dial(testCtx(t), ts.addr, "lda", opts)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// A result over the server's limit is a remote error.
		_, err = c.Call(testCtx(t), "zeros", 10000)
		var re *RemoteError
		if !errors.As(err, &re) || re.Type != TypeBadResult || !strings.Contains(re.Message, "exceeds the limit of 4096 bytes") {
			t.Fatalf("big result = %v", err)
		}
		// A request over the client's own limit is not sent.
		if _, err := c.Call(testCtx(t), "echo_bytes", make([]byte, 3000)); !errors.Is(err, wire.ErrFrameTooLarge) {
			t.Fatalf("big request = %v", err)
		}
		if got, err := c.Call(testCtx(t), "add", 1, 2); err != nil || got != int64(3) {
			t.Fatalf("add after = %v, %v", got, err)
		}
		// A reply over the client's limit ends the connection.
		if _, err := c.Call(testCtx(t), "zeros", 3000); !errors.Is(err, ErrClosed) || !errors.Is(err, wire.ErrFrameTooLarge) {
			t.Fatalf("reply over the client's limit = %v", err)
		}
		assertServes(t, ts)
	})
}

func TestServeConnResult(t *testing.T) {
	srv, err := NewServer(map[string]any{"lda": newAttenuator()}, ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	serveOne := func(client func(net.Conn)) error {
		a, b := net.Pipe()
		done := make(chan error, 1)
		go func() { done <- srv.ServeConn(context.Background(), a) }()
		client(b)
		b.Close()
		return <-done
	}
	if err := serveOne(func(c net.Conn) {
		io.WriteString(c, "nonsense\n")
		io.Copy(io.Discard, c)
	}); !errors.Is(err, wire.ErrBadBanner) {
		t.Fatalf("bad banner: ServeConn = %v", err)
	}
	if err := serveOne(func(c net.Conn) {
		io.WriteString(c, wire.BannerRPC+"\n")
		r := bufio.NewReader(c)
		readFrame(r, 0)
		c.Write(mustFrame(t, []any{"select", "lda"}))
		readFrame(r, 0)
	}); err != nil {
		t.Fatalf("client hung up: ServeConn = %v", err)
	}
}

// Serve after Close returns net.ErrClosed at once, as wire's accept loop
// answers in every sigoco server.
func TestServeAfterClose(t *testing.T) {
	srv, err := NewServer(map[string]any{"lda": newAttenuator()}, ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	if err := srv.Serve(context.Background(), listen(t)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Serve after Close = %v, want net.ErrClosed", err)
	}
	srv.Close() // idempotent
}
