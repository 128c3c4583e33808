package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/sigoco/sigoco/wire"
	"github.com/sigoco/sigoco/wire/auth"
)

// ServerOptions configures a Server. The zero value is valid.
type ServerOptions struct {
	// Description is announced to every client (list-targets shows it).
	Description string
	// TLS, if set, makes every connection Serve accepts a TLS server
	// connection (see wire.TLSConfig.Server; mutual authentication when it
	// names the client certificates to trust). The banner is read inside
	// TLS and HandshakeTimeout bounds the TLS handshake too. ServeConn
	// takes connections as they are: behind a wire.Mux, the Mux does TLS
	// (wire.MuxOptions.TLS). Default: plain TCP.
	TLS *tls.Config
	// AllowParallel lets calls to one target run concurrently, many per
	// connection. Default false: calls to a target are serialised across
	// all connections (hardware drivers are rarely safe for concurrent use).
	AllowParallel bool
	// BuiltinTerminate exposes a method "terminate" on every target that
	// ends Serve and WaitTerminate, like SiPyCo's builtin_terminate.
	BuiltinTerminate bool
	// MaxConns bounds the connections served at once (accepted by Serve
	// or given to ServeConn). A connection past it is refused, the others
	// keep being served: it gets the line "SIGOCO error: too many
	// connections (limit N); try again later" and is closed (the Go client
	// returns an error wrapping ErrIncompatibleServer with that line; a
	// SiPyCo client sees the connection close, as SiPyCo clients see every
	// refusal). Default DefaultMaxConns; negative means no limit.
	MaxConns int
	// IdleTimeout closes a connection accepted by Serve once its client
	// has sent nothing for this long while the server waited to read (a
	// long call never counts). Default 0: never, since SiPyCo clients
	// legitimately sit idle for days; TCP keepalive (on, every 15 s) still
	// finds peers that vanished. Behind a wire.Mux, MuxOptions.IdleTimeout
	// applies.
	IdleTimeout time.Duration
	// MaxFrameSize bounds every message in both directions.
	// Default wire.DefaultMaxFrameSize.
	MaxFrameSize int
	// HandshakeTimeout bounds the banner, the TLS handshake and the
	// selection of a target. Default wire.DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// MaxCallsPerConn bounds the calls one native connection may have
	// running or waiting for a busy target; a call beyond it fails at once
	// with a RemoteError of type TypeTooManyCalls. It keeps one client from
	// holding unbounded goroutines and arguments on the server. Default
	// DefaultMaxCallsPerConn.
	MaxCallsPerConn int
	// MaxDecodedSize bounds the memory the arguments of one call may take
	// once decoded (estimated as docs/protocol-rpc.md's cost model says:
	// bytes of strings and bins, 8 per packed number, 16 per untyped
	// element, 64 per map entry). A call beyond it fails with a
	// RemoteError of type TypeRequestTooLarge and the connection goes on.
	// Arguments are decoded only when the target can take the call, so
	// the calls waiting for a busy target hold their frames, not their
	// decoded values. Default DefaultMaxDecodedSize.
	MaxDecodedSize int
	// Logger receives debug records about rejected connections and
	// requests, and a warning for each SiPyCo client refused at its
	// target line (PYON v1 only, or an unknown feature), which SiPyCo's
	// protocol cannot tell the client. Default: records are discarded.
	Logger *slog.Logger
	// Auth, if set, authenticates every connection before its target is
	// selected, from the token in the selection (native protocol version
	// 3), the "SIGOCO token" line (SiPyCo's protocol, sigoco's clients
	// only), the TLS client certificate, or nothing (the anonymous
	// identity). A refused native client gets an error message saying
	// why (auth.ErrUnauthenticated); a refused SiPyCo client is closed, as
	// SiPyCo does. The identity is in every call's context
	// (auth.FromContext). Default: everyone is served, no identity.
	Auth auth.Authenticator
	// Authorize, if set, is asked before every call (and the built-in
	// terminate), with the call's context (which holds the identity),
	// the target's name and the method's wire name. An error refuses the
	// call with a RemoteError of Type "PermissionError" carrying its text
	// (errors.Is(err, auth.ErrForbidden) holds when it wraps that).
	// Default: every call is allowed.
	Authorize func(ctx context.Context, target, method string) error
}

// Defaults of ServerOptions fields left 0.
const (
	DefaultMaxCallsPerConn = 1024     // MaxCallsPerConn
	DefaultMaxDecodedSize  = 64 << 20 // MaxDecodedSize: 64 MiB
	DefaultMaxConns        = 1024     // MaxConns
)

