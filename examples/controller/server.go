package main

import (
	"context"
	"crypto/tls"
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
}

// controller serves the attenuator on one port through a wire.Mux: rpc
// (native and SiPyCo), its state as the notifier "state" (native sync, and
// WebSocket at /sync for browsers).
type controller struct {
	rpc *rpc.Server
	pub *syncstruct.Publisher
	mux *wire.Mux
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
	pub := syncstruct.NewPublisher(map[string]*syncstruct.Notifier{"state": state}, syncstruct.PublisherOptions{Logger: cfg.Logger})
	mux.Handle(wire.BannerSync, pub)
	mux.Handle(wire.BannerSiPyCoSync, pub) // SiPyCo Subscribers (ARTIQ dashboards)
	web := http.NewServeMux()
	web.Handle("/sync", pub) // WebSocket: ws://HOST:PORT/sync
	mux.HandleHTTP(web)
	return &controller{rpc: srv, pub: pub, mux: mux}, nil
}

// shutdownGrace is how long calls in flight may take to finish on exit.
const shutdownGrace = 5 * time.Second

// serve serves ln until ctx is done or a client calls terminate, then lets
// the calls in flight finish and closes everything.
func (c *controller) serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- c.mux.Serve(ctx, ln) }()
	var err error
	served := false
	select {
	case err = <-errc:
		served = true
	case <-waitTerminate(ctx, c.rpc):
	}
	sctx, scancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer scancel()
	c.rpc.Shutdown(sctx) // the reply to terminate goes out first
	c.pub.Close()        // dashboards are told "shutdown"
	c.mux.Close()
	cancel()
	if !served {
		err = <-errc
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
