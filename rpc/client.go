package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/wire"
	"github.com/sigoco/sigoco/wire/auth"
	"github.com/vmihailenco/msgpack/v5"
)

// ClientOptions configures a Client. The zero value is valid.
type ClientOptions struct {
	// TLS, if set, makes the connection TLS (see wire.TLSConfig.Client).
	// Default: plain TCP.
	TLS *tls.Config
	// MaxFrameSize bounds every message in both directions.
	// Default wire.DefaultMaxFrameSize.
	MaxFrameSize int
	// HandshakeTimeout bounds the handshake when the Dial context has no
	// deadline. Default wire.DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// Logger receives debug records. Default: records are discarded.
	Logger *slog.Logger
	// Limits bound the values the client decodes from replies (pyon's
	// limits, on both protocols). Zero fields take defaults tied to
	// MaxFrameSize, so that whatever fits in a frame is accepted:
	// MaxElements max(pyon's 16 Mi, MaxFrameSize) (a numpy array of
	// MaxFrameSize one-byte elements), MaxDecodedSize max(pyon's 512 MiB,
	// 8×MaxFrameSize); MaxIntDigits pyon's 4300 (Python's own limit);
	// MaxDepth pyon's 1000 on the native protocol (SiPyCo's lines nest up
	// to encoding/json's 10000).
	Limits pyon.Limits
	// Protocol selects sigoco's native protocol, SiPyCo's pc_rpc (to call
	// SiPyCo's Python servers), or either. Default ProtocolAuto: native,
	// falling back to SiPyCo's when the server refuses the native banner
	// as SiPyCo servers do. Over SiPyCo's protocol calls are serialised
	// (one at a time per connection), deadlines do not travel, and a call
	// whose context ends returns at once and closes the connection (the
	// next call connects again); see docs/sipyco.md.
	Protocol Protocol
	// Token is sent to the server to authenticate (docs/security.md):
	// in the native selection (servers of protocol version 3 and later),
	// or in a "SIGOCO token" line before the target line of SiPyCo's
	// protocol, which SiPyCo's clients never send (so send none to
	// SiPyCo's own servers: they would take it for a target). Default:
	// $SIGOCO_TOKEN (auth.EnvToken); no token when that is empty too.
	Token string
}

// Kwargs, as the last argument of a call, is sent as keyword arguments:
// they bind to parameters by name (when the server has generated docs) or
// fill the fields of a trailing options-struct parameter by snake_case name.
type Kwargs map[string]any

// Client is a connection to one target of a server. It is safe for use by
// many goroutines at once: their calls are pipelined on the connection,
// each with its own id, and their replies may come back in any order.
type Client struct {
	conn    *wire.Conn
	opts    ClientOptions
	addr    string
	w       *writer
	targets []string
	desc    string
	version int // the server's protocol version (native)

	// mu guards the fields from here to closeOnce (readers counts the
	// reader goroutines and is not guarded by it).
	mu          sync.Mutex
	target      string
	selecting   bool
	nextID      uint64
	pending     map[uint64]*call
	reading     bool          // some goroutine holds the read role
	tenure      uint64        // counts read-role tenures, see lead
	interrupted bool          // a read deadline was set to interrupt a leader
	err         error         // why the connection is unusable, once it is
	lost        chan struct{} // closed when err is set (native protocol)
	watchers    int           // Wait calls keeping a reader on the connection
	readers     sync.WaitGroup
	closeOnce   sync.Once

	// woken counts the calls finished (a reply delivered, or failed) whose
	// callers have not yet taken the result: callers that are about to
	// run, and may send again at once (do's yield).
	woken atomic.Int32

	// Owned by whoever holds the read role.
	fr *wire.FrameReader
	md *msgDecoder

	sp *sipycoClient // non-nil when the client speaks SiPyCo's protocol
}

