package wire

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"reflect"
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

// Shutdowner is a ConnHandler that can drain: Shutdown stops it taking new
// connections, lets the work in flight finish, closes its connections and
// returns; when ctx ends first it stops hard and returns ctx.Err().
// rpc.Server is one. Mux.Shutdown calls it.
type Shutdowner interface {
	Shutdown(ctx context.Context) error
}

// MuxOptions configures a Mux. The zero value is valid.
type MuxOptions struct {
	// TLS, if set, makes every accepted connection a TLS server
	// connection (see TLSConfig.Server); the banner is read inside TLS. A
	// client speaking plaintext is told so in plaintext; a client
	// certificate the configuration does not trust is refused as
	// AcceptOptions.TLS says (SiPyCo's clients: closed without a word;
	// native ones: a line read as ErrTLSClientCertUntrusted).
	TLS *tls.Config
	// HandshakeTimeout bounds the TLS handshake and the arrival of the
	// banner line together: both must be done within HandshakeTimeout of
	// the accept. Default DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// MaxConns bounds the connections open at once on all listeners; one
	// past it is refused in one line (HTTP: a 503 response) and closed,
	// and the port keeps serving the others. Default DefaultMaxConns, or
	// 7/8 of the process's open-file limit when that is lower, so that a
	// flood of connections is refused before accept runs out of file
	// descriptors; negative: no limit. See AcceptOptions.MaxConns.
	MaxConns int
	// MaxConnsPerAddr bounds the connections open at once from one peer
	// address (IPv4 address or IPv6 /64); one past it is refused as one
	// past MaxConns is ("too many connections from ADDR"). Default
	// DefaultMaxConnsPerAddr, or MaxConns/2 when that is lower;
	// negative: no limit.
	MaxConnsPerAddr int
	// HTTP configures the HTTP server behind HandleHTTP: header, request
	// (body included) and idle timeouts, header size. The zero value
	// gives HTTPOptions' defaults.
	HTTP HTTPOptions
	// IdleTimeout closes a connection whose peer has sent nothing for this
	// long while it was being read (see WithIdleTimeout). Default 0: never
	// (SiPyCo rpc clients legitimately sit idle for days).
	IdleTimeout time.Duration
	// KeepAlive is the TCP keepalive period of accepted connections.
	// Default DefaultKeepAlive; negative turns it off.
	KeepAlive time.Duration
	// Logger receives a warning per failed TLS handshake and for refused
	// connections (at most one a second, see AcceptOptions.Logger), and a
	// debug record per unknown banner. Default: records
	// are discarded.
	Logger *slog.Logger
}

// Mux serves several protocols on one listener: it reads the first line of
// each connection and hands the connection to the handler registered for
// that banner, or to the HTTP handler for an HTTP request line. A
// connection with an unknown banner is told which banners this port serves
// and closed; the listener keeps serving.
//
// Stopping: Shutdown is graceful (handlers that implement Shutdowner drain
// their work in flight); Close, and cancelling the context given to Serve,
// are hard stops (every connection's context is cancelled and the
// connection closed).
//
// Register handlers before Serve. Mux is safe for concurrent use.
type Mux struct {
	opts MuxOptions
	loop *AcceptLoop

	// mu guards the fields below.
	mu        sync.Mutex
	handlers  map[string]ConnHandler
	entries   map[net.Conn]*muxEntry // by the accepted connection
	draining  bool                   // Shutdown called
	http      *http.Server
	httpConns *chanListener
}

// muxEntry is what Shutdown needs to know of a connection.
type muxEntry struct {
	c      net.Conn
	cancel context.CancelFunc
	h      ConnHandler // nil until dispatched
	isHTTP bool
}

