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
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigoco/sigoco/wire"
)

// ServerOptions configures a Server. The zero value works.
type ServerOptions struct {
	// TLS, if set, makes Serve wrap every accepted connection in TLS.
	// (Behind a wire.Mux, the Mux does TLS.)
	TLS *tls.Config
	// MaxFrameSize bounds one native record frame; it is announced to
	// forwarders, which drop larger records. Default
	// wire.DefaultMaxFrameSize.
	MaxFrameSize int
	// MaxLineSize bounds one SiPyCo record (all its lines). Default 4 MiB.
	MaxLineSize int
	// HandshakeTimeout bounds the banner and hello of a new connection.
	// Default wire.DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// AckTimeout bounds a write of an acknowledgement; a forwarder that
	// does not read them for this long is disconnected. Default 30 s.
	AckTimeout time.Duration
	// Logger receives the server's own diagnostics: a warning per
	// forwarder disconnected for sending garbage, debug records for
	// connections. Default: discards.
	Logger *slog.Logger
}

// Server receives records from forwarders and re-emits them into a
// slog.Handler. It serves both "SIGOCO log 1" and SiPyCo's "ARTIQ
// logging"; register it for both banners on a wire.Mux.
type Server struct {
	h    slog.Handler
	opts ServerOptions

	records  atomic.Uint64
	rejected atomic.Uint64

	// mu guards closed, listeners and conns, and orders wg.Add after a
	// check of closed so that Close's Wait never races an Add.
	mu        sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	wg        sync.WaitGroup // one per connection goroutine (Serve's and ServeConn's)
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
		opts.MaxFrameSize = wire.DefaultMaxFrameSize
	}
	if opts.MaxLineSize <= 0 {
		opts.MaxLineSize = 4 << 20
	}
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = wire.DefaultHandshakeTimeout
	}
	if opts.AckTimeout <= 0 {
		opts.AckTimeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{
		h:         h,
		opts:      opts,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[net.Conn]struct{}),
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

// Serve accepts connections on ln until ctx ends or Close is called, then
// returns nil; another accept failure is returned. It may be called for
// several listeners at once.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || s.isClosed() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond) // out of descriptors: keep serving
				continue
			}
			return err
		}
		if s.opts.TLS != nil {
			c = tls.Server(c, s.opts.TLS)
		}
		s.mu.Lock()
		if s.closed { // no Add once Close may be in Wait
			s.mu.Unlock()
			c.Close()
			return nil
		}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.ServeConn(ctx, c)
		}()
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops every Serve, closes every connection and waits for their
// goroutines. It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		for ln := range s.listeners {
			ln.Close()
		}
		for c := range s.conns {
			c.Close()
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// track registers a connection and its goroutine (Close closes the one
// and waits for the other, also behind a wire.Mux, whose goroutines they
// are); it fails once Close has been called. Each success is paired with
// an untrack.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// ServeConn serves one forwarder connection whose banner is still unread
// (it implements wire.ConnHandler). It returns nil when the forwarder
// hangs up or ctx ends, and the reason when the connection was rejected.
func (s *Server) ServeConn(ctx context.Context, nc net.Conn) error {
	defer nc.Close()
	if !s.track(nc) {
		return ErrClosed
	}
	defer s.untrack(nc)
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
		fmt.Fprintf(c, "SIGOCO error: unknown banner %q; this port serves: %q, %q\n",
			truncate(banner, 64), wire.BannerLog, wire.BannerSiPyCoLog)
		return fmt.Errorf("%w: unknown banner %q", ErrHandshake, truncate(banner, 64))
	}
	return s.quiet(ctx, err)
}

// quiet turns the ordinary ends of a connection into nil.
func (s *Server) quiet(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, io.EOF) || ctx.Err() != nil || s.isClosed() || errors.Is(err, net.ErrClosed) {
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
	st := newEncState()
	st.errorFrame(err.Error(), handled)
	c.SetWriteDeadline(time.Now().Add(time.Second))
	c.Write(st.w.b)
	return err
}

func (s *Server) serveNative(ctx context.Context, c *wire.Conn, remote string) error {
	dc := newDecoder()
	frame, err := c.ReadFrame(nil, controlFrameLimit)
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
	st := newEncState()
	st.helloFrame("max_frame", s.opts.MaxFrameSize)
	if _, err := c.Write(st.w.b); err != nil {
		return err
	}
	c.SetDeadline(time.Time{})
	s.opts.Logger.Debug("logfwd: forwarder connected", "remote", remote, SourceKey, source)

	ctx = withForwarded(ctx, source)
	br := bufio.NewReaderSize(c.R, 64<<10)
	rec := record{Source: source}
	var buf []byte
	var count, ackedAt uint64
	for {
		buf, err = wire.ReadFrame(br, buf, s.opts.MaxFrameSize)
		if err != nil {
			if errors.Is(err, wire.ErrFrameTooLarge) {
				return s.reject(c, remote, source, int64(count), err)
			}
			return err
		}
		op, n, err := dc.frame(buf)
		if err == nil && op != opRecord {
			err = fmt.Errorf("%w: unexpected %q frame", ErrBadRecord, op)
		}
		if err == nil {
			err = dc.record(n, &rec)
		}
		if err != nil {
			return s.reject(c, remote, source, int64(count), err)
		}
		s.emit(ctx, &rec)
		count++
		if cap(buf) > 1<<20 {
			buf = nil // do not keep the memory of one huge record
		}
		// Acknowledge once the records that arrived together are handled.
		if br.Buffered() == 0 && c.R.Buffered() == 0 || count-ackedAt >= 512 {
			st.w.b = st.w.b[:0]
			st.ackFrame(count)
			c.SetWriteDeadline(time.Now().Add(s.opts.AckTimeout))
			if _, err := c.Write(st.w.b); err != nil {
				return err
			}
			ackedAt = count
		}
	}
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
