package broadcast

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/wire"
	"github.com/sigoco/sigoco/wire/auth"
)

// MaxChannelLen bounds a channel's name, in bytes.
const MaxChannelLen = 1024

// Defaults of Options.
const (
	// DefaultQueueLimit is Options.QueueLimit when left 0: SiPyCo's.
	DefaultQueueLimit = 1024
	// DefaultMaxQueueBytes is Options.MaxQueueBytes when left 0.
	DefaultMaxQueueBytes = 16 << 20
	// DefaultMaxConns is Options.MaxConns when left 0.
	DefaultMaxConns = 1024
)

// tokenLinePrefix starts the line in which sigoco's Receiver sends its
// token, between the banner and the channel name.
const tokenLinePrefix = "SIGOCO token "

// Options configures a Broadcaster. The zero value works.
type Options struct {
	// TLS, if set, makes Serve wrap every accepted connection in TLS.
	// (Behind a wire.Mux, the Mux does TLS.)
	TLS *tls.Config
	// QueueLimit bounds the messages waiting to be written to one
	// receiver; a message past it is dropped for that receiver, as
	// SiPyCo's Broadcaster does. Default DefaultQueueLimit (1024).
	QueueLimit int
	// MaxQueueBytes bounds the bytes waiting for one receiver, so that a
	// slow receiver of large messages costs at most this much memory.
	// Default DefaultMaxQueueBytes (16 MiB).
	MaxQueueBytes int64
	// HandshakeTimeout bounds the TLS handshake, the banner, the token
	// line and the channel line of a new connection. Default
	// wire.DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// WriteTimeout disconnects a receiver that takes longer than this to
	// accept one write. Default 30 s.
	WriteTimeout time.Duration
	// MaxConns bounds the receivers served at once; past it a connection
	// is told "SIGOCO error: too many connections …" and closed. Default
	// DefaultMaxConns; negative: no limit.
	MaxConns int
	// Auth, if set, authenticates every receiver (see the package doc);
	// receiving needs the viewer role. Default: everyone receives.
	Auth auth.Authenticator
	// Logger receives the broadcaster's diagnostics (refused receivers,
	// debug records for connections). Default: discarded.
	Logger *slog.Logger
}

// Stats are a Broadcaster's counters.
type Stats struct {
	Receivers int    // connected now
	Messages  uint64 // Broadcast calls with at least one receiver
	Dropped   uint64 // messages dropped for a receiver whose queue was full
}

// Broadcaster sends messages to the receivers of a channel.
type Broadcaster struct {
	opts Options
	loop *wire.AcceptLoop

	mu         sync.Mutex // guards recipients
	recipients map[string]map[*recipient]struct{}
	count      int

	messages atomic.Uint64
	dropped  atomic.Uint64
}

// recipient is one connected receiver's queue.
type recipient struct {
	queue  chan []byte
	queued atomic.Int64 // bytes in queue
}

