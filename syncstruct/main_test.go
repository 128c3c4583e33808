package syncstruct

import (
	"context"
	"crypto/tls"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/testcert"
	"github.com/sigoco/sigoco/wire"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// transports every end-to-end test runs over.
var transports = []string{"tcp", "tls", "mux", "ws", "wss"}

// endpoint is a running publisher as a subscriber sees it.
type endpoint struct {
	addr string
	tls  *tls.Config
}

func (e endpoint) subOpts(o SubscriberOptions) SubscriberOptions {
	o.TLS = e.tls
	if o.MinBackoff == 0 {
		o.MinBackoff = 5 * time.Millisecond
		o.MaxBackoff = 50 * time.Millisecond
	}
	return o
}

// serve starts p on a fresh loopback listener of the given kind and stops
// it (and p) when the test ends.
func serve(t testing.TB, p *Publisher, kind string) endpoint {
	t.Helper()
	t.Cleanup(func() { p.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var ep endpoint
	switch kind {
	case "tcp":
		ep.addr = ln.Addr().String()
		go func() { defer close(done); p.Serve(ctx, fixedBufListener{ln}) }()
	case "tls":
		srvCfg, cliCfg := tlsPair(t)
		p.opts.TLS = srvCfg
		p.loop = p.newAcceptLoop()
		ep.addr, ep.tls = ln.Addr().String(), cliCfg
		go func() { defer close(done); p.Serve(ctx, ln) }()
	case "mux":
		mux := wire.NewMux(wire.MuxOptions{})
		mux.Handle(wire.BannerSync, p)
		mux.Handle(wire.BannerSiPyCoSync, p)
		mux.HandleHTTP(p)
		ep.addr = ln.Addr().String()
		go func() { defer close(done); mux.Serve(ctx, ln) }()
		t.Cleanup(func() { mux.Close() })
	case "ws":
		ln.Close()
		srv := httptest.NewServer(p)
		ep.addr = "ws" + strings.TrimPrefix(srv.URL, "http")
		close(done)
		t.Cleanup(func() {
			p.Close() // ends the hijacked WebSocket connections first
			srv.Close()
		})
	case "wss":
		ln.Close()
		srv := httptest.NewUnstartedServer(p)
		srvCfg, cliCfg := tlsPair(t)
		srv.TLS = srvCfg
		srv.StartTLS()
		ep.addr, ep.tls = "wss"+strings.TrimPrefix(srv.URL, "https"), cliCfg
		close(done)
		t.Cleanup(func() {
			p.Close()
			srv.Close()
		})
	default:
		t.Fatalf("unknown transport %q", kind)
	}
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return ep
}

// fixedBufListener gives accepted connections a fixed send buffer (no
// autotuning up to megabytes), so a subscriber that stops reading backs up
// to the publisher after a known amount.
type fixedBufListener struct{ net.Listener }

func (l fixedBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(256 << 10)
	}
	return c, err
}

func tlsPair(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	srv := testcert.New(t, "server")
	cli := testcert.New(t, "client")
	server, err := wire.TLSConfig{CertFile: srv.CertFile, KeyFile: srv.KeyFile, PeerCertFile: cli.CertFile}.Server()
	if err != nil {
		t.Fatal(err)
	}
	client, err = wire.TLSConfig{CertFile: cli.CertFile, KeyFile: cli.KeyFile, PeerCertFile: srv.CertFile}.Client("")
	if err != nil {
		t.Fatal(err)
	}
	return server, client
}

func mustNotifier(t testing.TB, tree any, o NotifierOptions) *Notifier {
	t.Helper()
	n, err := NewNotifier(tree, o)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func subscribe(t testing.TB, ep endpoint, name string, o SubscriberOptions) *Subscriber {
	t.Helper()
	s := must2(NewSubscriber(ep.addr, name, ep.subOpts(o)))
	t.Cleanup(func() { s.Close() })
	return s
}

func waitSynced(t testing.TB, s *Subscriber) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond (for conditions no event announces, such as "the
// replica has caught up with seq") until it holds or 10 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitReplica waits until s's replica is at n's sequence number and then
// checks that it equals n's tree.
func waitReplica(t testing.TB, s *Subscriber, n *Notifier) {
	t.Helper()
	want := n.Seq()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, seq := s.Position()
		st, err := s.State()
		if seq == want && st == StateSynced {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for replica to catch up: at seq %d of %d, state %v, last error %v", seq, want, st, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	got, exp := s.Copy(), n.Copy()
	if !Equal(got, exp) {
		t.Fatalf("replica differs:\n got %#v\nwant %#v", got, exp)
	}
}
