package wire_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/testcert"
	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/wire"
)

type echo struct{}

func (echo) Echo(s string) string { return s }

// Issue 10, what a Go rpc client sees behind a TLS Mux: its own protocol
// names the refused certificate (errors.Is ErrTLSClientCertUntrusted);
// SiPyCo's protocol gets what SiPyCo's servers give, a closed connection.
func TestRPCClientCertRefused(t *testing.T) {
	server, client, stranger := testcert.New(t, "server"), testcert.New(t, "client"), testcert.New(t, "stranger")
	scfg, err := wire.TLSConfig{CertFile: server.CertFile, KeyFile: server.KeyFile, PeerCertFile: client.CertFile}.Server()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := rpc.NewServer(map[string]any{"echo": echo{}}, rpc.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mux := wire.NewMux(wire.MuxOptions{TLS: scfg})
	mux.Handle(wire.BannerRPC, srv)
	mux.Handle(wire.BannerSiPyCoRPC, srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); mux.Serve(context.Background(), ln) }()
	t.Cleanup(func() { mux.Close(); <-done })

	for _, tt := range []struct {
		name     string
		cert     testcert.Pair
		protocol wire.Protocol
		want     error
	}{
		{"trusted", client, wire.ProtocolNative, nil},
		{"native", stranger, wire.ProtocolNative, wire.ErrTLSClientCertUntrusted},
		{"auto", stranger, wire.ProtocolAuto, wire.ErrTLSClientCertUntrusted},
		{"no certificate", testcert.Pair{}, wire.ProtocolNative, wire.ErrTLSClientCertMissing},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ccfg, err := wire.TLSConfig{CertFile: tt.cert.CertFile, KeyFile: tt.cert.KeyFile, PeerCertFile: server.CertFile}.Client("")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := rpc.Dial(ctx, ln.Addr().String(), "echo", rpc.ClientOptions{TLS: ccfg, Protocol: tt.protocol})
			if c != nil {
				defer c.Close()
			}
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("rpc.Dial: %v; want an error wrapping %v", err, tt.want)
			}
			t.Logf("rpc.Dial: %v", err)
		})
	}
}
