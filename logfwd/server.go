package logfwd

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/wire"
	"github.com/sigoco/sigoco/wire/auth"
)

// Defaults of ServerOptions.
const (
	// DefaultServerMaxFrameSize is ServerOptions.MaxFrameSize when left
	// 0: the forwarders' own default record limit.
	DefaultServerMaxFrameSize = 4 << 20
	// DefaultMaxConns is ServerOptions.MaxConns when left 0.
	DefaultMaxConns = 1024
)

// ServerOptions configures a Server. The zero value works.
type ServerOptions struct {
	// TLS, if set, makes Serve wrap every accepted connection in TLS.
	// (Behind a wire.Mux, the Mux does TLS.)
	TLS *tls.Config
	// MaxFrameSize bounds one native record frame; it is announced to
	// forwarders, which drop larger records. A forwarder that sends a
	// larger frame anyway is told so in an error frame and disconnected.
	// The attribute values of one record may take at most 16 times this
	// decoded (capped at pyon's default of 512 MiB). Default
	// DefaultServerMaxFrameSize (4 MiB).
	MaxFrameSize int
	// MaxLineSize bounds one SiPyCo record (all its lines). Default 4 MiB.
	MaxLineSize int
	// HandshakeTimeout bounds the TLS handshake, the banner and the hello
	// of a new connection. Default wire.DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// WriteTimeout bounds one write to a forwarder (an acknowledgement);
	// a forwarder that does not read them for this long is disconnected.
	// Default 30 s.
	WriteTimeout time.Duration
	// MaxConns bounds the connections served at once (on every listener
	// and behind a wire.Mux together). A connection past it is told
	// "SIGOCO error: too many connections (limit N); try again later" and
	// closed; a sigoco Forwarder reports that and retries with its
	// backoff, and the server keeps serving the others. Default
	// DefaultMaxConns (1024); negative means no limit.
	MaxConns int
	// IdleTimeout closes a connection accepted by Serve whose peer has
	// sent nothing for this long (wire.WithIdleTimeout; behind a wire.Mux
	// the Mux's own IdleTimeout applies). A sigoco Forwarder that has
	// nothing to send pings every ForwarderOptions.HeartbeatInterval
	// (30 s by default), so an IdleTimeout of a few times that (2 min or
	// more) never cuts a healthy one. SiPyCo's LogForwarder sends nothing
	// while its program logs nothing — for days, on a quiet controller —
	// and never reads, so it learns of the close only by losing the next
	// record it writes. Default 0: no idle timeout; dead peers are still
	// found by TCP keepalive (wire.DefaultKeepAlive).
	IdleTimeout time.Duration
	// Logger receives the server's own diagnostics: a warning per
	// forwarder disconnected for sending garbage or refused past
	// MaxConns, debug records for connections. Default: discards.
	Logger *slog.Logger
	// Auth, if set, authenticates every forwarder before a record of it
	// is handled: from the token in its hello (native), a "SIGOCO token"
	// first line (SiPyCo's protocol, sigoco's tools only), its TLS client
	// certificate, or nothing (the anonymous identity). A refused native
	// forwarder gets an error frame saying why; a SiPyCo one is closed.
	// The identity is in the context the handler's Handle gets
	// (auth.FromContext). Default: everyone is served.
	Auth auth.Authenticator
}

// Server receives records from forwarders and re-emits them into a
// slog.Handler. It serves both wire.BannerLog ("SIGOCO log 2") and
// SiPyCo's wire.BannerSiPyCoLog ("ARTIQ logging"); register it for both
// banners on a wire.Mux.
type Server struct {
	h    slog.Handler
	opts ServerOptions
	loop *wire.AcceptLoop // listeners, connections and their goroutines

	maxDecoded int64 // decoded size bound of one record's attribute values

	records  atomic.Uint64
	rejected atomic.Uint64
}

