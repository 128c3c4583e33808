package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/internal/testcert"
	"github.com/sigoco/sigoco/wire"
)

func TestDialTargets(t *testing.T) {
	forEachTransportMux(t, func(t *testing.T, tr transport) {
		one := startServer(t, tr, map[string]any{"lda": newAttenuator()}, ServerOptions{})
		two := startServer(t, tr, map[string]any{"lda": newAttenuator(), "aux": Plain{}}, ServerOptions{})

		c := one.dial(t, "") // the only target
		if c.Target() != "lda" {
			t.Fatalf("Target = %q", c.Target())
		}
		_, err := Dial(testCtx(t), two.addr, "", two.clientOpts(t))
		if !errors.Is(err, ErrAmbiguousTarget) || !strings.Contains(err.Error(), "aux, lda") {
			t.Fatalf("Dial with several targets = %v", err)
		}
		_, err = Dial(testCtx(t), two.addr, "nope", two.clientOpts(t))
		if !errors.Is(err, ErrIncompatibleServer) || !strings.Contains(err.Error(), "aux, lda") {
			t.Fatalf("Dial unknown target = %v", err)
		}

		n, err := DialNoSelect(testCtx(t), two.addr, two.clientOpts(t))
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		if got := strings.Join(n.Targets(), ","); got != "aux,lda" || n.Target() != "" {
			t.Fatalf("Targets = %q, Target = %q", got, n.Target())
		}
		if _, err := n.Call(testCtx(t), "add", 1, 2); !errors.Is(err, ErrNoTarget) {
			t.Fatalf("call before selecting = %v", err)
		}
		if err := n.SelectTarget(testCtx(t), "nope"); !errors.Is(err, ErrIncompatibleServer) {
			t.Fatalf("SelectTarget unknown = %v", err)
		}
		if err := n.SelectTarget(testCtx(t), "aux"); err != nil {
			t.Fatal(err)
		}
		if err := n.SelectTarget(testCtx(t), "lda"); err == nil {
			t.Fatal("second SelectTarget succeeded")
		}
		if got, err := n.Call(testCtx(t), "scale", 1.5, 2); err != nil || got != 3.0 {
			t.Fatalf("scale = %v, %v", got, err)
		}
	})
}

func TestDialErrors(t *testing.T) {
	// Nothing listening.
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close()
	if _, err := Dial(testCtx(t), addr, "", ClientOptions{}); err == nil {
		t.Fatal("Dial to a closed port succeeded")
	}
	// A server that answers the banner with a text line.
	mux := wire.NewMux(wire.MuxOptions{})
	defer mux.Close()
	ln = listen(t)
	go mux.Serve(context.Background(), ln)
	_, err := Dial(testCtx(t), ln.Addr().String(), "", ClientOptions{})
	if !errors.Is(err, ErrIncompatibleServer) || !strings.Contains(err.Error(), "unknown banner") {
		t.Fatalf("Dial to a mux without rpc = %v", err)
	}
	// A server that closes without a word (as SiPyCo does).
	ln2 := listen(t)
	defer ln2.Close()
	go func() {
		c, err := ln2.Accept()
		if err == nil {
			c.Close()
		}
	}()
	_, err = Dial(testCtx(t), ln2.Addr().String(), "", ClientOptions{Protocol: ProtocolNative})
	if !errors.Is(err, ErrIncompatibleServer) {
		t.Fatalf("Dial to a silent server = %v", err)
	}
	// A server that says nothing: the context bounds the handshake.
	ln3 := listen(t)
	defer ln3.Close()
	held := make(chan net.Conn, 1)
	go func() {
		c, err := ln3.Accept()
		if err == nil {
			held <- c
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-held; cancel() }()
	_, err = Dial(ctx, ln3.Addr().String(), "", ClientOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Dial to a mute server = %v", err)
	}
}

func TestTLSRefusesWrongCertificate(t *testing.T) {
	tr := transports[1]
	ts := startServer(t, tr, map[string]any{"lda": newAttenuator()}, ServerOptions{})
	p := certsFor(t)
	stranger := testcert.New(t, "stranger")
	tests := []struct {
		name string
		cfg  wire.TLSConfig
	}{
		{"untrusted client certificate", wire.TLSConfig{CertFile: stranger.CertFile, KeyFile: stranger.KeyFile, PeerCertFile: p.server.CertFile}},
		{"no client certificate", wire.TLSConfig{PeerCertFile: p.server.CertFile}},
		{"untrusted server", wire.TLSConfig{CertFile: p.client.CertFile, KeyFile: p.client.KeyFile, PeerCertFile: stranger.CertFile}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.cfg.Client("localhost")
			if err != nil {
				t.Fatal(err)
			}
			c, err := Dial(testCtx(t), ts.addr, "lda", ClientOptions{TLS: cfg})
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
		})
	}
	// Plain TCP to a TLS server is refused too.
	if c, err := Dial(testCtx(t), ts.addr, "lda", ClientOptions{}); err == nil {
		c.Close()
		t.Fatal("plain Dial to a TLS server succeeded")
	}
	assertServes(t, ts)
}

func TestBehindMux(t *testing.T) {
	forEachTransportMux(t, func(t *testing.T, tr transport) {
		srv, err := NewServer(map[string]any{"lda": newAttenuator()}, ServerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var tlsCfg *tls.Config
		if tr.server != nil {
			tlsCfg = tr.server(t)
		}
		mux := wire.NewMux(wire.MuxOptions{TLS: tlsCfg})
		mux.Handle(wire.BannerRPC, srv)
		ln := listen(t)
		done := make(chan error, 1)
		go func() { done <- mux.Serve(context.Background(), ln) }()
		defer func() {
			mux.Close()
			srv.Close()
			<-done
		}()
		ts := &testServer{Server: srv, addr: ln.Addr().String(), tr: tr}
		if tr.client != nil {
			ts.clientTLS = tr.client(t)
		}
		c, err := Dial(testCtx(t), ts.addr, "lda", ts.clientOpts(t))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if got, err := c.Call(testCtx(t), "add", 20, 22); err != nil || got != int64(42) {
			t.Fatalf("add = %v, %v", got, err)
		}
	})
}

// assertServes checks that ts still serves a fresh client.
func assertServes(t *testing.T, ts *testServer) {
	t.Helper()
	c, err := Dial(testCtx(t), ts.addr, "lda", ts.clientOpts(t))
	if err != nil {
		t.Fatalf("server no longer serves: %v", err)
	}
	defer c.Close()
	if got, err := c.Call(testCtx(t), "add", 1, 1); err != nil || got != int64(2) {
		t.Fatalf("server no longer serves: add = %v, %v", got, err)
	}
}