// Dial connects to the server at addr and selects target. An empty target
// selects the only one the server has (ErrAmbiguousTarget, listing the
// names, if it has several). An unknown target is an error wrapping
// ErrIncompatibleServer that lists the valid names. ctx bounds the
// connection and the handshake.
func Dial(ctx context.Context, addr, target string, opts ClientOptions) (*Client, error) {
	c, err := DialNoSelect(ctx, addr, opts)
	if err != nil {
		return nil, err
	}
	return c.selectOrClose(ctx, target)
}

// selectOrClose selects target (the only one if target is ""), closing
// the client if that fails.
func (c *Client) selectOrClose(ctx context.Context, target string) (*Client, error) {
	if target == "" {
		switch len(c.targets) {
		case 1:
			target = c.targets[0]
		default:
			c.Close()
			return nil, fmt.Errorf("%w: %s", ErrAmbiguousTarget, strings.Join(c.targets, ", "))
		}
	}
	if err := c.SelectTarget(ctx, target); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// DialNoSelect connects without selecting a target: Targets and
// Description are known, and SelectTarget must be called before any call.
// The server closes a connection that selects nothing within its handshake
// timeout.
func DialNoSelect(ctx context.Context, addr string, opts ClientOptions) (*Client, error) {
	opts = opts.withDefaults()
	if opts.Protocol == ProtocolSiPyCo {
		return dialSiPyCo(ctx, addr, opts)
	}
	conn, err := wire.Dial(ctx, addr, opts.TLS, wire.BannerRPC)
	if err != nil {
		return nil, fmt.Errorf("rpc: %w", err)
	}
	c := newNativeClient(conn, addr, opts)
	if err := c.handshakeIO(ctx, c.readHello); err != nil {
		conn.Close()
		if opts.Protocol == ProtocolAuto && errors.Is(err, errSilentClose) {
			opts.Logger.Debug("rpc: native handshake refused; trying SiPyCo's protocol", "addr", addr, "err", err)
			sc, serr := dialSiPyCo(ctx, addr, opts)
			if serr != nil {
				return nil, fmt.Errorf("%w; with SiPyCo's protocol: %w", err, serr)
			}
			return sc, nil
		}
		return nil, err
	}
	return c, nil
}

// withDefaults fills in the documented defaults.
func (opts ClientOptions) withDefaults() ClientOptions {
	if opts.MaxFrameSize <= 0 {
		opts.MaxFrameSize = wire.DefaultMaxFrameSize
	}
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = wire.DefaultHandshakeTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Token == "" {
		opts.Token = os.Getenv(auth.EnvToken)
	}
	if opts.Limits.MaxElements <= 0 {
		opts.Limits.MaxElements = max(pyon.DefaultLimits.MaxElements, opts.MaxFrameSize)
	}
	if opts.Limits.MaxDecodedSize == 0 {
		opts.Limits.MaxDecodedSize = max(pyon.DefaultLimits.MaxDecodedSize, 8*int64(opts.MaxFrameSize))
	}
	return opts
}

// newNativeClient makes a client of the native protocol on conn, whose
// banner is written; the hello is still to be read.
func newNativeClient(conn *wire.Conn, addr string, opts ClientOptions) *Client {
	c := &Client{
		conn:    conn,
		opts:    opts,
		addr:    addr,
		w:       newWriter(conn, opts.MaxFrameSize),
		pending: map[uint64]*call{},
		lost:    make(chan struct{}),
		fr:      conn.FrameReader(opts.MaxFrameSize),
		md:      newMsgDecoder(0),
	}
	c.md.pd.Limits = opts.Limits
	c.md.d.DisallowUnknownFields(false) // newer servers may send more
	return c
}

// handshakeIO runs fn with the connection's deadline set from ctx (or the
// handshake timeout) and interrupted when ctx ends.
func (c *Client) handshakeIO(ctx context.Context, fn func() error) error {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(c.opts.HandshakeTimeout)
	}
	c.conn.SetDeadline(dl)
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		c.conn.SetDeadline(time.Unix(1, 0)) // interrupt fn
		close(fired)
	})
	err := fn()
	if !stop() {
		<-fired // so that the reset below comes after it
		if err == nil {
			err = ctx.Err()
		} else {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
	}
	c.conn.SetDeadline(time.Time{})
	return err
}

