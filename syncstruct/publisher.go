package syncstruct

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sigoco/sigoco/wire"
)

// PublisherOptions configures a Publisher. The zero value is valid.
type PublisherOptions struct {
	// TLS, if set, makes Serve accept TLS connections. (Behind a
	// wire.Mux, TLS is the Mux's business.)
	TLS *tls.Config
	// QueueBytes bounds how far, in bytes of encoded mods, a subscriber
	// may fall behind. One that falls further gets a fresh snapshot (a
	// resync) instead of its backlog. The mods themselves are stored once
	// per notifier, in its history (NotifierOptions.HistoryBytes), which
	// also bounds the lag. Default 1 MiB.
	QueueBytes int
	// HeartbeatInterval: the publisher sends a ping after this long
	// without sending anything, and tells subscribers to ping it this
	// often. A peer silent for HeartbeatTimeout is dropped. Defaults 2 s
	// and 3 × HeartbeatInterval.
	HeartbeatInterval time.Duration
	HeartbeatTimeout  time.Duration
	// HandshakeTimeout bounds the banner and the subscribe message.
	// Default wire.DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// CheckOrigin decides which browser origins may open a WebSocket.
	// Default: gorilla/websocket's, which accepts a request without an
	// Origin header or whose Origin host equals its Host.
	CheckOrigin func(r *http.Request) bool
	// Logger receives one record per subscriber session (debug) and per
	// failure (warn). Default: records are discarded.
	Logger *slog.Logger
}

// Publisher serves named notifiers to subscribers over TCP/TLS (the
// "SIGOCO sync 1" banner, and SiPyCo's "ARTIQ sync_struct" for Python
// subscribers, on its own listener with Serve or behind a wire.Mux as a
// wire.ConnHandler) and over WebSocket (as an http.Handler).
// Notifiers can be added and removed while it serves.
//
// All methods are safe for concurrent use.
type Publisher struct {
	opts     PublisherOptions
	upgrader websocket.Upgrader

	mu        sync.Mutex // guards notifiers, sessions and closed (and orders wg.Add against Close: see enter)
	notifiers map[string]*Notifier
	sessions  map[*session]struct{}
	closed    bool
	wg        sync.WaitGroup // sessions and Serve loops

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc

	resyncs   atomic.Uint64
	snapshots atomic.Uint64
}

// maxSubscribeSize bounds the subscribe message (and pings) a subscriber
// sends.
const maxSubscribeSize = 4096

// NewPublisher returns a Publisher serving notifiers (which may be nil).
func NewPublisher(notifiers map[string]*Notifier, opts PublisherOptions) *Publisher {
	if opts.QueueBytes <= 0 {
		opts.QueueBytes = 1 << 20
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = 2 * time.Second
	}
	if opts.HeartbeatTimeout <= 0 {
		opts.HeartbeatTimeout = 3 * opts.HeartbeatInterval
	}
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = wire.DefaultHandshakeTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Publisher{
		opts:      opts,
		notifiers: make(map[string]*Notifier),
		sessions:  make(map[*session]struct{}),
		ctx:       ctx,
		cancel:    cancel,
	}
	for name, n := range notifiers {
		p.notifiers[name] = n
	}
	p.upgrader = websocket.Upgrader{
		HandshakeTimeout: opts.HandshakeTimeout,
		CheckOrigin:      opts.CheckOrigin,
		WriteBufferPool:  &sync.Pool{}, // idle subscribers hold no write buffer
	}
	return p
}

// Add starts serving n under name. It fails with ErrExists if the name is
// taken.
func (p *Publisher) Add(name string, n *Notifier) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.notifiers[name]; ok {
		return fmt.Errorf("%w: %q", ErrExists, name)
	}
	p.notifiers[name] = n
	return nil
}

// Remove stops serving the notifier called name: its subscribers get an
// error message ("removed") and are disconnected; they keep retrying, and
// find the name again if a notifier is added under it.
func (p *Publisher) Remove(name string) {
	p.mu.Lock()
	delete(p.notifiers, name)
	var ended []*session
	for s := range p.sessions {
		if s.name == name {
			ended = append(ended, s)
		}
	}
	p.mu.Unlock()
	for _, s := range ended {
		s.end(CodeRemoved, fmt.Sprintf("notifier %q was removed", name))
	}
}

