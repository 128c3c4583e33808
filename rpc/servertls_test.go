package rpc

import (
	"crypto/tls"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/sipycotest"
	"github.com/sigoco/sigoco/internal/testcert"
	"github.com/sigoco/sigoco/wire"
)

// strangerTLS is a client config whose certificate the test servers do
// not trust.
func strangerTLS(t *testing.T) *tls.Config {
	p := certsFor(t)
	stranger := testcert.New(t, "stranger")
	cfg, err := wire.TLSConfig{CertFile: stranger.CertFile, KeyFile: stranger.KeyFile, PeerCertFile: p.server.CertFile}.Client("localhost")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Issue 9 and 10: a client certificate the server does not trust ends
// the connection after the TLS handshake (wire's accept loop checks it):
// a native banner is answered with one line saying why, and the Go
// client reports wire.ErrTLSClientCertUntrusted. No banner is served.
func TestRejectedClientCertTold(t *testing.T) {
	ts := startController(t, transports[1], ServerOptions{})
	c, err := tls.Dial("tcp", ts.addr, strangerTLS(t))
	if err != nil {
		t.Fatalf("TLS 1.3: the client's side of the handshake completes: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, wire.BannerRPC+"\n")
	b, err := io.ReadAll(c)
	if !strings.HasPrefix(string(b), "SIGOCO error: client certificate not trusted") {
		t.Fatalf("read %q, %v; want the refusal line", b, err)
	}
	_, err = Dial(testCtx(t), ts.addr, "lda", ClientOptions{TLS: strangerTLS(t), Protocol: ProtocolNative})
	if !errors.Is(err, wire.ErrTLSClientCertUntrusted) {
		t.Fatalf("Dial with an untrusted certificate = %v, want wire.ErrTLSClientCertUntrusted", err)
	}
}

// What SiPyCo's Python client sees: EOFError, as from SiPyCo's server
// (no TLS alert, no refusal line for a SiPyCo banner).
func TestRejectedClientCertSiPyCoClient(t *testing.T) {
	env := sipycotest.Python(t)
	ts := startController(t, transports[1], ServerOptions{})
	p := certsFor(t)
	stranger := testcert.New(t, "stranger")
	host, port := splitAddr(t, ts.addr)
	r := env.Run(t, sipycotest.RPCClient, host, port, "lda", "--client", "sync", "--ssl", stranger.CertFile, stranger.KeyFile, p.server.CertFile)
	if s := r.String(); !strings.Contains(s, "EOFError") {
		t.Fatalf("SiPyCo's client with an untrusted certificate: %s", s)
	}
}
