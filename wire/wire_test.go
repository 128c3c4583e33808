package wire

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/testcert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestReadLine(t *testing.T) {
	tests := []struct {
		name, in, want string
		max            int
		err            error
	}{
		{"plain", "SIGOCO rpc 1\nrest", "SIGOCO rpc 1", 100, nil},
		{"crlf", "GET / HTTP/1.1\r\n", "GET / HTTP/1.1", 100, nil},
		{"empty line", "\n", "", 100, nil},
		{"exactly max", "abcd\n", "abcd", 4, nil},
		{"too long", "abcdef\n", "", 4, ErrLineTooLong},
		{"too long no newline", strings.Repeat("x", 10000), "", 100, ErrLineTooLong},
		{"eof inside", "abc", "", 100, io.ErrUnexpectedEOF},
		{"eof at start", "", "", 100, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadLine(bufio.NewReaderSize(strings.NewReader(tt.in), 16), tt.max)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Fatalf("ReadLine(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestPeekLineLeavesLineUnread(t *testing.T) {
	r := bufio.NewReaderSize(strings.NewReader("ARTIQ pc_rpc\nlda\n"), 64)
	line, err := PeekLine(r)
	if err != nil || line != "ARTIQ pc_rpc" {
		t.Fatalf("PeekLine = %q, %v", line, err)
	}
	again, err := ReadLine(r, 100)
	if err != nil || again != "ARTIQ pc_rpc" {
		t.Fatalf("ReadLine after PeekLine = %q, %v", again, err)
	}
	if _, err := PeekLine(bufio.NewReaderSize(strings.NewReader(strings.Repeat("x", 100)), 16)); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("PeekLine of a long line: %v, want ErrLineTooLong", err)
	}
}

// echoHandler answers with its banner and echoes one line.
type echoHandler struct{ name string }

func (h echoHandler) ServeConn(ctx context.Context, conn net.Conn) error {
	c := NewConn(conn)
	banner, err := c.ReadBanner()
	if err != nil {
		return err
	}
	line, err := ReadLine(c.R, 100)
	if err != nil {
		return err
	}
	_, err = io.WriteString(c, h.name+" "+banner+" "+line+"\n")
	return err
}

func startMux(t *testing.T, opts MuxOptions) (*Mux, string) {
	t.Helper()
	m := NewMux(opts)
	m.Handle(BannerRPC, echoHandler{"rpc"})
	m.Handle(BannerSiPyCoRPC, echoHandler{"sipyco"})
	m.HandleHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "http "+r.URL.Path)
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		m.Close()
		if err := <-done; !errors.Is(err, net.ErrClosed) {
			t.Errorf("Serve after Close: %v, want net.ErrClosed", err)
		}
	})
	return m, ln.Addr().String()
}

func roundTrip(t *testing.T, conn net.Conn, send string) string {
	t.Helper()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, send); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(conn)
	return string(b)
}

func TestMuxDispatch(t *testing.T) {
	_, addr := startMux(t, MuxOptions{})
	tests := []struct{ name, send, want string }{
		{"native", BannerRPC + "\nhello\n", "rpc SIGOCO rpc 2 hello\n"},
		{"sipyco", BannerSiPyCoRPC + "\nlda\n", "sipyco ARTIQ pc_rpc lda\n"},
		{"http", "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "http /x"},
		{"garbage", "\x00\x01garbage\n", "SIGOCO error: unknown banner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			got := roundTrip(t, conn, tt.send)
			if !strings.Contains(got, tt.want) {
				t.Fatalf("got %q, want it to contain %q", got, tt.want)
			}
		})
	}
	// After all that the mux still serves.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got := roundTrip(t, conn, BannerRPC+"\nagain\n"); got != "rpc SIGOCO rpc 2 again\n" {
		t.Fatalf("after bad peers: %q", got)
	}
}

