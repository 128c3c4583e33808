package wire

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/testcert"
)

// certPeers are the certificates of a mutual-TLS test: the server trusts
// client, not stranger.
type certPeers struct {
	server, client, stranger testcert.Pair
}

func newCertPeers(t *testing.T) certPeers {
	return certPeers{testcert.New(t, "server"), testcert.New(t, "client"), testcert.New(t, "stranger")}
}

func (p certPeers) serverTLS(t *testing.T) *tls.Config {
	t.Helper()
	cfg, err := TLSConfig{CertFile: p.server.CertFile, KeyFile: p.server.KeyFile, PeerCertFile: p.client.CertFile}.Server()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// clientTLS is a client configuration with pair's certificate (none for a
// zero pair), trusting the server, at most TLS version max (0: any).
func (p certPeers) clientTLS(t *testing.T, pair testcert.Pair, max uint16) *tls.Config {
	t.Helper()
	cfg, err := TLSConfig{CertFile: pair.CertFile, KeyFile: pair.KeyFile, PeerCertFile: p.server.CertFile}.Client("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxVersion = max
	return cfg
}

// certServer is a TLS server, behind a Mux or on an AcceptLoop of its own,
// that answers every banner with "served <banner>" and counts the
// connections it served.
type certServer struct {
	addr   string
	served atomic.Int32
	logs   *syncBuffer
}

func (s *certServer) serve(ctx context.Context, conn net.Conn) {
	c := NewConn(conn)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	banner, err := c.ReadBanner()
	if err != nil {
		return
	}
	s.served.Add(1)
	io.WriteString(c, "served "+banner+"\n")
}

func (s *certServer) ServeConn(ctx context.Context, conn net.Conn) error {
	s.serve(ctx, conn)
	return nil
}

func startCertServer(t *testing.T, mux bool, cfg *tls.Config) *certServer {
	t.Helper()
	s := &certServer{logs: &syncBuffer{}}
	logger := slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	done := make(chan struct{})
	if mux {
		m := NewMux(MuxOptions{TLS: cfg, Logger: logger})
		for _, b := range []string{BannerRPC, BannerSiPyCoRPC} {
			m.Handle(b, s)
		}
		go func() { defer close(done); m.Serve(context.Background(), ln) }()
		t.Cleanup(func() { m.Close(); <-done })
	} else {
		l := NewAcceptLoop(AcceptOptions{TLS: cfg, Logger: logger})
		go func() { defer close(done); l.Serve(context.Background(), ln, s.serve) }()
		t.Cleanup(func() { l.Close(); <-done })
	}
	return s
}

// dialRead dials with Dial, then reads what the server answers.
func dialRead(t *testing.T, addr string, cfg *tls.Config, banner string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr, cfg, banner)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

var tlsVersions = []struct {
	name string
	max  uint16
}{{"TLS1.2", tls.VersionTLS12}, {"TLS1.3", tls.VersionTLS13}}

// Issue 10: a client certificate the server does not trust is refused as
// each kind of client can show it, on a Mux and on an AcceptLoop alone,
// over TLS 1.2 and 1.3, and the refused peer is never served.
func TestClientCertRefused(t *testing.T) {
	p := newCertPeers(t)
	for _, mux := range []bool{true, false} {
		name := "AcceptLoop"
		if mux {
			name = "Mux"
		}
		t.Run(name, func(t *testing.T) {
			s := startCertServer(t, mux, p.serverTLS(t))
			for _, v := range tlsVersions {
				t.Run(v.name, func(t *testing.T) {
					t.Run("trusted", func(t *testing.T) {
						got, err := dialRead(t, s.addr, p.clientTLS(t, p.client, v.max), BannerRPC)
						if err != nil || got != "served "+BannerRPC+"\n" {
							t.Fatalf("trusted client: %q, %v", got, err)
						}
					})
					before := s.served.Load()
					t.Run("native banner", func(t *testing.T) {
						got, err := dialRead(t, s.addr, p.clientTLS(t, p.stranger, v.max), BannerRPC)
						if !errors.Is(err, ErrTLSClientCertUntrusted) || got != "" {
							t.Fatalf("untrusted native client: %q, %v; want ErrTLSClientCertUntrusted", got, err)
						}
						if !strings.Contains(err.Error(), "not signed by a certificate this server trusts") {
							t.Errorf("error %q does not say why", err)
						}
					})
					t.Run("no certificate", func(t *testing.T) {
						got, err := dialRead(t, s.addr, p.clientTLS(t, testcert.Pair{}, v.max), BannerRPC)
						if !errors.Is(err, ErrTLSClientCertMissing) || got != "" {
							t.Fatalf("client without a certificate: %q, %v; want ErrTLSClientCertMissing", got, err)
						}
					})
					t.Run("SiPyCo banner", func(t *testing.T) {
						// What SiPyCo's Python client gets from SiPyCo's
						// servers: the connection closed, no alert, no word.
						got, err := dialRead(t, s.addr, p.clientTLS(t, p.stranger, v.max), BannerSiPyCoRPC)
						if err != nil || got != "" {
							t.Fatalf("untrusted SiPyCo client: %q, %v; want a clean EOF", got, err)
						}
					})
					t.Run("HTTP", func(t *testing.T) {
						got, err := dialRead(t, s.addr, p.clientTLS(t, p.stranger, v.max), "GET / HTTP/1.1\r\nHost: x\r\n")
						if !strings.HasPrefix(got, "HTTP/1.1 403 Forbidden") || !strings.Contains(got, "client certificate not trusted") {
							t.Fatalf("untrusted HTTP client: %q, %v", got, err)
						}
					})
					if n := s.served.Load() - before; n != 0 {
						t.Fatalf("%d refused connections were served", n)
					}
				})
			}
			logs := s.logs.String()
			if !strings.Contains(logs, "client certificate was not trusted") || !strings.Contains(logs, "none was sent") {
				t.Fatalf("server log %q: want warnings for the untrusted and the missing certificate", logs)
			}
		})
	}
}

// The configuration's own checks still apply, after the handshake, with the
// verified chains they would have seen.
func TestClientCertConfigCallbacks(t *testing.T) {
	p := newCertPeers(t)
	cfg := p.serverTLS(t)
	var chains atomic.Int32
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		chains.Store(int32(len(cs.VerifiedChains)))
		if cs.PeerCertificates[0].Subject.CommonName != "client" {
			return errors.New("not our client")
		}
		return nil
	}
	s := startCertServer(t, true, cfg)
	if got, err := dialRead(t, s.addr, p.clientTLS(t, p.client, 0), BannerRPC); err != nil || got != "served "+BannerRPC+"\n" {
		t.Fatalf("trusted client: %q, %v", got, err)
	}
	if chains.Load() != 1 {
		t.Fatalf("VerifyConnection saw %d verified chains, want 1", chains.Load())
	}

	cfg = p.serverTLS(t)
	cfg.VerifyConnection = func(tls.ConnectionState) error { return errors.New("refused by policy") }
	s = startCertServer(t, false, cfg)
	if got, err := dialRead(t, s.addr, p.clientTLS(t, p.client, 0), BannerRPC); !errors.Is(err, ErrTLSClientCertUntrusted) {
		t.Fatalf("client refused by VerifyConnection: %q, %v", got, err)
	}
	if !strings.Contains(s.logs.String(), "refused by policy") {
		t.Fatalf("server log %q does not say why", s.logs.String())
	}
}

// Only a refusal line at the very start of a TLS stream is read as one.
func TestClientRefusalSniffing(t *testing.T) {
	tests := []struct {
		name, send string
		want       error
		data       string
	}{
		{"untrusted", certUntrustedLine + " (x)\n", ErrTLSClientCertUntrusted, ""},
		{"missing", certMissingLine + " (none was sent)\r\n", ErrTLSClientCertMissing, ""},
		{"other error line", "SIGOCO error: unknown banner\n", nil, "SIGOCO error: unknown banner\n"},
		{"short", "SIGO", nil, "SIGO"},
		{"frame", "\x00\x00\x00\x01\x90", nil, "\x00\x00\x00\x01\x90"},
		{"later", "ok\n" + certUntrustedLine + "\n", nil, "ok\n" + certUntrustedLine + "\n"},
	}
	p := newCertPeers(t)
	scfg, err := TLSConfig{CertFile: p.server.CertFile, KeyFile: p.server.KeyFile}.Server()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				raw, err := ln.Accept()
				if err != nil {
					return
				}
				c := tls.Server(raw, scfg)
				c.SetDeadline(time.Now().Add(5 * time.Second))
				ReadLine(NewConn(c).R, 100)
				// Byte by byte: the client must put the line together.
				for i := range len(tt.send) {
					c.Write([]byte{tt.send[i]})
				}
				c.Close()
			}()
			got, err := dialRead(t, ln.Addr().String(), p.clientTLS(t, testcert.Pair{}, 0), BannerRPC)
			if tt.want != nil {
				if !errors.Is(err, tt.want) || got != "" {
					t.Fatalf("got %q, %v; want %v", got, err, tt.want)
				}
				return
			}
			if err != nil || got != tt.data {
				t.Fatalf("got %q, %v; want %q", got, err, tt.data)
			}
		})
	}
}

