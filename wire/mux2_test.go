package wire

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/testcert"
)

// drainer is a handler with a Shutdown: a connection sends "call\n", the
// handler answers "done\n" once released; Shutdown waits for calls in
// flight, then ends the connections.
type drainer struct {
	mu       sync.Mutex
	inFlight sync.WaitGroup
	started  chan struct{}
	release  chan struct{}
	quit     chan struct{}
	once     sync.Once
}

func (d *drainer) ServeConn(ctx context.Context, conn net.Conn) error {
	c := NewConn(conn)
	if _, err := c.ReadBanner(); err != nil {
		return err
	}
	line, err := ReadLine(c.R, 100)
	if err != nil || line != "call" {
		return err
	}
	d.inFlight.Add(1)
	close(d.started)
	select {
	case <-d.release:
		io.WriteString(c, "done\n")
	case <-ctx.Done():
	}
	d.inFlight.Done()
	select {
	case <-d.quit:
	case <-ctx.Done():
	}
	return nil
}

func (d *drainer) Shutdown(ctx context.Context) error {
	d.once.Do(func() { close(d.quit) })
	d.inFlight.Wait()
	return nil
}

func TestMuxShutdownDrains(t *testing.T) {
	d := &drainer{started: make(chan struct{}), release: make(chan struct{}), quit: make(chan struct{})}
	m := NewMux(MuxOptions{})
	m.Handle(BannerRPC, d)
	var silentDone sync.WaitGroup
	m.Handle(BannerLog, handlerFunc(func(ctx context.Context, c net.Conn) error {
		silentDone.Add(1)
		defer silentDone.Done()
		<-ctx.Done() // no Shutdown: cancelled at once by Mux.Shutdown
		return nil
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveDone := make(chan error, 1)
	go func() { serveDone <- m.Serve(context.Background(), ln) }()
	t.Cleanup(func() { m.Close() })

	c := dialT(t, ln.Addr().String())
	io.WriteString(c, BannerRPC+"\ncall\n")
	<-d.started
	other := dialT(t, ln.Addr().String())
	io.WriteString(other, BannerLog+"\n")
	pending := dialT(t, ln.Addr().String()) // no banner yet

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- m.Shutdown(ctx) }()
	// The connection without a banner is closed at once; new ones are refused.
	if _, err := pending.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection in its banner phase not closed by Shutdown")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with a call in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(d.release)
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || got != "done\n" {
		t.Fatalf("call in flight during Shutdown: %q, %v; want its reply", got, err)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-serveDone; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Serve after Shutdown: %v, want net.ErrClosed", err)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Fatal("listener still open after Shutdown")
	}
}

func TestMuxShutdownFallsBackToClose(t *testing.T) {
	d := &drainer{started: make(chan struct{}), release: make(chan struct{}), quit: make(chan struct{})}
	t.Cleanup(func() { close(d.release) })
	m, addr := startMux(t, MuxOptions{})
	m.Handle(BannerRPC, d)
	c := dialT(t, addr)
	io.WriteString(c, BannerRPC+"\ncall\n")
	<-d.started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := m.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a stuck call: %v, want DeadlineExceeded", err)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection open after the fallback Close")
	}
}

func TestMuxOldVersionBanner(t *testing.T) {
	_, addr := startMux(t, MuxOptions{})
	got := roundTrip(t, dialT(t, addr), "SIGOCO rpc 1\n")
	if !strings.Contains(got, `unknown banner "SIGOCO rpc 1" (this server speaks version 2 of the protocol, "SIGOCO rpc 2"`) {
		t.Fatalf("a version-1 client is told %q", got)
	}
}

func TestMuxMaxConns(t *testing.T) {
	_, addr := startMux(t, MuxOptions{MaxConns: 1})
	a := dialT(t, addr)
	io.WriteString(a, BannerRPC+"\n")
	b := dialT(t, addr)
	got := roundTrip(t, b, BannerRPC+"\nhello\n")
	if !strings.Contains(got, "SIGOCO error: too many connections (limit 1)") {
		t.Fatalf("second connection got %q", got)
	}
	if got := roundTrip(t, a, "still here\n"); got != "rpc SIGOCO rpc 2 still here\n" {
		t.Fatalf("first connection after the refusal: %q", got)
	}
}

// syncBuffer is a log sink for tests.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestMuxTLSAnswers(t *testing.T) {
	server := testcert.New(t, "server")
	client := testcert.New(t, "client")
	stranger := testcert.New(t, "stranger")
	scfg, err := TLSConfig{CertFile: server.CertFile, KeyFile: server.KeyFile, PeerCertFile: client.CertFile}.Server()
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	_, addr := startMux(t, MuxOptions{TLS: scfg, Logger: logger})

	t.Run("plaintext client", func(t *testing.T) {
		got := roundTrip(t, dialT(t, addr), BannerRPC+"\n")
		if got != "SIGOCO error: this port speaks TLS; connect with TLS (e.g. --ssl / a TLS configuration)\n" {
			t.Fatalf("plaintext client told %q", got)
		}
	})
	t.Run("plaintext http", func(t *testing.T) {
		got := roundTrip(t, dialT(t, addr), "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if !strings.HasPrefix(got, "HTTP/1.0 400 Bad Request") || !strings.Contains(got, "TLS port") {
			t.Fatalf("plaintext HTTP client told %q", got)
		}
	})
	t.Run("untrusted client certificate", func(t *testing.T) {
		ccfg, err := TLSConfig{CertFile: stranger.CertFile, KeyFile: stranger.KeyFile, PeerCertFile: server.CertFile}.Client("")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := Dial(ctx, addr, ccfg, BannerRPC)
		if err == nil {
			// TLS 1.3: the refusal arrives on the first read.
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			_, err = c.R.ReadByte()
		}
		if !errors.Is(err, ErrTLSClientCertUntrusted) || strings.Contains(err.Error(), "certificate required") {
			t.Fatalf("client with an untrusted certificate: %v; want ErrTLSClientCertUntrusted", err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(logs.String(), "client certificate was not trusted") {
			if time.Now().After(deadline) {
				t.Fatalf("server log says %q; want a warning that the client certificate was not trusted", logs.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
		if strings.Contains(logs.String(), "certificate required") {
			t.Fatalf("server log says certificate required: %q", logs.String())
		}
	})
	t.Run("untrusted server certificate", func(t *testing.T) {
		ccfg, _ := TLSConfig{CertFile: client.CertFile, KeyFile: client.KeyFile, PeerCertFile: stranger.CertFile}.Client("")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if c, err := Dial(ctx, addr, ccfg, BannerRPC); !errors.Is(err, ErrTLSServerCertUntrusted) {
			if c != nil {
				c.Close()
			}
			t.Fatalf("client not trusting the server: %v; want ErrTLSServerCertUntrusted", err)
		}
	})
}
