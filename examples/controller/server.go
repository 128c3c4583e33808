package main

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/wire"
)

// config is what the command line sets.
type config struct {
	TLS       wire.TLSConfig // empty: plain TCP
	StepDelay time.Duration  // per Sweep step
	Logger    *slog.Logger   // nil: discard
}

// controller serves the attenuator on one port through a wire.Mux, so that
// other protocols (sync, logging, HTTP) can share the port later.
type controller struct {
	rpc *rpc.Server
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
	srv, err := rpc.NewServer(map[string]any{"lda": NewAttenuator(cfg.StepDelay)}, rpc.ServerOptions{
		Description:      "simulated attenuator",
		BuiltinTerminate: true,
		Logger:           cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	mux := wire.NewMux(wire.MuxOptions{TLS: tlsCfg, Logger: cfg.Logger})
	mux.Handle(wire.BannerRPC, srv)
	return &controller{rpc: srv, mux: mux}, nil
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