func TestMuxRejectionListsBanners(t *testing.T) {
	_, addr := startMux(t, MuxOptions{})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	got := roundTrip(t, conn, "SIGOCO rpc 99\n")
	for _, want := range []string{`"SIGOCO rpc 2"`, `"ARTIQ pc_rpc"`, "HTTP"} {
		if !strings.Contains(got, want) {
			t.Fatalf("rejection %q does not name %s", got, want)
		}
	}
}

func TestMuxHandshakeTimeout(t *testing.T) {
	_, addr := startMux(t, MuxOptions{HandshakeTimeout: 100 * time.Millisecond})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	// Send nothing: the mux must close the connection by itself.
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatal("read succeeded on a silent connection")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("mux did not close a connection that sent no banner")
	}
}

func TestMuxTLSMutualAuth(t *testing.T) {
	server := testcert.New(t, "server")
	client := testcert.New(t, "client")
	stranger := testcert.New(t, "stranger")
	scfg, err := TLSConfig{CertFile: server.CertFile, KeyFile: server.KeyFile, PeerCertFile: client.CertFile}.Server()
	if err != nil {
		t.Fatal(err)
	}
	_, addr := startMux(t, MuxOptions{TLS: scfg})

	dial := func(p testcert.Pair, peer string) (*Conn, error) {
		ccfg, err := TLSConfig{CertFile: p.CertFile, KeyFile: p.KeyFile, PeerCertFile: peer}.Client("")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return Dial(ctx, addr, ccfg, BannerRPC)
	}
	t.Run("trusted client", func(t *testing.T) {
		c, err := dial(client, server.CertFile)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if got := roundTrip(t, c, "hi\n"); got != "rpc SIGOCO rpc 2 hi\n" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("untrusted client certificate", func(t *testing.T) {
		c, err := dial(stranger, server.CertFile)
		if err == nil {
			// With TLS 1.3 the client learns of the refusal only when it
			// next reads or writes; either fails, and no answer arrives.
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "hi\n")
			if got, _ := io.ReadAll(c); len(got) != 0 {
				t.Fatalf("untrusted client got an answer: %q", got)
			}
		}
	})
	t.Run("client does not trust server", func(t *testing.T) {
		if c, err := dial(client, stranger.CertFile); err == nil {
			c.Close()
			t.Fatal("client accepted a server certificate it does not trust")
		}
	})
}

func TestTLSConfigErrors(t *testing.T) {
	if _, err := (TLSConfig{}).Server(); err == nil {
		t.Fatal("server TLS without certificate accepted")
	}
	if _, err := (TLSConfig{CertFile: "/nonexistent", KeyFile: "/nonexistent"}).Server(); err == nil {
		t.Fatal("missing files accepted")
	}
	p := testcert.New(t, "x")
	if _, err := (TLSConfig{PeerCertFile: p.KeyFile}).Client("h"); err == nil {
		t.Fatal("a key file accepted as peer certificate")
	}
	cfg, err := (TLSConfig{}).Client("h")
	if err != nil || cfg.InsecureSkipVerify {
		t.Fatalf("default client config: %v, skip verify %v", err, cfg.InsecureSkipVerify)
	}
	var _ *tls.Config = cfg
}

func TestMuxCloseStopsHandlers(t *testing.T) {
	m := NewMux(MuxOptions{})
	started := make(chan struct{})
	m.Handle(BannerLog, handlerFunc(func(ctx context.Context, c net.Conn) error {
		close(started)
		<-ctx.Done()
		return nil
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Serve(context.Background(), ln) }()
	c, err := Dial(context.Background(), ln.Addr().String(), nil, BannerLog)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-started
	m.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Serve after Close: %v, want net.ErrClosed", err)
	}
	m.Close() // idempotent
}

type handlerFunc func(ctx context.Context, c net.Conn) error

func (f handlerFunc) ServeConn(ctx context.Context, c net.Conn) error { return f(ctx, c) }
