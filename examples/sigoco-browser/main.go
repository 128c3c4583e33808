// Command browser serves a web page that shows the example controller's
// state live: the page subscribes to the notifier "state" over WebSocket
// (ws://HOST:PORT/sync on the controller's port) and applies every change.
//
//	go run ./examples/sigoco-controller --allow-origin http://127.0.0.1:8000
//	go run ./examples/sigoco-browser --port 8000
//	# open http://127.0.0.1:8000/?ws=ws://127.0.0.1:3253/sync
//
// The page (index.html, a dozen lines of plain JavaScript) imports
// syncstruct's browser replica module (syncstruct.WebReplicaJS, served here
// at /replica.js), which speaks the JSON form of the sync protocol
// (docs/protocol-sync.md): it subscribes, applies the snapshot and every
// change as Go's syncstruct.Apply does, sends the heartbeats, resumes after
// a reconnection, and reports the states live / reconnecting / offline.
//
// A browser sends the page's origin with the WebSocket request, and the
// controller accepts only its own origin unless told otherwise: since this
// page comes from another port, the controller needs --allow-origin with
// the page's origin. The exit status is 0 after SIGINT/SIGTERM, 1 on an
// error.
package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/sigoco/sigoco/logfwd/logflag"
	"github.com/sigoco/sigoco/syncstruct"
)

//go:embed index.html
var page []byte

// handler serves the page at "/" and the browser replica module it
// imports, syncstruct.WebReplicaJS, at "/replica.js".
func handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/replica.js", syncstruct.WebReplicaHandler)
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	return mux
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newApp(os.Stderr).RunContext(ctx, os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "browser:", err)
		os.Exit(1)
	}
}

func newApp(stderr io.Writer) *cli.App {
	return logflag.PlainHelp(&cli.App{
		Name:      "sigoco-browser",
		Usage:     "serve a web page that shows the example controller's state live",
		UsageText: "browser [--bind ADDR] [--port PORT] [--controller HOST:PORT]",
		ErrWriter: stderr,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "bind", Value: "127.0.0.1", Usage: "address to listen on"},
			&cli.IntFlag{Name: "port", Value: 8000, Usage: "TCP port (0 picks one)"},
			&cli.StringFlag{Name: "controller", Value: "127.0.0.1:3253", Usage: "the controller the page connects to (HOST:PORT)"},
		},
		Action: func(c *cli.Context) error {
			ln, err := net.Listen("tcp", net.JoinHostPort(c.String("bind"), strconv.Itoa(c.Int("port"))))
			if err != nil {
				return err
			}
			origin := "http://" + ln.Addr().String()
			fmt.Fprintf(stderr, "browser: open %s/?ws=ws://%s/sync\n", origin, c.String("controller"))
			fmt.Fprintf(stderr, "browser: (the controller must run with --allow-origin %s)\n", origin)
			srv := &http.Server{Handler: handler(), ReadHeaderTimeout: 10 * time.Second}
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			select {
			case err := <-errc:
				return err
			case <-c.Context.Done():
			}
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
			if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	})
}