func (c *Client) readHello() error {
	// A server that does not accept the banner says why in one text line.
	b, err := c.conn.R.Peek(4)
	if err == nil && string(b) == "SIGO" {
		line, _ := wire.ReadLine(c.conn.R, wire.MaxBannerLen)
		if refusalOffersSiPyCo(line) {
			return fmt.Errorf("%w (%s)", errSilentClose, line)
		}
		return fmt.Errorf("%w: %s", ErrIncompatibleServer, line)
	}
	if len(b) == 0 && isSilentClose(err) {
		if c.opts.TLS != nil && (len(c.opts.TLS.Certificates) > 0 || c.opts.TLS.GetClientCertificate != nil) {
			// Over TLS 1.3 a server that refuses the client's certificate
			// closes after the client's side of the handshake has completed.
			return fmt.Errorf("%w (%v; over TLS this is also how a sigoco or SiPyCo server refuses a client certificate it does not trust)", errSilentClose, err)
		}
		return fmt.Errorf("%w (%v)", errSilentClose, err)
	}
	md, kind, err := c.readHandshakeFrame()
	if err != nil {
		return err
	}
	if kind != msgHello {
		return fmt.Errorf("%w: expected a hello, got %s message", ErrIncompatibleServer, kindName(kind))
	}
	var version int
	if version, err = md.d.DecodeInt(); err == nil {
		if c.desc, err = md.decodeString(); err == nil {
			var n int
			if n, err = md.arrayLen(); err == nil {
				for i := 0; i < n && err == nil; i++ {
					var t string
					t, err = md.decodeString()
					c.targets = append(c.targets, t)
				}
			}
		}
	}
	if err != nil {
		return fmt.Errorf("%w: malformed hello: %v", ErrIncompatibleServer, err)
	}
	if version < 1 {
		return fmt.Errorf("%w: protocol version %d", ErrIncompatibleServer, version)
	}
	c.version = version
	return nil
}

// readHandshakeFrame reads one message during the handshake; an error
// message from the server becomes an ErrIncompatibleServer error.
func (c *Client) readHandshakeFrame() (*msgDecoder, int, error) {
	frame, err := c.fr.Next()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, 0, fmt.Errorf("%w: the server closed the connection (%v)", ErrIncompatibleServer, err)
		}
		if errors.Is(err, wire.ErrFrameTooLarge) {
			return nil, 0, fmt.Errorf("%w: %v", ErrIncompatibleServer, err)
		}
		return nil, 0, fmt.Errorf("rpc: handshake with %s: %w", c.addr, err)
	}
	md := c.md
	md.reset(frame)
	n, kind, err := readHeader(md)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrIncompatibleServer, err)
	}
	if kind == msgError && n >= 2 {
		msg, _ := md.decodeString()
		return nil, 0, fmt.Errorf("%w: %w", ErrIncompatibleServer, auth.MessageError(msg))
	}
	return md, kind, nil
}

// SelectTarget selects the target that calls go to. It is done once per
// connection. An unknown name is an error wrapping ErrIncompatibleServer
// that lists the valid names.
func (c *Client) SelectTarget(ctx context.Context, name string) error {
	c.mu.Lock()
	if c.target != "" || c.selecting {
		c.mu.Unlock()
		return fmt.Errorf("rpc: target already selected")
	}
	if c.err != nil {
		c.mu.Unlock()
		return c.err
	}
	c.selecting = true
	c.mu.Unlock()
	err := c.selectTarget(ctx, name)
	c.mu.Lock()
	c.selecting = false
	if err == nil {
		c.target = name
	}
	c.mu.Unlock()
	return err
}

