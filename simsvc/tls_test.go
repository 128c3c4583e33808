package simsvc_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/testcert"
	"github.com/sigoco/sigoco/simsvc"
	"github.com/sigoco/sigoco/wire"
)

// TestTLS: calls and the live status over TLS with mutual
// authentication; a client without a trusted certificate is refused.
func TestTLS(t *testing.T) {
	srvPair, cliPair := testcert.New(t, "server"), testcert.New(t, "client")
	srvTLS, err := wire.TLSConfig{CertFile: srvPair.CertFile, KeyFile: srvPair.KeyFile, PeerCertFile: cliPair.CertFile}.Server()
	must(t, err)
	cliTLS, err := wire.TLSConfig{CertFile: cliPair.CertFile, KeyFile: cliPair.KeyFile, PeerCertFile: srvPair.CertFile}.Client("127.0.0.1")
	must(t, err)
	_, addr := serve(t, newCounter(), simsvc.Options{TLS: srvTLS})
	p := dial(t, addr, simsvc.DialOptions{TLS: cliTLS})
	ctx := testCtx(t)
	must(t, p.Run(ctx))
	if _, err := p.WaitFor(ctx, func(u simsvc.Update) bool { return u.Status == simsvc.StatusLoaded }); err != nil {
		t.Fatal(err)
	}
	strangerTLS, err := wire.TLSConfig{PeerCertFile: srvPair.CertFile}.Client("127.0.0.1")
	must(t, err)
	if p2, err := simsvc.Dial(ctx, addr, simsvc.DialOptions{TLS: strangerTLS}); err == nil {
		p2.Close()
		t.Fatal("a client without a certificate was served")
	}
}

// TestServeConn: connections accepted by the caller are served by their
// banner, rpc and the live status alike.
func TestServeConn(t *testing.T) {
	s, err := simsvc.NewServer(newCounter(), simsvc.Options{})
	must(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); s.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); s.ServeConn(context.Background(), c) }()
		}
	}()
	p := dial(t, ln.Addr().String(), simsvc.DialOptions{})
	ctx := testCtx(t)
	must(t, p.Run(ctx))
	if _, err := p.WaitFor(ctx, func(u simsvc.Update) bool { return u.Status == simsvc.StatusLoaded }); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	must(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("SIGOCO nonsense 9\n"))
	buf := make([]byte, 10)
	if n, _ := c.Read(buf); n != 0 {
		t.Fatalf("an unknown banner got %q", buf[:n])
	}
}
