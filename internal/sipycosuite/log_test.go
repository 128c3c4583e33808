package sipycosuite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/sigoco/sigoco/logfwd"
	"github.com/sigoco/sigoco/wire"
)

// Python's logging levels and the slog levels logfwd maps them to.
var pyToSlog = map[int]slog.Level{5: -8, 10: slog.LevelDebug, 20: slog.LevelInfo,
	30: slog.LevelWarn, 40: slog.LevelError, 50: 12}

func slogToPy(l slog.Level) int {
	for py, s := range pyToSlog {
		if s == l {
			return py
		}
	}
	return int(l)*10/4 + 20 // not a SiPyCo level: keep the order
}

// logServerPeer is the Go log server on a free loopback port. Each record
// it receives goes back to the harness as an event, which logs it as
// SiPyCo's Server does, for the case to check.
type logServerPeer struct {
	srv    *logfwd.Server
	cancel context.CancelFunc
	served chan struct{}
}

// eventHandler is the Go log server's slog.Handler. It runs on the
// server's goroutines: it writes with Proc.WriteLine, which may be called
// from any goroutine.
type eventHandler struct {
	h     *harness
	attrs []slog.Attr
}

func (e *eventHandler) Enabled(context.Context, slog.Level) bool { return true }

func (e *eventHandler) Handle(_ context.Context, r slog.Record) error {
	ev := map[string]any{"event": "record", "level": slogToPy(r.Level), "message": r.Message}
	attr := func(a slog.Attr) bool {
		switch a.Key {
		case logfwd.SourceKey:
			ev["source"] = a.Value.String()
		case logfwd.LoggerKey:
			ev["name"] = a.Value.String()
		}
		return true
	}
	for _, a := range e.attrs {
		attr(a)
	}
	r.Attrs(attr)
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return e.h.p.WriteLine(string(b))
}

func (e *eventHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &eventHandler{h: e.h, attrs: append(append([]slog.Attr(nil), e.attrs...), as...)}
}

func (e *eventHandler) WithGroup(string) slog.Handler { return e }

func (h *harness) startLogServer(req *request) (map[string]any, error) {
	if h.log != nil {
		return nil, errors.New("log server already running")
	}
	tc, err := tlsServer(req.SSL)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := logfwd.NewServer(&eventHandler{h: h}, logfwd.ServerOptions{TLS: tc})
	ctx, cancel := context.WithCancel(context.Background())
	peer := &logServerPeer{srv: srv, cancel: cancel, served: make(chan struct{})}
	go func() {
		defer close(peer.served)
		srv.Serve(ctx, ln)
	}()
	h.log = peer
	return map[string]any{"port": ln.Addr().(*net.TCPAddr).Port}, nil
}

func (h *harness) stopLogServer() error {
	if h.log == nil {
		return errors.New("no log server running")
	}
	h.log.close()
	h.log = nil
	return nil
}

func (p *logServerPeer) close() {
	p.srv.Close()
	p.cancel()
	<-p.served
}

// forwarderPeer is a Go Forwarder in SiPyCo's format, sending to SiPyCo's
// real log server the records the case logs in Python.
type forwarderPeer struct {
	f *logfwd.Forwarder
}

// forward logs one record through the Go Forwarder, created with the
// record's source at the first record.
func (h *harness) forward(req *request) error {
	if h.fwd == nil {
		if len(req.Addr) != 2 {
			return fmt.Errorf("fwd_log: addr %v", req.Addr)
		}
		host, _ := req.Addr[0].(string)
		port, _ := req.Addr[1].(float64)
		opts := logfwd.ForwarderOptions{Source: req.Source, Protocol: wire.ProtocolSiPyCo, Level: slog.Level(-8)}
		if req.SSL != nil {
			if len(req.SSL) != 3 {
				return fmt.Errorf("ssl: want cert, key, peer cert; got %q", req.SSL)
			}
			tc, err := wire.TLSConfig{CertFile: req.SSL[0], KeyFile: req.SSL[1], PeerCertFile: req.SSL[2]}.Client(host)
			if err != nil {
				return err
			}
			opts.TLS = tc
		}
		f, err := logfwd.NewForwarder(net.JoinHostPort(host, strconv.Itoa(int(port))), opts)
		if err != nil {
			return err
		}
		h.fwd = &forwarderPeer{f: f}
	}
	level, ok := pyToSlog[req.Level]
	if !ok {
		return fmt.Errorf("fwd_log: Python level %d", req.Level)
	}
	slog.New(h.fwd.f).With(logfwd.LoggerKey, req.Name).Log(context.Background(), level, req.Message)
	return nil
}

func (h *harness) stopForwarder() error {
	if h.fwd == nil {
		return nil // the case logged nothing
	}
	h.fwd.close()
	h.fwd = nil
	return nil
}

func (p *forwarderPeer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p.f.Shutdown(ctx)
	p.f.Close()
}