func (c *Client) selectTarget(ctx context.Context, name string) error {
	if c.sp != nil {
		return c.sp.selectTarget(ctx, name, c.targets)
	}
	if !slices.Contains(c.targets, name) {
		return fmt.Errorf("%w: no target %q at %s; it has: %s", ErrIncompatibleServer, name, c.addr, strings.Join(c.targets, ", "))
	}
	tok := c.opts.Token
	if c.version < 3 {
		tok = "" // a server before version 3 takes no token
	}
	if err := c.w.send(func(e *msgpack.Encoder) error { return encodeSelectToken(e, name, tok) }); err != nil {
		return err
	}
	return c.handshakeIO(ctx, func() error { return c.readSelected(name) })
}

// readSelected reads the server's answer to the selection of name.
func (c *Client) readSelected(name string) error {
	md, kind, err := c.readHandshakeFrame()
	if err != nil {
		return err
	}
	if kind != msgSelected {
		return fmt.Errorf("%w: expected a selection, got %s message", ErrIncompatibleServer, kindName(kind))
	}
	if got, err := md.decodeString(); err != nil || got != name {
		return fmt.Errorf("%w: selection of %q answered with %q", ErrIncompatibleServer, name, truncate(got, 64))
	}
	return nil
}

// Targets returns the target names the server announced.
func (c *Client) Targets() []string { return append([]string(nil), c.targets...) }

// Description returns the server's description.
func (c *Client) Description() string { return c.desc }

// Target returns the selected target, "" if none.
func (c *Client) Target() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.target
}

// Call calls method with args and returns its result decoded untyped (see
// CallInto for typed results), in the value model (docs/protocol.md
// "Values"): nil, bool, int64 (uint64 or *big.Int beyond it), float64,
// string, []byte, []any (packed arrays too), map[string]any (pyon.Dict
// when a key is not a string), pyon.Tuple, pyon.Set, complex128,
// pyon.Fraction, pyon.NDArray, pyon.NPScalar, pyon.OrderedDict and
// pyon.Slice. From a SiPyCo server: the values pyon.Decode gives (the
// same, with *big.Int for every int beyond int64, *pyon.Fraction, and no
// frozenset). Structs arrive as map[string]any. Arguments of any type are
// sent in the same model. If the last argument is a Kwargs it is sent as
// keyword arguments. An error returned or raised by the method is a
// *RemoteError; a context that ends returns ctx.Err() at once (and the
// server cancels the method's context); a lost connection fails with an
// error wrapping net.ErrClosed and the cause.
func (c *Client) Call(ctx context.Context, method string, args ...any) (any, error) {
	cl := getCall()
	cl.untyped = true
	cl.method = method
	err := c.do(ctx, cl, msgCall, args)
	res := cl.res
	putCall(cl)
	return res, err
}

// CallInto is Call with the result decoded straight into result, a
// non-nil pointer (or nil to discard the result). From a SiPyCo server, a
// result type holding a pyon.OrderedDict gets Python's dicts in their
// key order (the reply is decoded keeping it; nested dicts are
// OrderedDicts too).
func (c *Client) CallInto(ctx context.Context, result any, method string, args ...any) error {
	if result != nil {
		if rv := reflect.ValueOf(result); rv.Kind() != reflect.Ptr || rv.IsNil() {
			return fmt.Errorf("rpc: CallInto needs a non-nil pointer, not %T", result)
		}
	}
	cl := getCall()
	cl.into = result
	cl.method = method
	err := c.do(ctx, cl, msgCall, args)
	putCall(cl)
	return err
}

// ListMethods describes the selected target and its methods.
func (c *Client) ListMethods(ctx context.Context) (*TargetInfo, error) {
	info := &TargetInfo{}
	cl := getCall()
	cl.into = info
	cl.method = "list-methods"
	err := c.do(ctx, cl, msgMethods, nil)
	putCall(cl)
	if err != nil {
		return nil, err
	}
	return info, nil
}

// Terminate calls the server's built-in terminate method (see
// ServerOptions.BuiltinTerminate).
func (c *Client) Terminate(ctx context.Context) error {
	return c.CallInto(ctx, nil, terminateMethod)
}