// NewServer returns a server that re-emits every record into h (records
// are discarded if h is nil). Each record keeps its original time and
// level and gets SourceKey and LoggerKey attributes in front of its own;
// the context passed to h carries the source (see ForwardedSource).
func NewServer(h slog.Handler, opts ServerOptions) *Server {
	if h == nil {
		h = slog.DiscardHandler
	}
	if opts.MaxFrameSize <= 0 {
		opts.MaxFrameSize = DefaultServerMaxFrameSize
	}
	if opts.MaxLineSize <= 0 {
		opts.MaxLineSize = 4 << 20
	}
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = wire.DefaultHandshakeTimeout
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 30 * time.Second
	}
	switch {
	case opts.MaxConns == 0:
		opts.MaxConns = DefaultMaxConns
	case opts.MaxConns < 0:
		opts.MaxConns = 0 // the accept loop's "no limit"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	maxDecoded := min(16*int64(opts.MaxFrameSize), pyon.DefaultLimits.MaxDecodedSize)
	return &Server{
		h:          h,
		opts:       opts,
		maxDecoded: maxDecoded,
		loop: wire.NewAcceptLoop(wire.AcceptOptions{
			TLS:              opts.TLS,
			HandshakeTimeout: opts.HandshakeTimeout,
			MaxConns:         opts.MaxConns,
			IdleTimeout:      opts.IdleTimeout,
			Logger:           opts.Logger,
		}),
	}
}

// ServerStats is a snapshot of a Server's counters.
type ServerStats struct {
	Records  uint64 // records re-emitted
	Rejected uint64 // connections closed for a bad handshake or garbage
}

// Stats returns the server's counters.
func (s *Server) Stats() ServerStats {
	return ServerStats{Records: s.records.Load(), Rejected: s.rejected.Load()}
}

// Serve accepts connections on ln (TLS first, if ServerOptions.TLS is
// set) and serves each on its own goroutine until ctx ends (a hard stop:
// then it returns nil) or Close is called (then ErrClosed). It returns
// once the connections it accepted are finished; another accept failure
// is returned. It may be called for several listeners at once.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return s.loop.Serve(ctx, ln, func(ctx context.Context, c net.Conn) {
		s.serveConn(ctx, c)
	})
}

// Close stops every Serve, closes every connection and waits for their
// goroutines. It is idempotent.
func (s *Server) Close() error { return s.loop.Close() }

// ServeConn serves one forwarder connection whose banner is still unread
// (it implements wire.ConnHandler, for a wire.Mux, which does TLS and the
// idle timeout). It counts towards MaxConns: past it the forwarder is told
// so and ServeConn returns an error wrapping wire.ErrTooManyConns. It
// returns nil when the forwarder hangs up or ctx ends, ErrClosed after
// Close, and the reason when the connection was rejected.
func (s *Server) ServeConn(ctx context.Context, nc net.Conn) error {
	defer nc.Close()
	if err := s.loop.Track(nc); err != nil {
		if errors.Is(err, wire.ErrTooManyConns) {
			why := fmt.Sprintf("too many connections (limit %d); try again later", s.opts.MaxConns)
			s.opts.Logger.Warn("logfwd: connection refused", "remote", nc.RemoteAddr().String(), "why", why)
			wire.RefuseConn(nc, why)
			return fmt.Errorf("logfwd: %w (limit %d)", err, s.opts.MaxConns)
		}
		return ErrClosed
	}
	defer s.loop.Untrack(nc)
	return s.serveConn(ctx, nc)
}

// serveConn serves a tracked connection.
func (s *Server) serveConn(ctx context.Context, nc net.Conn) error {
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()

	c := wire.NewConn(nc)
	c.SetDeadline(time.Now().Add(s.opts.HandshakeTimeout))
	banner, err := c.ReadBanner()
	if err != nil {
		return s.quiet(ctx, err)
	}
	remote := nc.RemoteAddr().String()
	switch banner {
	case wire.BannerLog:
		err = s.serveNative(ctx, c, remote)
	case wire.BannerSiPyCoLog:
		c.SetDeadline(time.Time{})
		err = s.serveLines(ctx, c, remote)
	default:
		s.rejected.Add(1)
		why := wire.BannerMismatch(banner)
		c.SetWriteDeadline(time.Now().Add(time.Second))
		fmt.Fprintf(c, "SIGOCO error: %s; this port serves: %q, %q\n", why, wire.BannerSiPyCoLog, wire.BannerLog)
		return fmt.Errorf("%w: %s", ErrHandshake, why)
	}
	return s.quiet(ctx, err)
}

