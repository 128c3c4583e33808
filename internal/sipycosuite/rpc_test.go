package sipycosuite

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/wire"
)

// echoTarget is the Go equivalent of test_pc_rpc.py's Echo, served as
// "test" with the built-in terminate, as its run_server does.
type echoTarget struct {
	die func() // ends the server abruptly, as sys.exit ends SiPyCo's process
}

// Echo returns x (SiPyCo: echo).
func (e *echoTarget) Echo(x any) any { return x }

// AsyncEcho returns x after 10 ms (SiPyCo: an async method sleeping 10 ms).
func (e *echoTarget) AsyncEcho(ctx context.Context, x any) (any, error) {
	select {
	case <-time.After(10 * time.Millisecond):
		return x, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ReturnUnserializable returns a value PYON cannot encode (SiPyCo returns
// an instance of its Echo class).
func (e *echoTarget) ReturnUnserializable() any { return make(chan int) }

// RaiseSysExit makes the server go away in the middle of the call, without
// a reply, as sys.exit in a SiPyCo method ends the server's process: the
// connection is closed and the client sees EOF.
func (e *echoTarget) RaiseSysExit(ctx context.Context) error {
	go e.die()
	<-ctx.Done()
	return ctx.Err()
}

// toolTarget is test_rpctool.py's Target, served as "target".
type toolTarget struct{}

// OutputValue returns 4125380.
func (toolTarget) OutputValue() int { return 4125380 }

// rpcPeer is a Go rpc server on a free loopback port.
type rpcPeer struct {
	srv       *rpc.Server
	port      int
	served    chan struct{} // closed when Serve (or the Mux) has returned
	stop      func()        // ends the Mux, if any
	closeOnce sync.Once
}

func tlsServer(files []string) (*tls.Config, error) {
	if files == nil {
		return nil, nil
	}
	if len(files) != 3 {
		return nil, fmt.Errorf("ssl: want cert, key, peer cert; got %q", files)
	}
	return wire.TLSConfig{CertFile: files[0], KeyFile: files[1], PeerCertFile: files[2]}.Server()
}

func (h *harness) startRPC(req *request) (map[string]any, error) {
	if h.rpc != nil {
		return nil, errors.New("rpc server already running")
	}
	tc, err := tlsServer(req.SSL)
	if err != nil {
		return nil, err
	}
	peer := &rpcPeer{served: make(chan struct{})}
	var targets map[string]any
	switch req.Kind {
	case "echo":
		targets = map[string]any{"test": &echoTarget{die: peer.close}}
	case "rpctool":
		targets = map[string]any{"target": toolTarget{}}
	default:
		return nil, fmt.Errorf("unknown rpc server kind %q", req.Kind)
	}
	srv, err := rpc.NewServer(targets, rpc.ServerOptions{BuiltinTerminate: true})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	peer.srv, peer.port = srv, ln.Addr().(*net.TCPAddr).Port
	if tc == nil {
		go func() {
			defer close(peer.served)
			srv.Serve(context.Background(), ln)
		}()
	} else {
		// rpc.Server has no TLS of its own yet: behind a wire.Mux, the Mux
		// does TLS (DESIGN.md), so the TLS cases test sigoco's TLS.
		mux := wire.NewMux(wire.MuxOptions{TLS: tc})
		mux.Handle(wire.BannerSiPyCoRPC, srv)
		mux.Handle(wire.BannerRPC, srv)
		ctx, cancel := context.WithCancel(context.Background())
		muxDone := make(chan struct{})
		go func() {
			defer close(muxDone)
			mux.Serve(ctx, ln)
		}()
		peer.stop = func() { cancel(); mux.Close(); <-muxDone }
		go func() {
			defer close(peer.served)
			srv.WaitTerminate(ctx) // terminate, or close
			// As SiPyCo's run_server: the server stops, the client's
			// connection ends gracefully (cancelling Serve's ctx would be
			// a hard stop).
			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			mux.Shutdown(sctx)
			scancel()
			cancel()
			<-muxDone
		}()
	}
	h.rpc = peer
	return map[string]any{"port": peer.port}, nil
}

// stopRPC does what test_pc_rpc's _run_server_and_test does after a case:
// give the server a second to end by itself (the case called terminate),
// then end it.
func (h *harness) stopRPC() (map[string]any, error) {
	if h.rpc == nil {
		return nil, errors.New("no rpc server running")
	}
	peer := h.rpc
	h.rpc = nil
	terminated := true
	select {
	case <-peer.served:
	case <-time.After(time.Second):
		terminated = false
	}
	peer.close()
	return map[string]any{"terminated": terminated}, nil
}

// close ends the server hard and waits for Serve to return. It may be
// called from a method of the server's own target (RaiseSysExit) on
// another goroutine.
func (p *rpcPeer) close() {
	p.closeOnce.Do(func() {
		if p.stop != nil {
			p.stop()
		}
		p.srv.Close()
	})
	<-p.served
}