// Issue 9: HandshakeTimeout bounds the TLS handshake and the banner
// together. A client that takes most of the timeout for its handshake and
// then sends its banner within one more HandshakeTimeout (but past the
// first) is not served.
func TestMuxHandshakeTimeoutBoundsTLSAndBanner(t *testing.T) {
	p := newCertPeers(t)
	const timeout = time.Second
	s := &certServer{}
	m := NewMux(MuxOptions{TLS: p.serverTLS(t), HandshakeTimeout: timeout})
	m.Handle(BannerRPC, s)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); m.Serve(context.Background(), ln) }()
	t.Cleanup(func() { m.Close(); <-done })

	start := time.Now()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	time.Sleep(timeout * 8 / 10)
	tc := tls.Client(raw, p.clientTLS(t, p.client, 0))
	if err := tc.Handshake(); err != nil {
		t.Skipf("the handshake did not finish in time on this machine: %v", err)
	}
	time.Sleep(time.Until(start.Add(timeout * 3 / 2)))
	io.WriteString(tc, BannerRPC+"\n")
	got, _ := io.ReadAll(tc)
	if s.served.Load() != 0 || len(got) != 0 {
		t.Fatalf("a banner sent %v after the accept (HandshakeTimeout %v) was served: %q", time.Since(start).Round(time.Millisecond), timeout, got)
	}
}