// Server serves named targets over the native protocol (docs/protocol-rpc.md)
// and SiPyCo's pc_rpc (docs/sipyco.md), told apart by the banner. It
// implements wire.ConnHandler, so it can sit behind a wire.Mux (register
// it for wire.BannerRPC and wire.BannerSiPyCoRPC).
type Server struct {
	opts    ServerOptions
	targets map[string]*target
	names   []string

	// loop is wire's one accept loop: it owns the listeners, the
	// connections (from Serve and ServeConn) and their goroutines.
	loop     *wire.AcceptLoop
	term     chan struct{} // closed by terminate
	termOnce sync.Once
	// tablesMu serialises AddMethod and RemoveMethod (each target's live
	// table is read without it).
	tablesMu sync.Mutex
	// mu guards draining and conns (the connections being served, which
	// Shutdown tells to drain).
	mu       sync.Mutex
	draining bool
	conns    map[*serverConn]struct{}
}

// target is one named target.
type target struct {
	name    string
	value   reflect.Value // the object, or the factory
	factory bool
	table   *methodTable // nil for a factory returning an interface: per object
	// live is the table calls use for a target that is not a factory: the
	// type's table, replaced (copy on write) by AddMethod and RemoveMethod.
	live atomic.Pointer[methodTable]
	// sem serialises calls when AllowParallel is off: a channel, so that a
	// call waiting its turn can give up when its context ends.
	sem chan struct{}
}

// NewServer makes a server for targets: name → object. A target is any
// value whose exported methods are to be called remotely (usually a
// pointer), or a factory func() T or func() (T, error), called once per
// connection that selects it. Names must be non-empty without whitespace.
func NewServer(targets map[string]any, opts ServerOptions) (*Server, error) {
	if opts.MaxFrameSize <= 0 {
		opts.MaxFrameSize = wire.DefaultMaxFrameSize
	}
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = wire.DefaultHandshakeTimeout
	}
	if opts.MaxCallsPerConn <= 0 {
		opts.MaxCallsPerConn = DefaultMaxCallsPerConn
	}
	if opts.MaxDecodedSize <= 0 {
		opts.MaxDecodedSize = DefaultMaxDecodedSize
	}
	if opts.MaxConns == 0 {
		opts.MaxConns = DefaultMaxConns
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if len(targets) == 0 {
		return nil, errors.New("rpc: a server needs at least one target")
	}
	s := &Server{
		opts:    opts,
		targets: map[string]*target{},
		term:    make(chan struct{}),
		conns:   map[*serverConn]struct{}{},
		loop: wire.NewAcceptLoop(wire.AcceptOptions{
			TLS:              opts.TLS,
			HandshakeTimeout: opts.HandshakeTimeout,
			MaxConns:         max(opts.MaxConns, 0),
			IdleTimeout:      opts.IdleTimeout,
			Logger:           opts.Logger,
		}),
	}
	for name, v := range targets {
		if err := s.AddTarget(name, v); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// AddTarget adds a target (as NewServer's targets: an object or a
// factory) under a name not taken yet. Call it before Serve, ServeConn
// and Local: targets are looked up without a lock.
func (s *Server) AddTarget(name string, v any) error {
	if name == "" || strings.IndexFunc(name, unicode.IsSpace) >= 0 {
		return fmt.Errorf("rpc: invalid target name %q (empty or with whitespace)", name)
	}
	if _, dup := s.targets[name]; dup {
		return fmt.Errorf("rpc: target %q added twice", name)
	}
	t, err := newTarget(name, v)
	if err != nil {
		return err
	}
	s.targets[name] = t
	s.names = append(s.names, name)
	sort.Strings(s.names)
	return nil
}

func newTarget(name string, v any) (*target, error) {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || (rv.Kind() == reflect.Ptr && rv.IsNil()) {
		return nil, fmt.Errorf("rpc: target %q is nil", name)
	}
	t := &target{name: name, value: rv, sem: make(chan struct{}, 1)}
	typ := rv.Type()
	if typ.Kind() == reflect.Func {
		if typ.NumIn() != 0 || typ.NumOut() < 1 || typ.NumOut() > 2 || (typ.NumOut() == 2 && typ.Out(1) != errorType) {
			return nil, fmt.Errorf("rpc: target %q: a factory must be func() T or func() (T, error), not %s", name, typ)
		}
		t.factory = true
		typ = typ.Out(0)
		if typ.Kind() == reflect.Interface {
			return t, nil // the table is found per object
		}
	}
	tb, err := tableFor(typ)
	if err != nil {
		return nil, err
	}
	t.table = tb
	if !t.factory {
		t.live.Store(tb)
	}
	return t, nil
}

// instance returns the object a new connection calls, and its methods.
func (t *target) instance() (reflect.Value, *methodTable, error) {
	if !t.factory {
		return t.value, t.table, nil
	}
	var out []reflect.Value
	if err := safeCall(func() { out = t.value.Call(nil) }); err != nil {
		return reflect.Value{}, nil, err
	}
	if len(out) == 2 && !out[1].IsNil() {
		return reflect.Value{}, nil, out[1].Interface().(error)
	}
	obj := out[0]
	if obj.Kind() == reflect.Interface {
		obj = obj.Elem()
	}
	if !obj.IsValid() || (obj.Kind() == reflect.Ptr && obj.IsNil()) {
		return reflect.Value{}, nil, errors.New("factory returned nil")
	}
	if t.table != nil {
		return obj, t.table, nil
	}
	tb, err := tableFor(obj.Type())
	return obj, tb, err
}

// safeCall runs f, turning a panic into an error.
func safeCall(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	f()
	return nil
}

// Targets returns the target names, sorted.
func (s *Server) Targets() []string { return append([]string(nil), s.names...) }

// Serve accepts connections on ln and serves each on its own goroutine
// (wire's accept loop: TLS first when ServerOptions.TLS is set, MaxConns,
// IdleTimeout, keepalive). It returns nil when ctx ends (a hard stop: the
// connections are closed and the contexts of their calls cancelled) or
// after a client called the built-in terminate (a graceful shutdown);
// net.ErrClosed after Shutdown or Close (at once when called after them);
// otherwise the accept error that stopped it. Serve closes ln. The
// connections it accepted are finished when it returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if ln == nil {
		return errors.New("rpc: Serve needs a listener, got nil (did net.Listen fail?)")
	}
	err := s.loop.Serve(ctx, ln, func(ctx context.Context, c net.Conn) { s.serveConn(ctx, c) })
	if errors.Is(err, net.ErrClosed) && s.terminated() {
		return nil
	}
	return err
}

