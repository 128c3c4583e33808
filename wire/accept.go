package wire

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultKeepAlive is AcceptOptions.KeepAlive when left 0: the idle time
// before TCP keepalive probes start, and the interval between them.
const DefaultKeepAlive = 15 * time.Second

// maxRefusing bounds the connections being refused at once (each is given
// about a second to read its refusal); past it, connections are closed
// without a word, so a flood of connections costs a bounded effort.
const maxRefusing = 16

// refuseTimeout bounds the whole refusal of one connection.
const refuseTimeout = time.Second

// AcceptOptions configures an AcceptLoop. The zero value is valid.
type AcceptOptions struct {
	// TLS, if set, makes every connection Serve accepts a TLS server
	// connection; the serve function gets it after a completed handshake
	// (a failed one is answered and logged by ServerHandshake).
	//
	// When TLS requires (or verifies) client certificates, the loop
	// checks the client certificate itself after the handshake, as
	// crypto/tls would have (ClientCAs, VerifyPeerCertificate,
	// VerifyConnection: see clientcert.go), so that a refusal reaches
	// each kind of client as it can show it: a client that then sends a
	// SiPyCo banner ("ARTIQ …") is closed without a word, as SiPyCo's
	// servers do, an HTTP request gets "403 Forbidden", anything else
	// (a native banner) the line "SIGOCO error: client certificate not
	// trusted (…)", which Dial's connections read as
	// ErrTLSClientCertUntrusted; the refusal is logged at Warn. A refused
	// peer is never served: the serve function is not called. A serve
	// function sees the client's PeerCertificates but no VerifiedChains.
	// (With GetConfigForClient set, crypto/tls checks as usual.)
	TLS *tls.Config
	// HandshakeTimeout bounds the TLS handshake of an accepted connection
	// (done by the loop before the serve function is called) and the
	// arrival of its banner line, together: both must be done within
	// HandshakeTimeout of the accept. A serve function finds that
	// deadline with HandshakeDeadline (a Mux uses it for the banner).
	// Default DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// MaxConns bounds the connections tracked at once (accepted by Serve
	// or registered with Track). A connection past it is refused: it is
	// told "SIGOCO error: too many connections (limit N); try again
	// later" in one line (an HTTP request line gets a 503 response), then
	// closed; the server keeps serving the others. Default 0: no limit.
	MaxConns int
	// MaxConnsPerAddr bounds the connections tracked at once from one
	// peer address (an IPv4 address, or an IPv6 /64), so that one host
	// cannot take every connection MaxConns allows. A connection past it
	// is refused as one past MaxConns is, told "too many connections from
	// ADDR (limit N)". Default 0: no limit.
	MaxConnsPerAddr int
	// IdleTimeout closes a connection accepted by Serve once the peer has
	// sent nothing for this long while the server was waiting to read (see
	// WithIdleTimeout). Default 0: never.
	IdleTimeout time.Duration
	// KeepAlive is the TCP keepalive idle time and probe interval of
	// accepted TCP connections. Default DefaultKeepAlive; negative turns
	// keepalive off.
	KeepAlive time.Duration
	// Logger receives a warning for refused connections (at most one a
	// second, counting the others in more_refused), a warning
	// for failed TLS handshakes (see ServerHandshake) and the accept errors
	// Serve retries. Default: records are discarded.
	Logger *slog.Logger
}

// ErrTooManyConns is returned by AcceptLoop.Track past MaxConns.
var ErrTooManyConns = errors.New("wire: too many connections")

// ErrTooManyConnsFromAddr is returned by AcceptLoop.Track past
// MaxConnsPerAddr; errors.Is(err, ErrTooManyConns) holds for it too.
var ErrTooManyConnsFromAddr = fmt.Errorf("%w from one address", ErrTooManyConns)

