// Command controller serves a simulated attenuator as the rpc target "lda",
// the way an ARTIQ controller serves a device:
//
//	go run ./examples/controller --bind 127.0.0.1 --port 3253
//
// With --tls-cert and --tls-key it serves TLS; with --tls-peer-cert too,
// only clients presenting that certificate are accepted. A client calling
// the built-in terminate stops it, as does SIGINT or SIGTERM. Diagnostics go
// to stderr; the exit status is 0 after a clean stop, 1 on an error.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

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
	return &cli.App{
		Name:      "controller",
		Usage:     "serve a simulated attenuator (rpc target lda)",
		ErrWriter: stderr,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "bind", Value: "127.0.0.1", Usage: "address to listen on"},
			&cli.IntFlag{Name: "port", Value: 3253, Usage: "TCP port (0 picks one)"},
			&cli.StringFlag{Name: "tls-cert", Usage: "server certificate (PEM); enables TLS"},
			&cli.StringFlag{Name: "tls-key", Usage: "server key (PEM)"},
			&cli.StringFlag{Name: "tls-peer-cert", Usage: "accept only clients with this certificate (PEM)"},
			&cli.DurationFlag{Name: "step-delay", Value: 100 * time.Millisecond, Usage: "time per Sweep step"},
		},
		Action: func(c *cli.Context) error {
			ctrl, err := newServer(config{
				TLS:       wire.TLSConfig{CertFile: c.String("tls-cert"), KeyFile: c.String("tls-key"), PeerCertFile: c.String("tls-peer-cert")},
				StepDelay: c.Duration("step-delay"),
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
	}
}