// Names returns the names of the notifiers served, sorted.
func (p *Publisher) Names() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.notifiers))
	for name := range p.notifiers {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// PublisherStats are counters for monitoring and tests.
type PublisherStats struct {
	Subscribers int    // sessions now open
	Snapshots   uint64 // snapshots sent, resyncs included
	Resyncs     uint64 // snapshots sent because a subscriber fell behind or a mod was too large
}

// Stats returns the current counters.
func (p *Publisher) Stats() PublisherStats {
	p.mu.Lock()
	n := len(p.sessions)
	p.mu.Unlock()
	return PublisherStats{Subscribers: n, Snapshots: p.snapshots.Load(), Resyncs: p.resyncs.Load()}
}

// Serve accepts connections on ln until ctx is cancelled or Close is
// called, and then returns nil; any other accept error is returned.
func (p *Publisher) Serve(ctx context.Context, ln net.Listener) error {
	if !p.enter() {
		ln.Close()
		return net.ErrClosed
	}
	defer p.wg.Done()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	stopP := context.AfterFunc(p.ctx, func() { ln.Close() })
	defer stopP()
	defer ln.Close()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || p.ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(delay):
				case <-ctx.Done():
				case <-p.ctx.Done():
				}
				continue
			}
			return err
		}
		delay = 0
		if !p.enter() {
			c.Close()
			return nil
		}
		go func() {
			defer p.wg.Done()
			if p.opts.TLS != nil {
				c = tls.Server(c, p.opts.TLS)
			}
			p.ServeConn(ctx, c)
		}()
	}
}

// enter registers one more goroutine unless the publisher is closed.
func (p *Publisher) enter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.wg.Add(1)
	return true
}

// ServeConn serves one connection that starts with the "SIGOCO sync 1"
// banner or SiPyCo's "ARTIQ sync_struct" (still unread, as wire.Mux hands
// it over; register the Publisher for both banners on a Mux). It returns
// when the subscriber leaves, ctx is cancelled or the Publisher is closed;
// the connection is closed on return. It implements wire.ConnHandler.
//
// After "ARTIQ sync_struct" it speaks SiPyCo's protocol, so SiPyCo's
// Python Subscriber (ARTIQ's dashboard, for one) keeps an exact replica:
// the notifier name line, then SiPyCo's init line and mod lines in PYON v2
// (see encSiPyCo), nothing else. Such a subscriber cannot resume: each
// connection starts with an init, and one that falls behind gets a fresh
// init on the same connection.
func (p *Publisher) ServeConn(ctx context.Context, conn net.Conn) error {
	if !p.enter() {
		conn.Close()
		return net.ErrClosed
	}
	defer p.wg.Done()
	c := wire.NewConn(conn)
	defer c.Close()
	// Close must not wait out the handshake of a silent peer: until the
	// session starts (and takes over shutdown), Close closes the connection.
	hs := context.AfterFunc(p.ctx, func() { c.Close() })
	defer hs()
	c.SetDeadline(time.Now().Add(p.opts.HandshakeTimeout))
	if tc, ok := c.NetConn().(*tls.Conn); ok {
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("syncstruct: TLS handshake: %w", err)
		}
	}
	banner, err := c.ReadBanner()
	if err != nil {
		return fmt.Errorf("syncstruct: reading banner: %w", err)
	}
	switch banner {
	case wire.BannerSync:
		return p.serve(ctx, newFrameTransport(c, maxSubscribeSize, 0), hs)
	case wire.BannerSiPyCoSync:
		return p.serveSiPyCo(ctx, c, hs)
	}
	fmt.Fprintf(c, "SIGOCO error: unknown banner %q; this port serves %q, %q\n", truncate(banner, 64), wire.BannerSiPyCoSync, wire.BannerSync)
	return fmt.Errorf("%w: %q", wire.ErrBadBanner, truncate(banner, 64))
}

