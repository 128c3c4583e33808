// Command logserver collects the logs of sigoco programs (and of SiPyCo's
// LogForwarder) and prints one line per record on standard output:
//
//	2024-05-06 07:08:09.123 ctl_lda INFO lda.driver attenuation set db=5.5
//
// that is local time, source, level, logger name ("-" if none), message
// (line breaks shown as \n) and the record's attributes as key=value.
//
// Usage:
//
//	logserver [--bind 127.0.0.1] [--port 1066] [--tls-cert F --tls-key F [--tls-peer-cert F]] [-v|-q ...]
//
// A controller forwards to it with logfwd.NewForwarder("HOST:1066", ...);
// a Python program with sipyco.logging_tools.LogForwarder. Once listening
// it says so on standard error ("logserver: listening on
// 127.0.0.1:1066 ..."); its own diagnostics go there too, at INFO and
// above by default (-v adds forwarders connecting, -q only warnings such
// as a forwarder disconnected for sending garbage). Every record received
// is printed whatever its level: the forwarders filter. (--tls-peer is
// still accepted for --tls-peer-cert.) Exit status: 0 after
// SIGINT/SIGTERM, 1 if the port cannot be opened, 2 for bad usage.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/sigoco/sigoco/logfwd"
	"github.com/sigoco/sigoco/logfwd/logflag"
	"github.com/sigoco/sigoco/wire"
	"github.com/urfave/cli/v2"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newApp(os.Stdout, os.Stderr).RunContext(ctx, os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "logserver:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func newApp(stdout, stderr io.Writer) *cli.App {
	return logflag.PlainHelp(&cli.App{
		Name:                   "sigoco-logserver",
		Usage:                  "print the records of log forwarders, one line each",
		UseShortOptionHandling: true,
		Writer:                 stdout,
		ErrWriter:              stderr,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "bind", Value: "127.0.0.1", Usage: "address to listen on"},
			&cli.IntFlag{Name: "port", Value: 1066, Usage: "TCP port to listen on"},
			&cli.StringFlag{Name: "tls-cert", Usage: "serve TLS with this certificate (PEM)"},
			&cli.StringFlag{Name: "tls-key", Usage: "key of --tls-cert (PEM)"},
			&cli.StringFlag{Name: "tls-peer-cert", Usage: "require client certificates signed by one in this file (PEM)"},
			&cli.StringFlag{Name: "tls-peer", Hidden: true}, // the old name of --tls-peer-cert
			&cli.IntFlag{Name: "max-conns", Value: logfwd.DefaultMaxConns, Usage: "refuse connections past this many at once (-1: no limit)"},
			&cli.DurationFlag{Name: "idle-timeout", Usage: "close connections silent this long (0: never; SiPyCo forwarders stay silent while nothing is logged)"},
		}, logflag.Flags()...),
		Action: func(c *cli.Context) error {
			opts := logfwd.ServerOptions{MaxConns: c.Int("max-conns"), IdleTimeout: c.Duration("idle-timeout")}
			if opts.MaxConns == 0 {
				return usageError{errors.New("--max-conns 0: give a positive limit, or -1 for none")}
			}
			peer := c.String("tls-peer-cert")
			if peer == "" {
				peer = c.String("tls-peer")
			}
			tlsFiles := wire.TLSConfig{CertFile: c.String("tls-cert"), KeyFile: c.String("tls-key"), PeerCertFile: peer}
			if tlsFiles.Enabled() {
				cfg, err := tlsFiles.Server()
				if err != nil {
					return usageError{err}
				}
				opts.TLS = cfg
			}
			diag := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: diagLevel(c)}))
			opts.Logger = diag
			addr := net.JoinHostPort(c.String("bind"), strconv.Itoa(c.Int("port")))
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			tlsNote := ""
			if opts.TLS != nil {
				tlsNote = " with TLS"
			}
			fmt.Fprintf(stderr, "logserver: listening on %s%s for sigoco and SiPyCo log forwarders; records follow on standard output\n", ln.Addr(), tlsNote)
			return serve(c.Context, ln, stdout, opts)
		},
	})
}

// diagLevel is the level of logserver's own diagnostics: INFO by default
// (not SiPyCo's WARNING), one step per -v/-q.
func diagLevel(c *cli.Context) slog.Level {
	return logflag.LevelFrom(slog.LevelInfo, c.Count(logflag.VerboseFlag), c.Count(logflag.QuietFlag))
}

// usageError is a bad flag value (exit status 2). urfave/cli's own
// ExitCoder is not used: it would exit from inside the library.
type usageError struct{ error }

// serve prints every record received on ln until ctx ends.
func serve(ctx context.Context, ln net.Listener, out io.Writer, opts logfwd.ServerOptions) error {
	srv := logfwd.NewServer(newPrinter(out), opts)
	defer srv.Close()
	return srv.Serve(ctx, ln)
}
