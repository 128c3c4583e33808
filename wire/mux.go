package wire

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// ConnHandler serves one connection. The connection passed to ServeConn
// still holds its banner line unread (it is a *Conn when it comes from a
// Mux; wrap it with NewConn to read the banner). ServeConn returns when the
// connection is finished; it must return soon after ctx is cancelled.
type ConnHandler interface {
	ServeConn(ctx context.Context, conn net.Conn) error
}

// MuxOptions configures a Mux. The zero value is valid.
type MuxOptions struct {
	// TLS, if set, makes every accepted connection a TLS server
	// connection (see TLSConfig.Server); the banner is read inside TLS.
	TLS *tls.Config
	// HandshakeTimeout bounds the TLS handshake and the arrival of the
	// banner line. Default DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// Logger receives one debug record per rejected connection.
	// Default: records are discarded.
	Logger *slog.Logger
}

// Mux serves several protocols on one listener: it reads the first line of
// each connection and hands the connection to the handler registered for
// that banner, or to the HTTP handler for an HTTP request line. A
// connection with an unknown banner is told which banners this port serves
// and closed; the listener keeps serving.
//
// Register handlers before Serve. Mux is safe for concurrent use.
type Mux struct {
	opts     MuxOptions
	handlers map[string]ConnHandler

	mu        sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	http      *http.Server
	httpConns *chanListener
	cancel    context.CancelFunc
	ctx       context.Context
	wg        sync.WaitGroup
}

// NewMux returns a Mux with no handlers.
func NewMux(opts MuxOptions) *Mux {
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Mux{
		opts:      opts,
		handlers:  make(map[string]ConnHandler),
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[net.Conn]struct{}),
		ctx:       ctx,
		cancel:    cancel,
	}
}

// Handle routes connections whose first line is exactly banner to h.
func (m *Mux) Handle(banner string, h ConnHandler) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.handlers[banner] = h
}

// HandleHTTP routes connections that open with an HTTP/1.x request line to
// h, served by an http.Server inside the Mux (WebSocket upgrades included).
func (m *Mux) HandleHTTP(h http.Handler) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.httpConns = newChanListener()
	m.http = &http.Server{Handler: h, ReadHeaderTimeout: m.opts.HandshakeTimeout}
	srv, ln := m.http, m.httpConns
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		srv.Serve(ln)
	}()
}

// Serve accepts connections on ln until ctx is cancelled or Close is
// called; it then returns nil. Any other accept failure is returned. Serve
// may be called for several listeners at once.
func (m *Mux) Serve(ctx context.Context, ln net.Listener) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		ln.Close()
		return net.ErrClosed
	}
	m.listeners[ln] = struct{}{}
	m.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer func() {
		m.mu.Lock()
		delete(m.listeners, ln)
		m.mu.Unlock()
		ln.Close()
	}()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || m.isClosed() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of file descriptors and the like: back off, keep serving.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		if !m.track(c) {
			c.Close()
			return nil
		}
		m.wg.Add(1)
		go m.dispatch(ctx, c)
	}
}

func (m *Mux) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

func (m *Mux) track(c net.Conn) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false
	}
	m.conns[c] = struct{}{}
	return true
}

func (m *Mux) untrack(c net.Conn) {
	m.mu.Lock()
	delete(m.conns, c)
	m.mu.Unlock()
}

func (m *Mux) dispatch(ctx context.Context, raw net.Conn) {
	defer m.wg.Done()
	handedToHTTP := false
	defer func() {
		if !handedToHTTP {
			raw.Close()
			m.untrack(raw)
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(m.ctx, cancel)
	defer stop()

	raw.SetDeadline(time.Now().Add(m.opts.HandshakeTimeout))
	var nc net.Conn = raw
	if m.opts.TLS != nil {
		tc := tls.Server(raw, m.opts.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			m.opts.Logger.Debug("wire: TLS handshake failed", "remote", raw.RemoteAddr().String(), "err", err)
			return
		}
		nc = tc
	}
	c := NewConn(nc)
	line, err := PeekLine(c.R)
	if err != nil {
		if !errors.Is(err, net.ErrClosed) {
			m.opts.Logger.Debug("wire: no banner", "remote", raw.RemoteAddr().String(), "err", err)
			if errors.Is(err, ErrLineTooLong) {
				m.reject(c, "banner line too long")
			}
		}
		return
	}
	raw.SetDeadline(time.Time{})

	m.mu.Lock()
	h := m.handlers[line]
	httpLn := m.httpConns
	m.mu.Unlock()
	switch {
	case h != nil:
		// The handler sets its own handshake deadline for what follows.
		h.ServeConn(ctx, c)
	case httpLn != nil && isHTTPRequestLine(line):
		// The http.Server owns the connection from here; untrack it when
		// it closes so Close does not touch a connection twice.
		handedToHTTP = true
		httpLn.push(&trackedConn{Conn: c, onClose: func() { m.untrack(raw) }})
	default:
		m.opts.Logger.Debug("wire: unknown banner", "remote", raw.RemoteAddr().String(), "banner", line)
		m.reject(c, fmt.Sprintf("unknown banner %q", truncate(line, 64)))
	}
}

// reject writes a one-line explanation, readable by a person with netcat
// and by any sigoco client, then the caller closes the connection.
func (m *Mux) reject(c *Conn, why string) {
	c.SetWriteDeadline(time.Now().Add(time.Second))
	fmt.Fprintf(c, "SIGOCO error: %s; this port serves: %s\n", why, strings.Join(m.Banners(), ", "))
}

// Banners lists the banners this Mux serves, sorted, plus "HTTP" if an HTTP
// handler is registered.
func (m *Mux) Banners() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for b := range m.handlers {
		out = append(out, fmt.Sprintf("%q", b))
	}
	sort.Strings(out)
	if m.http != nil {
		out = append(out, "HTTP")
	}
	return out
}

// Close stops every Serve, closes every connection (handlers see their
// contexts cancelled and their connections fail) and waits for the
// handlers to return. It is idempotent.
func (m *Mux) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		m.wg.Wait()
		return nil
	}
	m.closed = true
	for ln := range m.listeners {
		ln.Close()
	}
	for c := range m.conns {
		c.Close()
	}
	srv := m.http
	m.mu.Unlock()
	m.cancel()
	if srv != nil {
		srv.Close()
	}
	m.wg.Wait()
	return nil
}

func isHTTPRequestLine(line string) bool {
	return strings.HasSuffix(line, " HTTP/1.1") || strings.HasSuffix(line, " HTTP/1.0")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// trackedConn reports its closing once.
type trackedConn struct {
	net.Conn
	once    sync.Once
	onClose func()
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.onClose)
	return err
}

// chanListener is a net.Listener fed by Mux with HTTP connections.
type chanListener struct {
	ch     chan net.Conn
	done   chan struct{}
	closed sync.Once
}

func newChanListener() *chanListener {
	return &chanListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) push(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.closed.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return muxAddr{} }

type muxAddr struct{}

func (muxAddr) Network() string { return "mux" }
func (muxAddr) String() string  { return "mux" }
