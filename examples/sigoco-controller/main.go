// Command controller serves a simulated attenuator as the rpc target "lda",
// the way an ARTIQ controller serves a device:
//
//	go run ./examples/sigoco-controller --bind 127.0.0.1 --port 3253
//
// Pages from another origin may subscribe with --allow-origin ORIGIN
// (see examples/sigoco-browser). With --tls-cert and --tls-key it serves TLS; with --tls-peer-cert too,
// only clients presenting that certificate are accepted. On the same port it
// publishes its state (attenuation and the last settings) as the syncstruct
// notifier "state", for Go subscribers and, over WebSocket at /sync, for
// browsers; examples/sigoco-dashboard prints it live. With --log-server HOST:PORT
// its logs (INFO and above; DEBUG too with -vv) also go to a log server
// (examples/sigoco-logserver), and a log server that cannot be reached is said
// once on stderr; -v/-q raise or lower the level shown on stderr
// (WARNING by default). A client calling
// the built-in terminate stops it, as does SIGINT or SIGTERM. Diagnostics go
// to stderr; the exit status is 0 after a clean stop, 1 on an error.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/sigoco/sigoco/logfwd"
	"github.com/sigoco/sigoco/logfwd/logflag"
	"github.com/sigoco/sigoco/wire"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newApp(os.Stderr).RunContext(ctx, os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "controller:", err)
		os.Exit(1)
	}
}

func newApp(stderr io.Writer) *cli.App {
	return logflag.PlainHelp(&cli.App{
		Name:                   "sigoco-controller",
		Usage:                  "serve a simulated attenuator (rpc target lda)",
		UsageText:              "controller [--bind ADDR] [--port PORT] [--tls-cert FILE --tls-key FILE [--tls-peer-cert FILE]] [--log-server HOST:PORT] [--allow-origin ORIGIN] [-v|-q]",
		ErrWriter:              stderr,
		UseShortOptionHandling: true, // -vv
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "bind", Value: "127.0.0.1", Usage: "address to listen on"},
			&cli.IntFlag{Name: "port", Value: 3253, Usage: "TCP port (0 picks one)"},
			&cli.StringFlag{Name: "tls-cert", Usage: "server certificate (PEM); enables TLS"},
			&cli.StringFlag{Name: "tls-key", Usage: "server key (PEM)"},
			&cli.StringFlag{Name: "tls-peer-cert", Usage: "accept only clients with this certificate (PEM)"},
			&cli.DurationFlag{Name: "step-delay", Value: 100 * time.Millisecond, Usage: "time per Sweep step"},
			&cli.StringFlag{Name: "log-server", Usage: "also forward logs (INFO and above, more with -v) to this log server (HOST:PORT)"},
			&cli.StringSliceFlag{Name: "allow-origin", Usage: "also accept WebSocket (/sync) connections from web pages of this `ORIGIN` (e.g. http://127.0.0.1:8000; * for any; repeatable)"},
		}, logflag.Flags()...),
		Action: func(c *cli.Context) error {
			level := logflag.Level(c)
			local := slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
			var h slog.Handler = local
			if addr := c.String("log-server"); addr != "" {
				fwd, err := logfwd.NewForwarder(addr, logfwd.ForwarderOptions{
					Source: "controller_lda",
					// The log server gets INFO and above whatever -q
					// says (it filters for itself), DEBUG too with -vv.
					Level: min(level, slog.LevelInfo),
					// The forwarder's own warnings ("logfwd: cannot reach
					// log server", once per outage) go to stderr only.
					Logger: slog.New(local),
				})
				if err != nil {
					return fmt.Errorf("--log-server: %w", err)
				}
				defer func() {
					// Deliver what is queued, but never hang on a dead server.
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
					defer cancel()
					fwd.Shutdown(ctx)
				}()
				h = logfwd.Tee(local, fwd)
			}
			logger := slog.New(h).With(logfwd.LoggerKey, "lda")
			ctrl, err := newServer(config{
				TLS:          wire.TLSConfig{CertFile: c.String("tls-cert"), KeyFile: c.String("tls-key"), PeerCertFile: c.String("tls-peer-cert")},
				StepDelay:    c.Duration("step-delay"),
				AllowOrigins: c.StringSlice("allow-origin"),
				Logger:       logger,
			})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", net.JoinHostPort(c.String("bind"), strconv.Itoa(c.Int("port"))))
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "controller: serving target lda on %s\n", ln.Addr())
			return ctrl.serve(c.Context, ln)
		},
	})
}