// ServeConn serves one connection: it reads the banner itself, so conn may
// come straight from a listener or from a wire.Mux. It returns when the
// connection ends, and soon after ctx is done (the connection is then
// closed and the contexts of its calls cancelled): nil when the client
// hung up or the server stopped, otherwise why the connection failed (a bad
// banner, a handshake error, a protocol error). Past MaxConns the
// connection is refused (see ServerOptions.MaxConns) and the error wraps
// wire.ErrTooManyConns; after Shutdown or Close it is closed and the error
// is ErrClosed.
func (s *Server) ServeConn(ctx context.Context, conn net.Conn) error {
	if err := s.loop.Track(conn); err != nil {
		if errors.Is(err, wire.ErrTooManyConns) {
			wire.RefuseConn(conn, fmt.Sprintf("too many connections (limit %d); try again later", s.opts.MaxConns))
			conn.Close()
			return fmt.Errorf("rpc: %w", err)
		}
		conn.Close()
		return ErrClosed
	}
	defer s.loop.Untrack(conn)
	return s.serveConn(ctx, conn)
}

// serveConn serves a connection the loop tracks.
func (s *Server) serveConn(ctx context.Context, conn net.Conn) error {
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		conn.Close()
		return ErrClosed
	}
	c := newServerConn(s, conn)
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.loop.Context(), cancel)
	defer stop()
	return c.serve(ctx)
}

// Shutdown stops accepting connections, lets the calls in flight finish
// and their replies go out, then closes every connection. Requests not yet
// read are dropped (their callers see the connection close). If ctx ends
// first, Shutdown closes everything as Close does and returns ctx.Err().
// It makes Server a wire.Shutdowner: wire.Mux.Shutdown drains it.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopAndDrain()
	if err := s.loop.Wait(ctx); err != nil {
		s.Close()
		return err
	}
	return nil
}

var _ wire.Shutdowner = (*Server)(nil)

// stopAndDrain is the part of Shutdown that does not wait: no new
// connections, and every connection stops reading requests.
func (s *Server) stopAndDrain() {
	s.loop.StopAccepting()
	s.mu.Lock()
	s.draining = true
	for c := range s.conns {
		c.drain()
	}
	s.mu.Unlock()
}

// Close stops accepting, closes every connection, cancels the contexts of
// the calls in flight and waits for the connections' goroutines (and so
// for the methods running) to return. It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	return s.loop.Close()
}

// WaitTerminate returns nil once a client has called the built-in
// terminate, or ctx.Err() when ctx is done first.
func (s *Server) WaitTerminate(ctx context.Context) error {
	select {
	case <-s.term:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// terminate is the built-in method: it wakes WaitTerminate and shuts the
// server down gracefully (this call's reply has been queued and flushed;
// its connection drains like the others), so Serve returns nil.
func (s *Server) terminate() {
	s.termOnce.Do(func() { close(s.term) })
	s.stopAndDrain()
}

func (s *Server) terminated() bool {
	select {
	case <-s.term:
		return true
	default:
		return false
	}
}