// NewBroadcaster returns a Broadcaster; it serves nobody until Serve or
// ServeConn is called.
func NewBroadcaster(opts Options) *Broadcaster {
	if opts.QueueLimit <= 0 {
		opts.QueueLimit = DefaultQueueLimit
	}
	if opts.MaxQueueBytes <= 0 {
		opts.MaxQueueBytes = DefaultMaxQueueBytes
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
	if opts.Auth != nil {
		opts.Auth = auth.AtLeast(opts.Auth, auth.Viewer, "receiving broadcasts")
	}
	return &Broadcaster{
		opts:       opts,
		recipients: map[string]map[*recipient]struct{}{},
		loop: wire.NewAcceptLoop(wire.AcceptOptions{
			TLS:              opts.TLS,
			HandshakeTimeout: opts.HandshakeTimeout,
			MaxConns:         opts.MaxConns,
			Logger:           opts.Logger,
		}),
	}
}

// Broadcast sends v to every receiver of channel connected now, encoded
// once as one PYON line. It never blocks on a receiver: one whose queue is
// full misses v. It returns an error only when v has no PYON form (or the
// channel name is not valid); no receiver is not an error.
func (b *Broadcaster) Broadcast(channel string, v any) error {
	if err := checkChannel(channel); err != nil {
		return err
	}
	b.mu.Lock()
	rs := b.recipients[channel]
	if len(rs) == 0 {
		b.mu.Unlock()
		return nil
	}
	b.mu.Unlock()
	line, err := pyon.Encode(v)
	if err != nil {
		return fmt.Errorf("broadcast: channel %q: %w", channel, err)
	}
	line = append(line, '\n')
	b.messages.Add(1)
	b.mu.Lock()
	defer b.mu.Unlock()
	for r := range b.recipients[channel] {
		if r.queued.Load()+int64(len(line)) > b.opts.MaxQueueBytes {
			b.dropped.Add(1)
			continue
		}
		select {
		case r.queue <- line:
			r.queued.Add(int64(len(line)))
		default:
			b.dropped.Add(1)
		}
	}
	return nil
}

// Receivers returns the number of receivers connected to channel.
func (b *Broadcaster) Receivers(channel string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.recipients[channel])
}

// Stats returns the broadcaster's counters.
func (b *Broadcaster) Stats() Stats {
	b.mu.Lock()
	n := b.count
	b.mu.Unlock()
	return Stats{Receivers: n, Messages: b.messages.Load(), Dropped: b.dropped.Load()}
}

// Serve accepts receivers on ln until ctx ends (then it returns nil) or
// Close is called; see wire.AcceptLoop.Serve.
func (b *Broadcaster) Serve(ctx context.Context, ln net.Listener) error {
	return b.loop.Serve(ctx, ln, func(ctx context.Context, c net.Conn) {
		if err := b.serveConn(ctx, c); err != nil {
			b.opts.Logger.Debug("broadcast: receiver ended", "remote", c.RemoteAddr().String(), "err", err)
		}
	})
}

// ServeConn serves one receiver connection whose banner is still unread
// (it implements wire.ConnHandler, for a wire.Mux). It returns when the
// receiver hangs up (nil), ctx ends (nil), Close is called (ErrClosed) or
// the connection is refused or fails (the reason).
func (b *Broadcaster) ServeConn(ctx context.Context, nc net.Conn) error {
	defer nc.Close()
	if err := b.loop.Track(nc); err != nil {
		if errors.Is(err, wire.ErrTooManyConns) {
			why := fmt.Sprintf("too many connections (limit %d); try again later", b.opts.MaxConns)
			b.opts.Logger.Warn("broadcast: connection refused", "remote", nc.RemoteAddr().String(), "why", why)
			wire.RefuseConn(nc, why)
			return fmt.Errorf("broadcast: %w (limit %d)", err, b.opts.MaxConns)
		}
		return ErrClosed
	}
	defer b.loop.Untrack(nc)
	return b.serveConn(ctx, nc)
}

// Close disconnects every receiver, stops every Serve and waits for their
// goroutines. It is idempotent.
func (b *Broadcaster) Close() error { return b.loop.Close() }

