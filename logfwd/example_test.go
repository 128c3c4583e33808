package logfwd_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/sigoco/sigoco/logfwd"
	"github.com/sigoco/sigoco/wire"
)

// printer writes records without their time, so the output is stable.
func printer() slog.Handler {
	return slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelDebug - 4,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
}

// A controller forwards its logs to a central server.
func Example() {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := logfwd.NewServer(printer(), logfwd.ServerOptions{})
	go srv.Serve(context.Background(), ln)
	defer srv.Close()

	fwd, _ := logfwd.NewForwarder(ln.Addr().String(), logfwd.ForwarderOptions{Source: "ctl_lda"})
	log := slog.New(fwd).With(logfwd.LoggerKey, "lda.driver")
	log.Info("attenuation set", "db", 5.5)
	log.WithGroup("temp").Warn("too hot", "celsius", 71)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fwd.Shutdown(ctx) // deliver what is queued, then stop
	// Output:
	// level=INFO msg="attenuation set" source=ctl_lda logger=lda.driver db=5.5
	// level=WARN msg="too hot" source=ctl_lda logger=lda.driver temp.celsius=71
}

// One port serves the log protocols (native and SiPyCo's) beside others.
func ExampleServer_mux() {
	srv := logfwd.NewServer(printer(), logfwd.ServerOptions{})
	defer srv.Close()
	mux := wire.NewMux(wire.MuxOptions{})
	mux.Handle(wire.BannerLog, srv)
	mux.Handle(wire.BannerSiPyCoLog, srv)
	// mux.Handle(wire.BannerRPC, rpcServer) ...
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go mux.Serve(context.Background(), ln)
	defer mux.Close()

	// Python LogForwarders can connect here too; a Go forwarder can speak
	// their protocol with Protocol: wire.ProtocolSiPyCo.
	fwd, _ := logfwd.NewForwarder(ln.Addr().String(), logfwd.ForwarderOptions{
		Source: "sim", LoggerName: "worker",
	})
	slog.New(fwd).Error("step failed\ntraceback line")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fwd.Shutdown(ctx) // returns once the server has handled the record
	// Output:
	// level=ERROR msg="step failed\ntraceback line" source=sim logger=worker
}

// A process that logs and also collects forwarded logs applies its level
// to its own records only.
func ExampleSourceFilter() {
	h := logfwd.NewSourceFilter(printer(), slog.LevelWarn)
	slog.New(h).Info("local, below the local level: filtered")
	slog.New(h).Warn("local warning")
	// Records a Server re-emits into h pass whatever their level.
	// Output:
	// level=WARN msg="local warning"
}

// A controller logs to standard error and, given a log server address,
// forwards to it too. The forwarder's own Logger is the local handler
// (never the Tee): a wrong address or a port that is not a log server is
// told there once, with the reason ("logfwd: cannot reach log server",
// "logfwd: the server refused the connection", "logfwd: not a log
// server"), while records wait in the queue.
func ExampleTee() {
	level := slog.LevelInfo // e.g. from logflag.Level(c)
	local := slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})
	var h slog.Handler = local
	if addr := "127.0.0.1:1066"; addr != "" { // e.g. from --log-server
		fwd, err := logfwd.NewForwarder(addr, logfwd.ForwarderOptions{
			Source: "ctl_lda", Level: level, Logger: slog.New(local),
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err) // a malformed address
			return
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			fwd.Shutdown(ctx) // deliver what is queued, but do not hang on exit
		}()
		h = logfwd.Tee(local, fwd)
	}
	slog.New(h).Warn("controller started")
}
