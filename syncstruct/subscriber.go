package syncstruct

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sigoco/sigoco/internal/backoff"
	"github.com/sigoco/sigoco/wire"
	"github.com/sigoco/sigoco/wire/auth"
)

// SubscriberOptions configures a Subscriber. The zero value is valid.
type SubscriberOptions struct {
	// TLS, if set, is used to dial (TCP addresses) or for wss:// URLs.
	TLS *tls.Config
	// Protocol chooses the protocol spoken to a TCP address: sigoco's own
	// (which resumes after a reconnection), SiPyCo's sync_struct (to
	// follow a Python Publisher, such as an ARTIQ master's schedule or
	// datasets), or ProtocolAuto, the default: sigoco's, tried first at
	// every connection, and SiPyCo's only on positive evidence of a SiPyCo
	// publisher (see ProtocolAuto). ws:// and wss:// URLs are always
	// sigoco's. A SiPyCo connection has no heartbeats: it is watched by
	// TCP keepalive, and a vanished publisher is noticed within about 20 s
	// (docs/protocol-sync.md, "Liveness of SiPyCo connections").
	Protocol Protocol
	// TargetBuilder, if set, receives every snapshot (the first one and
	// each resync) and returns the tree to keep as the replica; mods are
	// then applied to it with Apply, so it must be a plain tree. Default:
	// the snapshot itself.
	TargetBuilder func(snapshot any) any
	// OnMod functions are called, in order, after each mod has been
	// applied to the replica, init mods (snapshots) included. tree is the
	// replica: read it there and then, do not keep it or change it. The
	// *Mod is reused for the next mod: copy the struct to keep it, and do
	// not modify its Path (it may be shared with other mods). They run on
	// the Subscriber's receiving goroutine: a slow callback slows the
	// subscriber (and may earn it a resync).
	OnMod []func(tree any, m *Mod)
	// OnSynced is called at the end of every initial sync: after each
	// (re)connection and after each resync.
	OnSynced func(SyncInfo)
	// OnResync is called when a snapshot replaces a replica that was
	// already synced: the subscriber fell behind, missed too much while
	// away, or the publisher restarted. info.Reason says which. With a
	// SiPyCo publisher every reconnection is such a full resync
	// (ReasonSiPyCo): SiPyCo cannot resume.
	OnResync func(SyncInfo)
	// OnDisconnect is called when an established connection is lost (not
	// on Close). The replica is kept, and is stale until the next
	// OnSynced: show "reconnecting".
	OnDisconnect func(err error)
	// MinBackoff and MaxBackoff bound the wait between reconnection
	// attempts, which doubles from MinBackoff after each failure and is
	// jittered (a random wait between half and all of it). Defaults
	// 100 ms and 5 s.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// HandshakeTimeout bounds dialling and the publisher's first answer.
	// Default wire.DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// MaxFrameSize bounds one message from the publisher (a mod, or a
	// snapshot chunk; from a SiPyCo publisher, one line, and its init line
	// holds the whole tree). Default wire.DefaultMaxFrameSize, and 100 MiB
	// for SiPyCo lines (what SiPyCo's own Subscriber accepts).
	MaxFrameSize int
	// Logger receives a record per connection attempt and failure.
	// Default: records are discarded.
	Logger *slog.Logger
	// Token authenticates the subscriber to a publisher with
	// PublisherOptions.Auth; it travels in the subscribe message of
	// sigoco's protocol (never to a SiPyCo publisher). Default:
	// $SIGOCO_TOKEN (auth.EnvToken); none when that is empty too.
	Token string
}

// SyncInfo describes the end of an initial sync. From a SiPyCo publisher,
// which has neither epochs nor sequence numbers, Epoch and Seq are 0.
type SyncInfo struct {
	Epoch   uint64
	Seq     uint64 // sequence number of the last mod in the replica
	Resumed bool   // true: the missed mods were replayed; false: a snapshot was received
	Reason  string // why a snapshot was sent (Reason* constants); "" when resumed
	First   bool   // the first sync of this Subscriber
}

// State is where a Subscriber stands.
type State int

const (
	StateConnecting   State = iota // no replica yet
	StateSynced                    // the replica is live
	StateReconnecting              // the connection was lost; the replica is stale
	StateClosed                    // Close was called
)

func (s State) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateSynced:
		return "synced"
	case StateReconnecting:
		return "reconnecting"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Subscriber keeps a live replica of one notifier of a Publisher. It
// connects by itself, resumes or resyncs after any disconnection, and
// retries with jittered exponential backoff until Close.
//
// The replica may be read from any goroutine (Read, Copy) while mods
// arrive. Callbacks run on the Subscriber's own goroutine, one at a time.
type Subscriber struct {
	addr, name string
	opts       SubscriberOptions
	lineLimit  int // for SiPyCo lines

	mu      sync.RWMutex // guards tree, epoch, seq, synced, state, lastErr and change
	tree    any
	epoch   uint64 // 0: no replica to resume from
	seq     uint64
	synced  bool // a sync has completed at least once
	state   State
	lastErr error
	change  chan struct{} // closed and replaced when state changes

	cancel context.CancelFunc
	done   chan struct{}
}

