package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/syncstruct"
	"github.com/sigoco/sigoco/wire"
)

// config is what the command line sets.
type config struct {
	TLS       wire.TLSConfig // empty: plain TCP
	StepDelay time.Duration  // per Sweep step
	Logger    *slog.Logger   // nil: discard
	// AllowOrigins are the web page origins, besides the controller's own,
	// that may open the WebSocket at /sync ("*": any).
	AllowOrigins []string
}

// controller serves the attenuator on one port through a wire.Mux: rpc
// (native and SiPyCo), its state as the notifier "state" (native sync, and
// WebSocket at /sync for browsers).
type controller struct {
	rpc   *rpc.Server
	pub   *syncstruct.Publisher
	mux   *wire.Mux
	state *syncstruct.Notifier // what pub publishes as "state"
}

func newServer(cfg config) (*controller, error) {
	var tlsCfg *tls.Config
	if cfg.TLS.Enabled() {
		var err error
		if tlsCfg, err = cfg.TLS.Server(); err != nil {
			return nil, err
		}
	}
	state, err := newState()
	if err != nil {
		return nil, err
	}
	att := NewAttenuator(cfg.StepDelay)
	att.state, att.logger = state, cfg.Logger
	srv, err := rpc.NewServer(map[string]any{"lda": att}, rpc.ServerOptions{
		Description:      "simulated attenuator",
		BuiltinTerminate: true,
		Logger:           cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	mux := wire.NewMux(wire.MuxOptions{TLS: tlsCfg, Logger: cfg.Logger})
	mux.Handle(wire.BannerRPC, srv)
	mux.Handle(wire.BannerSiPyCoRPC, srv) // SiPyCo's clients and sipyco_rpctool, as for a Python controller
	pub := syncstruct.NewPublisher(map[string]*syncstruct.Notifier{"state": state}, syncstruct.PublisherOptions{Logger: cfg.Logger, CheckOrigin: checkOrigin(cfg.AllowOrigins)})
	mux.Handle(wire.BannerSync, pub)
	mux.Handle(wire.BannerSiPyCoSync, pub) // SiPyCo Subscribers (ARTIQ dashboards)
	web := http.NewServeMux()
	web.Handle("/sync", pub) // WebSocket: ws://HOST:PORT/sync
	mux.HandleHTTP(web)
	return &controller{rpc: srv, pub: pub, mux: mux, state: state}, nil
}

// shutdownGrace is how long calls in flight may take to finish on exit.
const shutdownGrace = 5 * time.Second

// serve serves ln until ctx is done (SIGINT, SIGTERM) or a client calls
// terminate, then shuts down gracefully: the calls in flight finish (up
// to shutdownGrace) and their replies go out, the reply to terminate
// first of all; then everything is closed.
//
// ctx only says when to stop: the Mux serves under a context of its own,
// because cancelling Serve's context is a hard stop that ends every
// connection (and would lose the calls in flight).
func (c *controller) serve(ctx context.Context, ln net.Listener) error {
	serveCtx, hardStop := context.WithCancel(context.Background())
	defer hardStop()
	errc := make(chan error, 1)
	go func() { errc <- c.mux.Serve(serveCtx, ln) }()
	select {
	case err := <-errc: // the listener failed
		c.pub.Close()
		return err
	case <-ctx.Done():
	case <-waitTerminate(serveCtx, c.rpc):
	}
	sctx, scancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer scancel()
	// The Mux stops accepting and drains its handlers that can (the rpc
	// server: calls in flight finish); the others' connections (sync
	// subscribers) are closed. Past shutdownGrace it closes everything.
	err := c.mux.Shutdown(sctx)
	c.pub.Close() // the publisher's own goroutines
	if serr := <-errc; serr != nil && !errors.Is(serr, net.ErrClosed) {
		return serr
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("calls still running after %v were cut short", shutdownGrace)
	}
	return err
}

// waitTerminate returns a channel closed when a client calls terminate.
func waitTerminate(ctx context.Context, srv *rpc.Server) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		if srv.WaitTerminate(ctx) == nil {
			close(ch)
		}
	}()
	return ch
}
