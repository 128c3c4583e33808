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
	// MaxConns bounds the TCP/TLS connections served at once (by Serve,
	// and by ServeConn for a wire.Mux). One past it is told "SIGOCO
	// error: too many connections (limit N); try again later" in one line
	// and closed; the others keep being served. WebSocket subscribers
	// are bounded by the HTTP server (or the wire.Mux) in front. Default 0:
	// no limit.
	MaxConns int
	// IdleTimeout closes a connection accepted by Serve whose peer has
	// sent nothing for this long (wire.WithIdleTimeout). Native
	// subscribers ping every HeartbeatInterval and are already dropped
	// after HeartbeatTimeout of silence, whichever of the two is shorter
	// applies; SiPyCo subscribers send nothing after their notifier name,
	// so for them IdleTimeout is a bound on the connection's life (they do
	// not reconnect by themselves): leave it 0 where they connect. Behind
	// a wire.Mux, the Mux's IdleTimeout applies. Default 0: never.
	IdleTimeout time.Duration
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
// wire.BannerSync banner, "SIGOCO sync 2", and SiPyCo's "ARTIQ sync_struct" for Python
// subscribers, on its own listener with Serve or behind a wire.Mux as a
// wire.ConnHandler) and over WebSocket (as an http.Handler).
// Notifiers can be added and removed while it serves.
//
// All methods are safe for concurrent use.
type Publisher struct {
	opts     PublisherOptions
	upgrader websocket.Upgrader

	// loop owns the listeners and connections and counts every goroutine
	// serving one (Serve's, ServeConn's Track, ServeHTTP's Enter), so
	// Close waits for them all.
	loop *wire.AcceptLoop

	mu        sync.Mutex // guards notifiers and sessions
	notifiers map[string]*Notifier
	sessions  map[*session]struct{}

	// ctx is cancelled by Shutdown and Close: sessions end with a
	// "shutdown" message, handshakes are cut short.
	ctx    context.Context
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
	p.loop = p.newAcceptLoop()
	for name, n := range notifiers {
		p.notifiers[name] = n
	}
	p.upgrader = websocket.Upgrader{
		HandshakeTimeout: opts.HandshakeTimeout,
		CheckOrigin:      opts.CheckOrigin,
		WriteBufferPool:  &sync.Pool{}, // idle subscribers hold no write buffer
		// A batch of mods (up to maxWSBatch) goes out in one write.
		WriteBufferSize: maxWSBatch + 64,
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

// Serve accepts connections on ln (TLS ones if PublisherOptions.TLS is
// set) and serves each as ServeConn does, with wire's accept loop, until
// ctx is cancelled (then it returns nil; cancelling ctx is a hard stop:
// sessions end with a "shutdown" message) or Shutdown or Close is called
// (then it returns net.ErrClosed); any other accept error is returned.
// Serve returns once the connections it accepted are finished.
func (p *Publisher) Serve(ctx context.Context, ln net.Listener) error {
	return p.loop.Serve(ctx, ln, func(ctx context.Context, c net.Conn) { p.serveConn(ctx, c) })
}

// ServeConn serves one connection that starts with the wire.BannerSync
// banner ("SIGOCO sync 2") or SiPyCo's "ARTIQ sync_struct" (still unread,
// as wire.Mux hands it over; register the Publisher for both banners on a
// Mux). It returns when the subscriber leaves, ctx is cancelled or the
// Publisher is shut down or closed; the connection is closed on return.
// It implements wire.ConnHandler. Past MaxConns the connection is refused
// with a line "SIGOCO error: too many connections (limit N); try again
// later" (wire.RefuseConn) and ServeConn returns wire.ErrTooManyConns;
// after Shutdown or Close it returns net.ErrClosed.
//
// After "ARTIQ sync_struct" it speaks SiPyCo's protocol, so SiPyCo's
// Python Subscriber (ARTIQ's dashboard, for one) keeps an exact replica:
// the notifier name line, then SiPyCo's init line and mod lines in PYON v2
// (see encSiPyCo), nothing else. Such a subscriber cannot resume: each
// connection starts with an init, and one that falls behind gets a fresh
// init on the same connection.
func (p *Publisher) ServeConn(ctx context.Context, conn net.Conn) error {
	if err := p.loop.Track(conn); err != nil {
		if errors.Is(err, wire.ErrTooManyConns) {
			p.opts.Logger.Warn("syncstruct: subscriber refused", "remote", conn.RemoteAddr().String(), "err", err, "max_conns", p.opts.MaxConns)
			wire.RefuseConn(conn, fmt.Sprintf("too many connections (limit %d); try again later", p.opts.MaxConns))
		}
		conn.Close()
		return err
	}
	defer p.loop.Untrack(conn)
	return p.serveConn(ctx, conn)
}

// serveConn serves a tracked connection (its TLS handshake, if any, is
// done: by the accept loop, or by a wire.Mux).
func (p *Publisher) serveConn(ctx context.Context, conn net.Conn) error {
	c := wire.NewConn(conn)
	defer c.Close()
	// Close must not wait out the handshake of a silent peer: until the
	// session starts (and takes over shutdown), stopping closes the
	// connection.
	hs := context.AfterFunc(p.ctx, func() { c.Close() })
	defer hs()
	c.SetDeadline(time.Now().Add(p.opts.HandshakeTimeout))
	banner, err := c.ReadBanner()
	if err != nil {
		if errors.Is(err, wire.ErrLineTooLong) {
			fmt.Fprintf(c, "SIGOCO error: banner line too long; this port serves %q, %q\n", wire.BannerSiPyCoSync, wire.BannerSync)
		}
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
	if p.ctx.Err() != nil || !p.loop.Enter() {
		http.Error(w, "syncstruct: publisher closed", http.StatusServiceUnavailable)
		return
	}
	defer p.loop.Leave()
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
	if n == nil || p.ctx.Err() != nil {
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

// newAcceptLoop returns the accept loop for p's options.
func (p *Publisher) newAcceptLoop() *wire.AcceptLoop {
	return wire.NewAcceptLoop(wire.AcceptOptions{
		TLS:              p.opts.TLS,
		HandshakeTimeout: p.opts.HandshakeTimeout,
		MaxConns:         p.opts.MaxConns,
		IdleTimeout:      p.opts.IdleTimeout,
		Logger:           p.opts.Logger,
	})
}

// Shutdown stops the Publisher gracefully (it is a wire.Shutdowner, so
// wire.Mux.Shutdown drains it): it stops accepting, tells every
// subscriber "shutdown" in an error message (they reconnect, to this
// publisher's successor), and waits for the sessions to end. A subscriber
// that does not read is given about a second before its connection is
// closed under it. If ctx ends first, Shutdown closes everything as Close
// does and returns ctx.Err(). Serve returns net.ErrClosed.
func (p *Publisher) Shutdown(ctx context.Context) error {
	p.loop.StopAccepting()
	p.cancel()
	err := p.loop.Wait(ctx)
	p.loop.Close()
	return err
}

// Close ends every session as Shutdown does (subscribers get a "shutdown"
// error message when their connection can take it), stops every Serve and
// waits for them; a subscriber that does not read is given about a second
// before its connection is closed under it. It is idempotent.
func (p *Publisher) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*closeGrace)
	defer cancel()
	p.Shutdown(ctx)
	return nil
}
