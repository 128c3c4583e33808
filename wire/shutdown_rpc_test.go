package wire_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/wire"
)

type slowTarget struct {
	started chan struct{}
	release chan struct{}
}

func (s *slowTarget) Sweep() int {
	close(s.started)
	<-s.release
	return 42
}

// The example controller's SIGINT path: Mux.Shutdown while a call is in
// flight lets it finish and its reply reach the client.
func TestMuxShutdownLetsRPCCallFinish(t *testing.T) {
	target := &slowTarget{started: make(chan struct{}), release: make(chan struct{})}
	released := false
	t.Cleanup(func() {
		if !released {
			close(target.release)
		}
	})
	srv, err := rpc.NewServer(map[string]any{"slow": target}, rpc.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mux := wire.NewMux(wire.MuxOptions{})
	mux.Handle(wire.BannerRPC, srv)
	mux.Handle(wire.BannerSiPyCoRPC, srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveDone := make(chan error, 1)
	go func() { serveDone <- mux.Serve(context.Background(), ln) }()
	t.Cleanup(func() { mux.Close(); srv.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := rpc.Dial(ctx, ln.Addr().String(), "slow", rpc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	result := make(chan error, 1)
	var got any
	go func() {
		var err error
		got, err = c.Call(ctx, "sweep")
		result <- err
	}()
	<-target.started
	shut := make(chan error, 1)
	go func() { shut <- mux.Shutdown(ctx) }()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with a call in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	released = true
	close(target.release)
	if err := <-result; err != nil {
		t.Fatalf("call in flight during Shutdown: %v", err)
	}
	if got != int64(42) {
		t.Fatalf("result %#v, want 42", got)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-serveDone; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
}
