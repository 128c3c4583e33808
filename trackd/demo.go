package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"

	"github.com/sigoco/sigoco/internal/demo"
	"github.com/sigoco/sigoco/track"
)

// demoSim is what --demo runs beside the server: the demo simulation
// (internal/demo) as one tracked run. It is a client of trackd like any
// other — it shows the client at work — so it dials trackd's port on
// loopback: with TLS it trusts the server's certificate and presents none;
// with an access file it authenticates with a token minted for it at
// start (identity "trackd-demo", role runner: the run is its own).
type demoSim struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when the simulation has ended
	err    error         // the simulation's, once done is closed
}

// demoOptions configures startDemo.
type demoOptions struct {
	Addr        string      // trackd's listening address
	TLS         *tls.Config // the client TLS config; nil without TLS
	Token       string      // "" without an access file
	LogToStderr bool        // the run's logs on stderr too
	Stderr      io.Writer   // where to say how to steer the run
}

// startDemo starts the simulation. It runs until it is stopped over rpc
// (call_exposed … "stop"), ctx ends (trackd stopping: the run ends
// stopped) or Close.
func startDemo(ctx context.Context, o demoOptions) *demoSim {
	ctx, cancel := context.WithCancel(ctx)
	d := &demoSim{cancel: cancel, done: make(chan struct{})}
	topts := track.Options{Addr: o.Addr, TLS: o.TLS, Token: o.Token, LogToStderr: o.LogToStderr}
	go func() {
		defer close(d.done)
		d.err = demo.Simulate(ctx, topts, demo.SimConfig{OnStart: func(run *track.Run) {
			fmt.Fprintf(o.Stderr, "trackd: demo simulation running as run %s; steer it with\n"+
				"  rpctool %s call -t tracker call_exposed '\"%s\"' '\"sim\"' '\"set_rate\"' '[1000.0]' '{}'\n"+
				"  rpctool %s call -t tracker call_exposed '\"%s\"' '\"sim\"' '\"stop\"' '[]' '{}'\n", run.ID(), o.Addr, run.ID(), o.Addr, run.ID())
		}})
	}()
	return d
}

// Done is closed when the simulation has ended (Err then says how).
func (d *demoSim) Done() <-chan struct{} { return d.done }

// Err is the simulation's error, once Done is closed.
func (d *demoSim) Err() error {
	<-d.done
	return d.err
}

// Close stops the simulation, which ends its run (stopped) while the
// server still takes its last batch, and waits for it until ctx ends. It
// returns the simulation's error, or ctx's. It is idempotent.
func (d *demoSim) Close(ctx context.Context) error {
	d.cancel()
	select {
	case <-d.done:
		return d.err
	case <-ctx.Done():
		return ctx.Err()
	}
}