func (b *Broadcaster) serveConn(ctx context.Context, nc net.Conn) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()

	c := wire.NewConn(nc)
	deadline := time.Now().Add(b.opts.HandshakeTimeout)
	if d, ok := wire.HandshakeDeadline(ctx); ok && d.Before(deadline) {
		deadline = d
	}
	c.SetDeadline(deadline)
	remote := nc.RemoteAddr().String()
	banner, err := c.ReadBanner()
	if err != nil {
		return b.quiet(ctx, err)
	}
	if banner != wire.BannerSiPyCoBroadcast {
		why := wire.BannerMismatch(banner)
		c.SetWriteDeadline(time.Now().Add(time.Second))
		fmt.Fprintf(c, "SIGOCO error: %s; this port serves: %q\n", why, wire.BannerSiPyCoBroadcast)
		return fmt.Errorf("%w: %s", ErrHandshake, why)
	}
	line, err := wire.ReadLine(c.R, MaxChannelLen+len(tokenLinePrefix)+256)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	token, hasToken := strings.CutPrefix(line, tokenLinePrefix)
	if b.opts.Auth != nil {
		if _, err := b.opts.Auth.Authenticate(auth.ConnCredentials(nc, token)); err != nil {
			b.opts.Logger.Warn("broadcast: refused a receiver", "remote", remote, "err", err)
			return fmt.Errorf("broadcast: %w", err) // no error message in SiPyCo's protocol: closed
		}
	}
	if hasToken {
		if line, err = wire.ReadLine(c.R, MaxChannelLen); err != nil {
			return fmt.Errorf("%w: %w", ErrHandshake, err)
		}
	}
	channel := line
	if err := checkChannel(channel); err != nil {
		b.opts.Logger.Warn("broadcast: refused a receiver", "remote", remote, "err", err)
		return err
	}
	c.SetDeadline(time.Time{})

	r := &recipient{queue: make(chan []byte, b.opts.QueueLimit)}
	b.add(channel, r)
	defer b.remove(channel, r)
	b.opts.Logger.Debug("broadcast: receiver connected", "remote", remote, "channel", channel)

	// A receiver never sends after its channel name: reading finds its
	// hang-up while the channel is quiet (and ends a peer that talks).
	go func() {
		var one [1]byte
		c.R.Read(one[:]) // returns at EOF, error, data, or nc.Close
		cancel()
	}()

	buf := make([]byte, 0, 64<<10)
	for {
		var line []byte
		select {
		case <-ctx.Done():
			if b.loop.Stopping() && b.loop.Context().Err() != nil {
				return ErrClosed
			}
			return nil
		case line = <-r.queue:
		}
		// Write what is queued together, in one write of at most 64 KiB
		// (or one larger message).
		buf = append(buf[:0], line...)
		n := int64(len(line))
	more:
		for len(buf) < 64<<10 {
			select {
			case l := <-r.queue:
				buf = append(buf, l...)
				n += int64(len(l))
			default:
				break more
			}
		}
		r.queued.Add(-n)
		c.SetWriteDeadline(time.Now().Add(b.opts.WriteTimeout))
		if _, err := c.Write(buf); err != nil {
			return b.quiet(ctx, err)
		}
		if cap(buf) > 1<<20 {
			buf = make([]byte, 0, 64<<10) // don't keep one large message's buffer
		}
	}
}

func (b *Broadcaster) add(channel string, r *recipient) {
	b.mu.Lock()
	defer b.mu.Unlock()
	rs := b.recipients[channel]
	if rs == nil {
		rs = map[*recipient]struct{}{}
		b.recipients[channel] = rs
	}
	rs[r] = struct{}{}
	b.count++
}

func (b *Broadcaster) remove(channel string, r *recipient) {
	b.mu.Lock()
	defer b.mu.Unlock()
	rs := b.recipients[channel]
	delete(rs, r)
	if len(rs) == 0 {
		delete(b.recipients, channel)
	}
	b.count--
}

// quiet turns the ordinary ends of a connection into nil.
func (b *Broadcaster) quiet(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, io.EOF) || ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
		if b.loop.Stopping() && b.loop.Context().Err() != nil {
			return ErrClosed
		}
		return nil
	}
	return err
}

// checkChannel validates a channel name.
func checkChannel(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrBadChannel)
	case len(name) > MaxChannelLen:
		return fmt.Errorf("%w: %d bytes, over %d", ErrBadChannel, len(name), MaxChannelLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: not valid UTF-8", ErrBadChannel)
	case strings.ContainsAny(name, "\r\n"):
		return fmt.Errorf("%w: holds a line break", ErrBadChannel)
	}
	return nil
}
