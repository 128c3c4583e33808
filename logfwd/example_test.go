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
	"github.com/urfave/cli/v2"
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

// SiPyCo's -v/-q flags for a urfave/cli program.
func ExampleVerbosityFlags() {
	app := &cli.App{
		Name:                   "ctl",
		Flags:                  logfwd.VerbosityFlags(),
		UseShortOptionHandling: true,
		Action: func(c *cli.Context) error {
			fmt.Println(logfwd.VerbosityLevel(c))
			return nil
		},
	}
	app.Run([]string{"ctl", "-vv"})
	// Output: DEBUG
}

// A controller logs to standard error and, given --log-server, forwards
// to a log server too, at the level its -v/-q flags ask for.
func ExampleTee() {
	app := &cli.App{
		Name:                   "ctl_lda",
		UseShortOptionHandling: true,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "log-server", Usage: "forward logs to this log server (HOST:PORT)"},
		}, logfwd.VerbosityFlags()...),
		Action: func(c *cli.Context) error {
			level := logfwd.VerbosityLevel(c)
			var h slog.Handler = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})
			if addr := c.String("log-server"); addr != "" {
				fwd, err := logfwd.NewForwarder(addr, logfwd.ForwarderOptions{Source: "ctl_lda", Level: level})
				if err != nil {
					return err
				}
				defer func() {
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
					defer cancel()
					fwd.Shutdown(ctx) // deliver what is queued, but do not hang on exit
				}()
				h = logfwd.Tee(h, fwd)
			}
			log := slog.New(h)
			log.Warn("controller started")
			return nil
		},
	}
	app.Run([]string{"ctl_lda", "-v", "--log-server", "127.0.0.1:1066"})
}