// AcceptLoop is the one accept loop every sigoco server shares. It owns the
// listeners given to Serve and the connections it accepts or is given with
// Track, and the goroutines serving them, so that:
//
//   - Close closes every listener and connection and waits for every
//     goroutine; after Close, Serve and Track refuse (Serve returns
//     net.ErrClosed, at once, and so does a Serve running when Close is
//     called); nothing is ever added to the WaitGroup Close waits on once
//     Close has begun (the Add happens under the lock that Close takes).
//   - StopAccepting (the first half of a graceful Shutdown) closes the
//     listeners and refuses new connections, leaving the others to finish.
//   - accept errors that may pass (out of file descriptors) are retried
//     with a backoff that ends at once when the loop stops.
//
// A server keeps one in a field, hands Serve its per-connection function
// and calls Track/Untrack in its ServeConn (the connections a wire.Mux
// hands over); a connection accepted by Serve is already tracked.
//
// All methods are safe for concurrent use.
type AcceptLoop struct {
	opts       AcceptOptions
	tlsConfig  *tls.Config     // the handshakes' configuration (see deferClientAuth)
	clientAuth *tls.Config     // checked after the handshake, if not nil
	ctx        context.Context // cancelled by Close
	cancel     context.CancelFunc

	// mu guards everything below; wg.Add happens only under mu while
	// closed is false.
	mu        sync.Mutex
	closed    bool // Close called
	stopping  bool // StopAccepting (or Close) called
	stop      chan struct{}
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]connEntry // by closer
	counted   int
	perAddr   map[string]int // counted connections by addrKey
	wg        sync.WaitGroup // Serve loops, connection goroutines, Enter'd work

	refusing atomic.Int32
	// refusedLog and refusedQuiet rate-limit the refusal warnings: a
	// flood of connections must not become a flood of log lines.
	refusedLog   atomic.Int64 // Unix nanoseconds of the last warning
	refusedQuiet atomic.Int64 // refusals not logged since
}

// refuseLogEvery is the least time between two refusal warnings; the
// refusals in between are counted in the next one.
const refuseLogEvery = time.Second

// NewAcceptLoop returns an AcceptLoop with opts' defaults filled in.
func NewAcceptLoop(opts AcceptOptions) *AcceptLoop {
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if opts.KeepAlive == 0 {
		opts.KeepAlive = DefaultKeepAlive
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	hs, check := deferClientAuth(opts.TLS)
	return &AcceptLoop{
		opts:       opts,
		tlsConfig:  hs,
		clientAuth: check,
		ctx:        ctx,
		cancel:     cancel,
		stop:       make(chan struct{}),
		listeners:  make(map[net.Listener]struct{}),
		conns:      make(map[net.Conn]connEntry),
		perAddr:    make(map[string]int),
	}
}

// Context returns a context cancelled by Close: a lifetime for work that
// must end on a hard stop.
func (l *AcceptLoop) Context() context.Context { return l.ctx }

// Serve accepts connections on ln and runs serve for each on its own
// goroutine, with a context that ends when ctx ends or Close is called
// (cancelling ctx is a hard stop). The connection is closed when serve
// returns. Serve closes ln, and returns only once every connection it
// accepted is finished: nil when ctx ended, net.ErrClosed after
// StopAccepting or Close, otherwise the accept error that stopped it.
// Serve may be called for several listeners at once.
func (l *AcceptLoop) Serve(ctx context.Context, ln net.Listener, serve func(ctx context.Context, c net.Conn)) error {
	l.mu.Lock()
	if l.stopping {
		l.mu.Unlock()
		ln.Close()
		return net.ErrClosed
	}
	l.listeners[ln] = struct{}{}
	l.wg.Add(1)
	l.mu.Unlock()
	defer l.wg.Done()
	defer func() {
		l.mu.Lock()
		delete(l.listeners, ln)
		l.mu.Unlock()
		ln.Close()
	}()

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopLn := context.AfterFunc(ctx, func() { ln.Close() })
	defer stopLn()
	stopConns := context.AfterFunc(l.ctx, cancel)
	defer stopConns()

	var own sync.WaitGroup // the connections this Serve accepted
	var delay time.Duration
	for {
		raw, err := ln.Accept()
		if err != nil {
			select {
			case <-l.stop:
				own.Wait() // a graceful stop: they drain (Close cancels them)
				return net.ErrClosed
			default:
			}
			if ctx.Err() == nil && retryable(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				l.opts.Logger.Warn("wire: accept failed; retrying", "addr", ln.Addr().String(), "err", err, "in", delay)
				select {
				case <-time.After(delay):
				case <-ctx.Done():
				case <-l.stop:
				}
				continue
			}
			cancel()
			own.Wait()
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		delay = 0
		closer, c := l.prepare(raw)
		if err := l.add(closer, true); err != nil {
			switch {
			case errors.Is(err, ErrTooManyConnsFromAddr):
				l.refuse(c, closer, fmt.Sprintf("too many connections from %s (limit %d); try again later", addrKey(closer.RemoteAddr()), l.opts.MaxConnsPerAddr))
			case errors.Is(err, ErrTooManyConns):
				l.refuse(c, closer, fmt.Sprintf("too many connections (limit %d); try again later", l.opts.MaxConns))
			default:
				closer.Close()
			}
			continue
		}
		own.Add(1)
		deadline := time.Now().Add(l.opts.HandshakeTimeout)
		go func(ctx context.Context) {
			defer own.Done()
			defer l.done(closer)
			defer closer.Close()
			ctx = context.WithValue(ctx, handshakeDeadlineKey{}, deadline)
			if tc, ok := c.(*tls.Conn); ok {
				if !l.handshake(ctx, tc, deadline) {
					return
				}
			}
			serve(ctx, c)
		}(cctx)
	}
}

// handshake runs the TLS handshake of an accepted connection and the
// check of its client certificate (see AcceptOptions.TLS), and reports
// whether the connection may be served. The deadline is cleared after a
// success.
func (l *AcceptLoop) handshake(ctx context.Context, tc *tls.Conn, deadline time.Time) bool {
	if serverHandshake(ctx, tc, deadline, l.opts.Logger) != nil {
		return false
	}
	if l.clientAuth != nil {
		if err := checkClientCert(l.clientAuth, tc.ConnectionState()); err != nil {
			tc.NetConn().SetDeadline(deadline) // the banner, too, by the handshake deadline
			refuseClientCert(ctx, NewConn(tc), err, l.opts.Logger)
			return false
		}
	}
	return true
}

// handshakeDeadlineKey is the context key of HandshakeDeadline.
type handshakeDeadlineKey struct{}

// HandshakeDeadline returns the deadline by which the connection that a
// serve function of AcceptLoop.Serve (or a handler behind a Mux) was
// given must have completed its TLS handshake and sent its banner:
// HandshakeTimeout after the accept. ok is false for a context from
// elsewhere.
func HandshakeDeadline(ctx context.Context) (deadline time.Time, ok bool) {
	deadline, ok = ctx.Value(handshakeDeadlineKey{}).(time.Time)
	return deadline, ok
}

// retryable reports whether an accept error may pass by itself.
func retryable(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) ||
		errors.Is(err, syscall.ECONNABORTED)
}

// prepare sets keepalive on an accepted connection and wraps it for the
// idle timeout and TLS. closer is what Close closes: below TLS, so closing
// never waits to send a TLS alert to a peer that does not read.
func (l *AcceptLoop) prepare(raw net.Conn) (closer, c net.Conn) {
	if tc, ok := raw.(*net.TCPConn); ok {
		if l.opts.KeepAlive > 0 {
			tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: l.opts.KeepAlive, Interval: l.opts.KeepAlive, Count: 9})
		} else {
			tc.SetKeepAlive(false)
		}
	}
	closer = raw
	if l.opts.IdleTimeout > 0 {
		closer = WithIdleTimeout(raw, l.opts.IdleTimeout)
	}
	c = closer
	if l.tlsConfig != nil {
		c = tls.Server(closer, l.tlsConfig)
	}
	return closer, c
}