// ServeHTTP upgrades the request to a WebSocket and serves one subscriber
// on it. The subscriber's first message chooses the encoding: binary
// (msgpack, for Go) or text (JSON, for browsers). The session outlives the
// request as far as net/http is concerned (http.Server.Close does not
// close upgraded connections): Close the Publisher to end it (a wire.Mux
// closes its connections itself).
func (p *Publisher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !p.enter() {
		http.Error(w, "syncstruct: publisher closed", http.StatusServiceUnavailable)
		return
	}
	defer p.wg.Done()
	ws, err := p.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered the request
	}
	defer ws.NetConn().Close()
	hs := context.AfterFunc(p.ctx, func() { ws.NetConn().Close() }) // see ServeConn
	defer hs()
	ws.SetReadLimit(maxSubscribeSize)
	ws.SetReadDeadline(time.Now().Add(p.opts.HandshakeTimeout))
	typ, rd, err := ws.NextReader()
	if err != nil {
		return
	}
	t := &wsTransport{ws: ws, text: typ == websocket.TextMessage}
	first, err := readAllLimit(rd, maxSubscribeSize)
	if err != nil {
		return
	}
	p.serveFirst(r.Context(), t, first, hs)
}

// serve reads the subscribe message from t and serves the session.
func (p *Publisher) serve(ctx context.Context, t transport, hs func() bool) error {
	defer t.close()
	first, err := t.readMsg()
	if err != nil {
		var tooLarge *wire.FrameTooLargeError
		if errors.As(err, &tooLarge) {
			// As documented: a subscribe frame past the limit is a bad
			// request, answered before the connection closes.
			p.reject(t, CodeBadRequest, fmt.Sprintf("subscribe frame of %d bytes exceeds the limit of %d", tooLarge.Size, tooLarge.Limit))
		}
		return fmt.Errorf("syncstruct: reading subscribe: %w", err)
	}
	return p.serveFirst(ctx, t, first, hs)
}

func (p *Publisher) serveFirst(ctx context.Context, t transport, first []byte, hs func() bool) error {
	defer t.close()
	sub, err := decodeSubscribe(t, first)
	if err != nil {
		p.reject(t, CodeBadRequest, err.Error())
		return err
	}
	return p.serveSession(ctx, t, sub, hs)
}

// serveSession serves the subscriber sub describes (notifier, epoch, seq)
// on t until it leaves. Another protocol (SiPyCo's sync_struct) enters
// here with its own transport and encoding, after its own handshake.
// hs stops the closing of the connection on Close during the handshake:
// the session says goodbye itself.
func (p *Publisher) serveSession(ctx context.Context, t transport, sub *message, hs func() bool) error {
	hs()
	p.mu.Lock()
	n := p.notifiers[sub.Notifier]
	if n == nil || p.closed {
		p.mu.Unlock()
		if n == nil {
			p.reject(t, CodeUnknownNotifier, fmt.Sprintf("no notifier %q; this publisher serves %q", truncate(sub.Notifier, 64), p.Names()))
			return fmt.Errorf("%w: %q", ErrUnknownNotifier, truncate(sub.Notifier, 64))
		}
		p.reject(t, CodeShutdown, "publisher closing")
		return net.ErrClosed
	}
	sctx, cancel := context.WithCancel(ctx)
	s := newSession(p, sub.Notifier, n, t, cancel)
	p.sessions[s] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.sessions, s)
		p.mu.Unlock()
	}()
	return s.run(ctx, sctx, sub)
}

// reject sends an error message and gives up on the connection.
func (p *Publisher) reject(t transport, code, msg string) {
	p.opts.Logger.Debug("syncstruct: subscriber rejected", "remote", t.remote(), "code", code, "msg", msg)
	t.setWriteDeadline(time.Now().Add(time.Second))
	t.writeMsgs([][]byte{t.control(&control{T: msgError, Code: code, Message: msg})})
}

// Close ends every session (subscribers get a "shutdown" error message
// when their connection can take it), stops every Serve and waits for them;
// a subscriber that does not read is given about a second before its
// connection is closed under it. It is idempotent.
func (p *Publisher) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
	return nil
}