// NewMux returns a Mux with no handlers.
func NewMux(opts MuxOptions) *Mux {
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case opts.MaxConns == 0:
		opts.MaxConns = defaultMaxConns()
	case opts.MaxConns < 0:
		opts.MaxConns = 0 // AcceptOptions: none
	}
	switch {
	case opts.MaxConnsPerAddr == 0:
		opts.MaxConnsPerAddr = DefaultMaxConnsPerAddr
		if opts.MaxConns > 0 {
			opts.MaxConnsPerAddr = min(opts.MaxConnsPerAddr, max(opts.MaxConns/2, 1))
		}
	case opts.MaxConnsPerAddr < 0:
		opts.MaxConnsPerAddr = 0
	}
	opts.HTTP.defaults(opts.HandshakeTimeout)
	return &Mux{
		opts: opts,
		loop: NewAcceptLoop(AcceptOptions{
			TLS:              opts.TLS,
			HandshakeTimeout: opts.HandshakeTimeout,
			MaxConns:         opts.MaxConns,
			MaxConnsPerAddr:  opts.MaxConnsPerAddr,
			IdleTimeout:      opts.IdleTimeout,
			KeepAlive:        opts.KeepAlive,
			Logger:           opts.Logger,
		}),
		handlers: make(map[string]ConnHandler),
		entries:  make(map[net.Conn]*muxEntry),
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
	if !m.loop.Enter() {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.httpConns = newChanListener()
	ho := m.opts.HTTP
	m.http = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ho.ReadHeaderTimeout,
		ReadTimeout:       ho.ReadTimeout,
		WriteTimeout:      ho.WriteTimeout,
		IdleTimeout:       ho.IdleTimeout,
		MaxHeaderBytes:    ho.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(m.opts.Logger.Handler(), slog.LevelDebug),
	}
	m.http.ConnContext = withHTTPConn
	srv, ln := m.http, m.httpConns
	go func() {
		defer m.loop.Leave()
		srv.Serve(ln)
	}()
}

// Serve accepts connections on ln and serves them until Shutdown or Close
// is called (then it returns net.ErrClosed) or ctx is cancelled (then it
// returns nil). Cancelling ctx is a hard stop: every connection accepted
// on ln has its context cancelled and is closed; for a graceful stop call
// Shutdown instead. Serve returns once the connections it accepted are
// finished; any other accept failure is returned. Serve may be called for
// several listeners at once.
func (m *Mux) Serve(ctx context.Context, ln net.Listener) error {
	return m.loop.Serve(ctx, ln, m.dispatch)
}

func (m *Mux) dispatch(ctx context.Context, c net.Conn) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e := &muxEntry{c: c, cancel: cancel}
	m.mu.Lock()
	if m.draining {
		m.mu.Unlock()
		return
	}
	m.entries[c] = e
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.entries, c)
		m.mu.Unlock()
	}()

	// The banner must arrive by the deadline that bounded the TLS
	// handshake: HandshakeTimeout bounds both together.
	deadline, ok := HandshakeDeadline(ctx)
	if !ok {
		deadline = time.Now().Add(m.opts.HandshakeTimeout)
	}
	c.SetDeadline(deadline)
	wc := NewConn(c)
	line, err := PeekLine(wc.R)
	if err != nil {
		if !errors.Is(err, net.ErrClosed) {
			m.opts.Logger.Debug("wire: no banner", "remote", c.RemoteAddr().String(), "err", err)
			if errors.Is(err, ErrLineTooLong) {
				m.reject(wc, "banner line too long")
			}
		}
		return
	}
	c.SetDeadline(time.Time{})

	m.mu.Lock()
	h := m.handlers[line]
	httpLn := m.httpConns
	if m.draining {
		m.mu.Unlock()
		return
	}
	switch {
	case h != nil:
		e.h = h
	case httpLn != nil && isHTTPRequestLine(line):
		e.isHTTP = true
	}
	m.mu.Unlock()

	switch {
	case h != nil:
		// The handler sets its own handshake deadline for what follows.
		h.ServeConn(ctx, wc)
	case e.isHTTP:
		// The http.Server (or a handler that hijacks the connection) owns
		// it from here; this goroutine waits for it to be closed, so
		// Close and Shutdown account for it like any other.
		closed := make(chan struct{})
		httpLn.push(&trackedConn{Conn: wc, onClose: func() { close(closed) }})
		select {
		case <-closed:
		case <-ctx.Done():
		}
	default:
		m.opts.Logger.Debug("wire: unknown banner", "remote", c.RemoteAddr().String(), "banner", line)
		m.reject(wc, unknownBannerReason(line))
	}
}

// unknownBannerReason says what is wrong with a banner nobody serves; a
// native banner of another version says which version this side speaks.
func unknownBannerReason(line string) string {
	why := fmt.Sprintf("unknown banner %q", truncate(line, 64))
	if v, ok := otherVersion(line); ok {
		why += fmt.Sprintf(" (this server speaks version %s of the protocol, %q: upgrade the peer)", ProtocolVersion, v)
	}
	return why
}