// quiet turns the ordinary ends of a connection into nil.
func (s *Server) quiet(ctx context.Context, err error) error {
	if errors.Is(err, wire.ErrIdleTimeout) {
		s.opts.Logger.Debug("logfwd: closed an idle connection", "idle_timeout", s.opts.IdleTimeout)
	}
	if err == nil || errors.Is(err, io.EOF) || ctx.Err() != nil || s.loop.Stopping() || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// reject warns, tells the forwarder why in an error frame and returns err.
// handled is the number of records handled on the connection, -1 during
// the handshake.
func (s *Server) reject(c *wire.Conn, remote, source string, handled int64, err error) error {
	s.rejected.Add(1)
	s.opts.Logger.Warn("logfwd: disconnecting forwarder", "remote", remote, SourceKey, source, "err", err)
	st := newEncState(controlFrameLimit)
	st.errorFrame(err.Error(), handled)
	c.SetWriteDeadline(time.Now().Add(time.Second))
	c.Write(st.e.B)
	return err
}

func (s *Server) serveNative(ctx context.Context, c *wire.Conn, remote string) error {
	dc := newDecoder(s.maxDecoded)
	frame, err := c.FrameReader(controlFrameLimit).Next()
	if err != nil {
		if errors.Is(err, wire.ErrFrameTooLarge) {
			return s.reject(c, remote, "", -1, fmt.Errorf("%w: hello: %w", ErrHandshake, err))
		}
		return err
	}
	op, n, err := dc.frame(frame)
	if err == nil && op != opHello {
		err = fmt.Errorf("%w: first frame is %q, want %q", ErrBadRecord, op, opHello)
	}
	var hello map[string]any
	if err == nil {
		hello, err = dc.hello(n)
	}
	if err != nil {
		return s.reject(c, remote, "", -1, fmt.Errorf("%w: %w", ErrHandshake, err))
	}
	source, _ := hello["source"].(string)
	token, _ := hello["token"].(string)
	if ctx, err = s.authenticate(ctx, c, token); err != nil {
		msg := err.Error()
		if token == "" {
			msg += " (no token was sent; forwarders before this version cannot send one: upgrade them)"
		}
		return s.reject(c, remote, source, -1, errors.New(msg))
	}
	st := newEncState(controlFrameLimit)
	st.helloFrame("max_frame", s.opts.MaxFrameSize)
	if _, err := c.Write(st.e.B); err != nil {
		return err
	}
	c.SetDeadline(time.Time{})
	s.opts.Logger.Debug("logfwd: forwarder connected", "remote", remote, SourceKey, source)

	ctx = withForwarded(ctx, source)
	// A larger buffer than c.R's (sized for a banner), so records that
	// arrive together are read with one system call.
	br := bufio.NewReaderSize(c.R, 64<<10)
	fr := wire.NewFrameReader(br, s.opts.MaxFrameSize)
	rec := record{Source: source}
	var count, ackedAt uint64
	for {
		frame, err := fr.Next()
		if err != nil {
			if errors.Is(err, wire.ErrFrameTooLarge) {
				return s.reject(c, remote, source, int64(count), err)
			}
			return err
		}
		op, n, err := dc.frame(frame)
		switch {
		case err != nil:
		case op == opRecord:
			if err = dc.record(n, &rec); err == nil {
				s.emit(ctx, &rec)
				count++
			}
		case op == opPing:
			err = dc.end()
		default:
			err = fmt.Errorf("%w: unexpected %q frame", ErrBadRecord, op)
		}
		if err != nil {
			return s.reject(c, remote, source, int64(count), err)
		}
		// Acknowledge once the records that arrived together are handled
		// (a ping, too, is answered by an ack).
		if br.Buffered() == 0 && c.R.Buffered() == 0 || count-ackedAt >= 512 {
			st.e.B = st.e.B[:0]
			st.ackFrame(count)
			c.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
			if _, err := c.Write(st.e.B); err != nil {
				return err
			}
			ackedAt = count
		}
	}
}

// authenticate finds the forwarder's identity (ServerOptions.Auth) and
// returns ctx holding it.
func (s *Server) authenticate(ctx context.Context, c net.Conn, token string) (context.Context, error) {
	if s.opts.Auth == nil {
		return ctx, nil
	}
	id, err := s.opts.Auth.Authenticate(auth.ConnCredentials(c, token))
	if err != nil {
		return ctx, fmt.Errorf("logfwd: %w", err)
	}
	return auth.NewContext(ctx, id), nil
}

func (s *Server) emit(ctx context.Context, rec *record) {
	s.records.Add(1)
	if !s.h.Enabled(ctx, rec.Level) {
		return
	}
	if err := s.h.Handle(ctx, rec.toSlog()); err != nil {
		s.opts.Logger.Debug("logfwd: handler failed", "err", err)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

var _ wire.ConnHandler = (*Server)(nil)