// connEntry is what the loop knows of a tracked connection.
type connEntry struct {
	count bool   // counts towards MaxConns (and MaxConnsPerAddr)
	addr  string // addrKey of the peer, when counted per address
}

// add registers a connection (and a goroutine for it).
func (l *AcceptLoop) add(closer net.Conn, count bool) error {
	var key string
	if count && l.opts.MaxConnsPerAddr > 0 {
		key = addrKey(closer.RemoteAddr())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopping {
		return net.ErrClosed
	}
	if count && l.opts.MaxConns > 0 && l.counted >= l.opts.MaxConns {
		return ErrTooManyConns
	}
	if key != "" && l.perAddr[key] >= l.opts.MaxConnsPerAddr {
		return ErrTooManyConnsFromAddr
	}
	l.conns[closer] = connEntry{count: count, addr: key}
	if count {
		l.counted++
	}
	if key != "" {
		l.perAddr[key]++
	}
	l.wg.Add(1)
	return nil
}

func (l *AcceptLoop) done(closer net.Conn) {
	l.mu.Lock()
	if e, ok := l.conns[closer]; ok {
		delete(l.conns, closer)
		if e.count {
			l.counted--
		}
		if e.addr != "" {
			if l.perAddr[e.addr]--; l.perAddr[e.addr] <= 0 {
				delete(l.perAddr, e.addr)
			}
		}
	}
	l.mu.Unlock()
	l.wg.Done()
}

// refuse tells c why it is not served, on a bounded number of goroutines.
func (l *AcceptLoop) refuse(c, closer net.Conn, why string) {
	now := time.Now().UnixNano()
	if last := l.refusedLog.Load(); now-last >= int64(refuseLogEvery) && l.refusedLog.CompareAndSwap(last, now) {
		l.opts.Logger.Warn("wire: connection refused", "remote", closer.RemoteAddr().String(), "why", why, "more_refused", l.refusedQuiet.Swap(0))
	} else {
		l.refusedQuiet.Add(1)
	}
	if l.refusing.Add(1) > maxRefusing || l.add(closer, false) != nil {
		l.refusing.Add(-1)
		closer.Close()
		return
	}
	go func() {
		defer l.refusing.Add(-1)
		defer l.done(closer)
		defer closer.Close()
		closer.SetDeadline(time.Now().Add(refuseTimeout))
		if tc, ok := c.(*tls.Conn); ok {
			if err := tc.Handshake(); err != nil {
				return
			}
		}
		RefuseConn(c, why)
	}()
}

// RefuseConn tells a connection whose banner is still unread why it is not
// served, in the way its protocol can show: after an HTTP request line a
// "503 Service Unavailable" response, otherwise the line
// "SIGOCO error: <why>". It reads the banner first (waiting up to a
// second), and after writing waits briefly for the peer to close, so the
// answer is not lost to a reset. It does not close c. A server uses it
// when Track returns ErrTooManyConns; behind a wire.Mux, the Mux refuses
// with its own list of banners.
func RefuseConn(c net.Conn, why string) {
	wc := NewConn(c)
	deadline := time.Now().Add(refuseTimeout)
	wc.SetDeadline(deadline)
	line, _ := PeekLine(wc.R)
	if isHTTPRequestLine(line) {
		fmt.Fprintf(wc, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n%s\n", why)
	} else {
		fmt.Fprintf(wc, "SIGOCO error: %s\n", why)
	}
	lingerClose(wc, deadline)
}

// Linger half-closes c and reads what the peer still sends until it
// closes or d passes, then closes c. A server ending a connection on its
// own (a drain, a refusal) uses it so that the peer's last bytes in
// flight — a TLS close_notify, a request sent as the server stopped — do
// not come back as a TCP reset that destroys the server's last reply.
// Closing c from elsewhere ends the wait at once.
func Linger(c *Conn, d time.Duration) error {
	lingerClose(c, time.Now().Add(d))
	return c.Close()
}

// lingerClose half-closes c and reads until the peer closes or the
// deadline passes, so what was written is not destroyed by a reset (which
// closing with unread input sends). It does not close c.
func lingerClose(c *Conn, deadline time.Time) {
	type closeWriter interface{ CloseWrite() error }
	if cw, ok := c.Conn.(closeWriter); ok {
		cw.CloseWrite()
	}
	c.SetReadDeadline(deadline)
	var buf [512]byte
	for {
		if _, err := c.R.Read(buf[:]); err != nil {
			return
		}
	}
}

// Track registers a connection given to the server from elsewhere (by a
// wire.Mux): Close closes it and waits for Untrack. It returns
// net.ErrClosed after StopAccepting or Close, and ErrTooManyConns past
// MaxConns (ErrTooManyConnsFromAddr, which is also ErrTooManyConns, past
// MaxConnsPerAddr; refuse it with RefuseConn, then close it). Every nil return
// must be paired with Untrack(c). A connection Serve accepted is tracked
// already.
func (l *AcceptLoop) Track(c net.Conn) error { return l.add(closerOf(c), true) }

// Untrack ends what Track began.
func (l *AcceptLoop) Untrack(c net.Conn) { l.done(closerOf(c)) }

// closerOf finds the connection below TLS and below a *Conn's buffer.
func closerOf(c net.Conn) net.Conn {
	for {
		switch x := c.(type) {
		case *Conn:
			c = x.Conn
		case *tls.Conn:
			c = x.NetConn()
		default:
			return c
		}
	}
}

// Enter registers one more goroutine that Close must wait for (an HTTP
// session, say), unless the loop is closed: then it returns false. Every
// true return must be paired with Leave.
func (l *AcceptLoop) Enter() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.wg.Add(1)
	return true
}

// Leave ends what Enter began.
func (l *AcceptLoop) Leave() { l.wg.Done() }

// Conns returns the number of connections counted towards MaxConns.
func (l *AcceptLoop) Conns() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counted
}

// Stopping reports whether StopAccepting or Close has been called.
func (l *AcceptLoop) Stopping() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stopping
}

// StopAccepting closes every listener and refuses new connections (Serve
// returns net.ErrClosed once its own connections are finished; Track
// refuses), leaving the connections being served to finish. It is the
// first step of a graceful shutdown and is idempotent.
func (l *AcceptLoop) StopAccepting() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopping {
		l.stopping = true
		close(l.stop)
	}
	for ln := range l.listeners {
		ln.Close()
	}
}

// Wait waits until every connection and goroutine is finished, or ctx
// ends (then it returns ctx.Err()).
func (l *AcceptLoop) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		l.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting, cancels the connections' contexts, closes every
// connection and waits for every goroutine to return. It is idempotent.
func (l *AcceptLoop) Close() error {
	l.StopAccepting()
	l.mu.Lock()
	l.closed = true
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	l.cancel()
	l.wg.Wait()
	return nil
}