// NewSubscriber starts keeping a replica of the notifier called name at
// addr: "host:port" for TCP (TLS with opts.TLS) to a sigoco Publisher or
// a SiPyCo one (see SubscriberOptions.Protocol), or a "ws://" or "wss://"
// URL of a Publisher's HTTP handler. It returns at once; use WaitSynced to
// wait for the first sync, and Close to stop. A malformed address (no
// port, a URL without a host), an empty name or a ProtocolSiPyCo
// subscriber to a WebSocket URL is an error, not a reconnection loop.
func NewSubscriber(addr, name string, opts SubscriberOptions) (*Subscriber, error) {
	if err := checkSubscriberAddr(addr, name, opts.Protocol); err != nil {
		return nil, err
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Second
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.MinBackoff)
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = wire.DefaultHandshakeTimeout
	}
	lineLimit := opts.MaxFrameSize
	if lineLimit <= 0 {
		lineLimit = sipycoMaxLine
	}
	if opts.MaxFrameSize <= 0 {
		opts.MaxFrameSize = wire.DefaultMaxFrameSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Token == "" {
		opts.Token = os.Getenv(auth.EnvToken)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Subscriber{
		addr:      addr,
		name:      name,
		opts:      opts,
		lineLimit: lineLimit,
		change:    make(chan struct{}),
		cancel:    cancel,
		done:      make(chan struct{}),
	}
	go s.loop(ctx)
	return s, nil
}

// checkSubscriberAddr validates what NewSubscriber is given.
func checkSubscriberAddr(addr, name string, proto Protocol) error {
	if name == "" {
		return fmt.Errorf("%w: empty notifier name", ErrBadAddress)
	}
	if isWebSocketAddr(addr) {
		u, err := url.Parse(addr)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadAddress, err)
		}
		if u.Host == "" {
			return fmt.Errorf("%w: %q has no host", ErrBadAddress, addr)
		}
		if proto == ProtocolSiPyCo {
			return fmt.Errorf("%w: SiPyCo's sync_struct runs over TCP, not WebSocket (%s)", ErrBadAddress, addr)
		}
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: %q: %w (want host:port or a ws:// URL)", ErrBadAddress, addr, err)
	}
	if port == "" {
		return fmt.Errorf("%w: %q has no port", ErrBadAddress, addr)
	}
	if proto == ProtocolSiPyCo && !validSiPyCoName(name) {
		return fmt.Errorf("%w: notifier name %q cannot be sent to a SiPyCo publisher", ErrBadAddress, truncate(name, 64))
	}
	return nil
}

// Read calls fn with the replica (nil before the first sync), read-locked:
// fn must not modify it or keep references into it.
func (s *Subscriber) Read(fn func(tree any)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	fn(s.tree)
}

// Copy returns a deep copy of the replica (nil before the first sync).
func (s *Subscriber) Copy() any {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return Copy(s.tree)
}

// State returns the subscriber's state and the last connection error.
func (s *Subscriber) State() (State, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.state, s.lastErr
}

// Position returns the epoch and sequence number the replica is at (for a
// replica of a SiPyCo publisher: 0 and the number of mods since the last
// snapshot).
func (s *Subscriber) Position() (epoch, seq uint64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.epoch, s.seq
}

// WaitSynced blocks until the replica is synced (now, if it is), ctx ends
// (the error then includes the last connection error) or the Subscriber is
// closed (ErrClosed).
func (s *Subscriber) WaitSynced(ctx context.Context) error {
	for {
		s.mu.RLock()
		st, ch, last := s.state, s.change, s.lastErr
		s.mu.RUnlock()
		switch st {
		case StateSynced:
			return nil
		case StateClosed:
			return ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("syncstruct: waiting for %q at %s: %w (last error: %v)", s.name, s.addr, ctx.Err(), last)
			}
			return fmt.Errorf("syncstruct: waiting for %q at %s: %w", s.name, s.addr, ctx.Err())
		}
	}
}

// Close stops the subscriber and waits for its goroutines. It is
// idempotent. OnDisconnect is not called.
func (s *Subscriber) Close() error {
	s.cancel()
	<-s.done
	return nil
}

// setState records a state change and wakes WaitSynced. Callers hold s.mu.
func (s *Subscriber) setStateLocked(st State, err error) {
	s.state = st
	if err != nil {
		s.lastErr = err
	}
	close(s.change)
	s.change = make(chan struct{})
}

func (s *Subscriber) loop(ctx context.Context) {
	defer close(s.done)
	defer func() {
		s.mu.Lock()
		s.setStateLocked(StateClosed, nil)
		s.mu.Unlock()
	}()
	log := s.opts.Logger.With("notifier", s.name, "addr", s.addr)
	failures := 0
	for {
		synced, err := s.connect(ctx)
		if ctx.Err() != nil {
			return
		}
		if synced {
			failures = 0
		}
		log.Debug("syncstruct: subscriber disconnected", "err", err)
		s.mu.Lock()
		wasSynced := s.state == StateSynced
		if s.synced {
			s.setStateLocked(StateReconnecting, err)
		} else {
			s.setStateLocked(StateConnecting, err)
		}
		s.mu.Unlock()
		if wasSynced && s.opts.OnDisconnect != nil {
			s.opts.OnDisconnect(err)
		}
		d := backoff.Wait(failures, s.opts.MinBackoff, s.opts.MaxBackoff)
		failures++
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// isWebSocketAddr reports whether addr is a ws:// or wss:// URL.
func isWebSocketAddr(addr string) bool {
	return strings.HasPrefix(addr, "ws://") || strings.HasPrefix(addr, "wss://")
}