// Close closes the connection; calls in flight fail with an error wrapping
// ErrClosed. It waits for the client's goroutines and is idempotent.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		if c.sp != nil {
			c.sp.close()
			return
		}
		c.fail(&connLostError{why: "client closed"})
	})
	c.readers.Wait()
	return nil
}

// do sends one request and waits for its reply.
func (c *Client) do(ctx context.Context, cl *call, kind int, args []any) error {
	if c.sp != nil {
		return c.sp.do(ctx, cl, kind, args)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var timeout int64
	if dl, ok := ctx.Deadline(); ok {
		if timeout = int64(time.Until(dl)); timeout <= 0 {
			return context.DeadlineExceeded
		}
	}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return c.err
	}
	if c.target == "" {
		c.mu.Unlock()
		return ErrNoTarget
	}
	c.nextID++
	id := c.nextID
	cl.id = id
	c.pending[id] = cl
	c.mu.Unlock()
	// Callers woken by replies that have not yet come back from do: they
	// may be about to send too, and their frames can join this write
	// (writer.sendCtx). Not merely calls in flight: a caller that yields
	// waits a turn of the scheduler, long on a saturated machine, so only
	// when others are about to send.
	others := c.woken.Load() > 0

	// The write is interrupted if ctx ends while it blocks (a server that
	// does not read), which breaks the connection but returns at once.
	err := c.w.sendCtx(ctx, func(e *msgpack.Encoder) error {
		if kind == msgCall {
			return encodeCall(e, id, cl.method, args, timeout)
		}
		return encodeID(e, kind, id)
	}, others)
	if err != nil {
		if isWriteErr(err) {
			c.fail(err)
			err = c.waitDone(cl)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		c.mu.Lock()
		delete(c.pending, id)
		if cl.done { // failed meanwhile with the connection
			c.woken.Add(-1)
		}
		c.mu.Unlock()
		return err // could not encode: nothing was sent
	}
	return c.wait(ctx, cl)
}

// waitDone waits for a call already failed or being delivered.
func (c *Client) waitDone(cl *call) error {
	<-cl.ch
	c.woken.Add(-1)
	return cl.err
}

// sendCancel tells the server to cancel the context of call id.
func (c *Client) sendCancel(id uint64) {
	c.w.send(func(e *msgpack.Encoder) error { return encodeID(e, msgCancel, id) })
}

// abandon removes a call whose context ended from the pending calls. It
// returns false if the reply is being delivered right now.
func (c *Client) abandon(cl *call) bool {
	c.mu.Lock()
	_, ok := c.pending[cl.id]
	delete(c.pending, cl.id)
	c.mu.Unlock()
	if ok {
		c.sendCancel(cl.id)
	}
	return ok
}

// fail makes the client unusable and fails every pending call with err.
func (c *Client) fail(err error) {
	var cle *connLostError
	if !errors.As(err, &cle) {
		err = &connLostError{why: "connection lost", cause: err}
	}
	c.mu.Lock()
	if c.err == nil {
		c.err = err
		close(c.lost)
	}
	for id, cl := range c.pending {
		cl.err = c.err
		c.woken.Add(1)
		cl.finish()
		delete(c.pending, id)
	}
	c.mu.Unlock()
	c.conn.Close()
}

// call is one request waiting for its reply. Calls are pooled.
type call struct {
	id      uint64
	method  string
	untyped bool // decode the result into res
	res     any
	into    any // *T for CallInto, or nil
	err     error
	done    bool          // guarded by Client.mu
	ch      chan struct{} // receives one token when done (cap 1)
}

// finish marks the call done; called with Client.mu held.
func (cl *call) finish() {
	cl.done = true
	select {
	case cl.ch <- struct{}{}:
	default:
	}
}

var callPool = sync.Pool{New: func() any { return &call{ch: make(chan struct{}, 1)} }}

func getCall() *call { return callPool.Get().(*call) }

func putCall(cl *call) {
	select { // a leader's own token, never received
	case <-cl.ch:
	default:
	}
	*cl = call{ch: cl.ch}
	callPool.Put(cl)
}