// reject writes a one-line explanation, readable by a person with netcat
// and by any sigoco client, then the caller closes the connection.
func (m *Mux) reject(c *Conn, why string) {
	deadline := time.Now().Add(refuseTimeout)
	c.SetWriteDeadline(deadline)
	fmt.Fprintf(c, "SIGOCO error: %s; this port serves: %s\n", why, strings.Join(m.Banners(), ", "))
	lingerClose(c, deadline)
}

// Conns returns the number of connections open on the mux that count
// towards MaxConns.
func (m *Mux) Conns() int { return m.loop.Conns() }

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

// Shutdown stops the Mux gracefully: it stops accepting, closes the
// connections still in their banner phase, calls Shutdown(ctx) on every
// handler that implements Shutdowner (each once, concurrently) and on the
// HTTP server, cancels the connections of handlers that cannot drain, and
// waits for every connection to finish. If ctx ends first it closes
// everything as Close does and returns ctx.Err(). Calls in flight on a
// draining handler (an rpc.Server) finish and their replies go out.
//
// Shutdown does not cancel the context given to Serve (that would be a
// hard stop); Serve returns net.ErrClosed once its connections are done.
func (m *Mux) Shutdown(ctx context.Context) error {
	m.loop.StopAccepting()
	m.mu.Lock()
	m.draining = true
	drainers := map[Shutdowner]bool{}
	for _, h := range m.handlers {
		if sd, ok := h.(Shutdowner); ok && reflect.TypeOf(sd).Comparable() {
			drainers[sd] = true // once per handler, even if it serves two banners
		}
	}
	for _, e := range m.entries {
		switch {
		case e.h == nil && !e.isHTTP:
			e.c.Close() // still in its banner phase
		case e.h != nil:
			if sd, ok := e.h.(Shutdowner); !ok || !reflect.TypeOf(sd).Comparable() || !drainers[sd] {
				e.cancel()
			}
		}
	}
	srv := m.http
	if m.httpConns != nil {
		m.httpConns.Close()
	}
	m.mu.Unlock()

	errs := make(chan error, len(drainers)+1)
	for sd := range drainers {
		go func() { errs <- sd.Shutdown(ctx) }()
	}
	if srv != nil {
		go func() {
			err := srv.Shutdown(ctx)
			// Hijacked connections (WebSocket sessions) are not drained.
			m.mu.Lock()
			for _, e := range m.entries {
				if e.isHTTP {
					e.cancel()
				}
			}
			m.mu.Unlock()
			errs <- err
		}()
	}
	n := len(drainers)
	if srv != nil {
		n++
	}
	var first error
	for range n {
		select {
		case err := <-errs:
			if err != nil && first == nil {
				first = err
			}
		case <-ctx.Done():
			// A handler that does not give up when ctx ends is not waited
			// for: Close stops everything.
			m.Close()
			return ctx.Err()
		}
	}
	if err := m.loop.Wait(ctx); err != nil {
		m.Close()
		return err
	}
	m.Close() // nothing left but the goroutines to account for
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}

// Close stops every Serve, closes every connection (handlers see their
// contexts cancelled and their connections fail) and waits for the
// handlers to return. It is idempotent.
func (m *Mux) Close() error {
	m.mu.Lock()
	srv := m.http
	m.draining = true
	m.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
	return m.loop.Close()
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

// NetConn returns the connection the Mux accepted (a *Conn; its TLS state
// is reached through it, see HTTPConn).
func (c *trackedConn) NetConn() net.Conn { return c.Conn }

// httpConnKey is the context key of HTTPConn.
type httpConnKey struct{}

func withHTTPConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, httpConnKey{}, c)
}

// HTTPConn returns the connection an HTTP request served by a Mux
// arrived on, from the request's context (nil for other contexts). The
// http.Server inside a Mux does not see a *tls.Conn, so the request's TLS
// field is nil; the TLS state (a client certificate) is reached through
// this connection's NetConn chain (auth.PeerCertificates does).
func HTTPConn(ctx context.Context) net.Conn {
	c, _ := ctx.Value(httpConnKey{}).(net.Conn)
	return c
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
