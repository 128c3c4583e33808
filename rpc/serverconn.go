package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigoco/sigoco/wire"
	"github.com/sigoco/sigoco/wire/auth"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// serverConn is the server side of one connection. One goroutine (serve)
// reads requests. A call to a method without a context runs right there
// when the target is free and calls are serialised: no goroutine, no
// hand-off, and its reply is queued and written when no further request is
// already buffered, so a burst of requests gets one write of replies (a
// timer writes them if a later call of the burst runs long). A
// call with a context, a call in parallel mode, or one that must wait for
// its target runs on its own goroutine, so cancel messages and disconnects
// are still seen while it runs.
type serverConn struct {
	s    *Server
	conn *wire.Conn
	w    *writer
	md   *msgDecoder
	fr   *wire.FrameReader
	name [256]byte       // method name scratch
	in   []reflect.Value // argument scratch for calls run inline

	tgt *target
	obj reflect.Value
	tb  *methodTable
	ctx context.Context // ends with the connection (not when draining)

	// mu guards draining, inflight and the deadlines set on conn.
	mu       sync.Mutex
	draining bool
	inflight map[uint64]context.CancelFunc // calls on their own goroutine, by id
	calls    sync.WaitGroup                // calls running on their own goroutine
	// starting counts the calls started on their own goroutine that have
	// not begun to run: replies about to follow (runCall's yield).
	starting atomic.Int32

	// The read role in parallel mode (serverhandoff.go): handed counts
	// the calls handed off (in flight, guarded by mu); inlineSeq, inlineM
	// and in belong to the goroutine holding the read role; handoff is the
	// watchdog timer (nil unless AllowParallel), watching is set while it
	// is armed or running.
	handed      int
	handoff     *time.Timer
	watching    atomic.Bool
	inline      atomic.Uint64
	inlineStart atomic.Int64 // since monoBase
	inlineSeq   uint64
	inlineM     *method       // the method of the call numbered inline
	following   atomic.Uint64 // the call the watchdog looks at again (its runs only)
	lastEnd     time.Duration // when the last inline call ended; 0 once the reader may have waited
	readEnd     chan error    // the error that ended the last read role

	late      *time.Timer // see flushBehind; set by the reader goroutine
	lateArmed atomic.Bool // late will run
	lateMu    sync.Mutex  // held by the timer's run
	lateDone  bool        // guarded by lateMu: the connection is ending
}

func newServerConn(s *Server, conn net.Conn) *serverConn {
	wc := wire.NewConn(conn)
	c := &serverConn{
		s:        s,
		conn:     wc,
		w:        newWriter(wc, s.opts.MaxFrameSize),
		md:       newMsgDecoder(s.opts.MaxDecodedSize),
		fr:       wc.FrameReader(s.opts.MaxFrameSize),
		inflight: map[uint64]context.CancelFunc{},
		readEnd:  make(chan error, 1),
	}
	if s.opts.AllowParallel {
		c.handoff = time.AfterFunc(time.Hour, c.watchInline)
		c.handoff.Stop() // armed by the calls run inline
	}
	return c
}

// methods is the method table calls of this connection use: the
// target's live one (which AddMethod and RemoveMethod change), or for a
// factory's object the one found at selection.
func (c *serverConn) methods() *methodTable {
	if tb := c.tgt.live.Load(); tb != nil {
		return tb
	}
	return c.tb
}

// decodeID decodes a request id: a non-negative integer. A negative one
// (which msgpack would read as a huge unsigned one) is a protocol error.
func decodeID(md *msgDecoder) (uint64, error) {
	c, err := md.peek()
	if err != nil {
		return 0, fmt.Errorf("%w: request id: %v", errMalformed, err)
	}
	if !isUintCode(c) && c > msgpcode.PosFixedNumHigh {
		n, err := md.d.DecodeInt64()
		if err != nil {
			return 0, fmt.Errorf("%w: request id: %v", errMalformed, err)
		}
		if n < 0 {
			return 0, fmt.Errorf("%w: request id %d is negative", errMalformed, n)
		}
		return uint64(n), nil
	}
	id, err := md.d.DecodeUint64()
	if err != nil {
		return 0, fmt.Errorf("%w: request id: %v", errMalformed, err)
	}
	return id, nil
}

// drain makes the connection stop reading requests; the calls in flight
// finish and their replies go out before it closes.
func (c *serverConn) drain() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.draining = true
	c.conn.SetReadDeadline(time.Now())
}

func (c *serverConn) isDraining() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.draining
}

// drainLinger bounds how long a drained connection waits for its client
// to close before the server closes it.
const drainLinger = 500 * time.Millisecond

func (c *serverConn) serve(parent context.Context) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	c.ctx = ctx
	stop := context.AfterFunc(ctx, func() { c.conn.Close() })
	defer stop()
	defer func() {
		// A drained connection (Shutdown, terminate) ends on the server's
		// initiative: let the client's last bytes arrive rather than reset
		// them (SiPyCo's client sends its close right after terminate). A
		// hard stop has closed the connection already.
		if c.isDraining() && parent.Err() == nil {
			wire.Linger(c.conn, drainLinger)
			return
		}
		c.conn.Close()
	}()

	// Under mu, and not if a drain already came in: drain's deadline must
	// not be overwritten, or Shutdown would wait for the handshake timeout.
	c.mu.Lock()
	if c.draining {
		c.mu.Unlock()
		return nil
	}
	c.conn.SetDeadline(time.Now().Add(c.s.opts.HandshakeTimeout))
	c.mu.Unlock()
	banner, err := c.conn.ReadBanner()
	if err == nil && banner == wire.BannerSiPyCoRPC {
		return c.serveSiPyCo(parent, cancel)
	}
	if err := c.handshake(banner, err); err != nil {
		c.s.opts.Logger.Debug("rpc: handshake failed", "remote", c.conn.RemoteAddr().String(), "err", err)
		return err
	}
	err = c.readLoop()
	if err == errHandedOff {
		err = <-c.readEnd // the reader holding the role has ended
	}
	c.stopLateFlush()
	if c.handoff != nil {
		c.handoff.Stop() // no call runs inline any more: a run does nothing
	}
	draining := c.isDraining()
	if !draining {
		cancel() // the client is gone: cancel its calls
	}
	c.calls.Wait()
	c.w.flush()
	if draining || parent.Err() != nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return nil // an ordinary end
	}
	return err
}

// handshake checks the banner (read by serve, with err the reading's
// error), announces the targets and reads the selection. A failure is
// explained to the client before the caller closes.
func (c *serverConn) handshake(banner string, err error) error {
	if err != nil {
		if errors.Is(err, wire.ErrLineTooLong) {
			c.rejectBanner("banner line too long")
		}
		return err
	}
	if banner != wire.BannerRPC {
		c.rejectBanner(wire.BannerMismatch(banner))
		return fmt.Errorf("%w %q", wire.ErrBadBanner, truncate(banner, 64))
	}
	if err := c.w.send(func(e *msgpack.Encoder) error {
		return encodeHello(e, c.s.opts.Description, c.s.names)
	}); err != nil {
		return err
	}
	frame, err := c.fr.Next()
	if err != nil {
		var ne net.Error
		switch {
		case errors.Is(err, wire.ErrFrameTooLarge):
			c.fatal(err.Error())
		case errors.As(err, &ne) && ne.Timeout() && !c.isDraining():
			c.fatal(fmt.Sprintf("handshake timeout: no target selected within %v", c.s.opts.HandshakeTimeout))
		}
		return err
	}
	c.md.reset(frame)
	n, kind, err := readHeader(c.md)
	if err == nil && (kind != msgSelect || n < 2) {
		err = fmt.Errorf("expected a target selection, got %s message", kindName(kind))
	}
	var name, token string
	if err == nil {
		name, err = c.md.decodeString()
	}
	if err == nil && n >= 3 {
		token, err = c.md.decodeString()
	}
	if err != nil {
		c.fatal("handshake: " + err.Error())
		return err
	}
	if err := c.authenticate(token); err != nil {
		msg := "rpc: " + err.Error()
		if n < 3 {
			msg += " (no token was sent; clients before protocol version 3 cannot send one: upgrade them)"
		}
		c.fatal(msg)
		return err
	}
	tgt := c.s.targets[name]
	if tgt == nil {
		msg := fmt.Sprintf("unknown target %q; this server has: %s", truncate(name, 64), strings.Join(c.s.names, ", "))
		c.fatal(msg)
		return errors.New(msg)
	}
	obj, tb, err := tgt.instance()
	if err != nil {
		c.fatal(fmt.Sprintf("target %q: %v", name, err))
		return err
	}
	c.tgt, c.obj, c.tb = tgt, obj, tb
	if err := c.w.send(func(e *msgpack.Encoder) error { return encodeSelect(e, msgSelected, name) }); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.draining {
		return ErrClosed
	}
	c.conn.SetDeadline(time.Time{})
	return nil
}

// authenticate finds the connection's identity (ServerOptions.Auth) from
// token and its TLS client certificate, and puts it in c.ctx, which every
// call's context derives from.
func (c *serverConn) authenticate(token string) error {
	a := c.s.opts.Auth
	if a == nil {
		return nil
	}
	id, err := a.Authenticate(auth.ConnCredentials(c.conn, token))
	if err != nil {
		c.s.opts.Logger.Warn("rpc: connection refused", "remote", c.conn.RemoteAddr().String(), "err", err)
		return err
	}
	c.ctx = auth.NewContext(c.ctx, id)
	return nil
}

// authorize asks ServerOptions.Authorize about a call of method.
func (c *serverConn) authorize(method string) *RemoteError {
	if c.s.opts.Authorize == nil {
		return nil
	}
	if err := c.s.opts.Authorize(c.ctx, c.tgt.name, method); err != nil {
		return &RemoteError{Type: "PermissionError", Message: err.Error()}
	}
	return nil
}

// rejectBanner answers a connection that does not speak this protocol
// with one text line, as wire.Mux does.
func (c *serverConn) rejectBanner(why string) {
	c.conn.SetWriteDeadline(time.Now().Add(time.Second))
	fmt.Fprintf(c.conn, "SIGOCO error: %s; this port serves: %q, %q\n", why, wire.BannerSiPyCoRPC, wire.BannerRPC)
}

// fatal sends an error message before the connection is closed.
func (c *serverConn) fatal(msg string) {
	c.conn.SetWriteDeadline(time.Now().Add(time.Second))
	c.w.send(func(e *msgpack.Encoder) error { return encodeError(e, msg) })
}

func (c *serverConn) readLoop() error {
	for {
		if !c.fr.Buffered() {
			c.lastEnd = 0 // the next call may come after a wait
			if err := c.w.flush(); err != nil {
				return err
			}
		}
		frame, err := c.fr.Next()
		if err != nil {
			if errors.Is(err, wire.ErrFrameTooLarge) {
				c.w.flush()
				c.fatal(err.Error())
			}
			return err
		}
		if err := c.handle(frame); err != nil {
			if err == errHandedOff {
				return err // the reply is sent; another goroutine reads on
			}
			c.w.flush()
			c.fatal(err.Error())
			return err
		}
	}
}

// handle serves one message. An error is fatal to the connection: the
// message could not even be read far enough to answer it.
func (c *serverConn) handle(frame []byte) error {
	md := c.md
	md.reset(frame)
	n, kind, err := readHeader(md)
	if err != nil {
		return err
	}
	if n < 2 {
		return fmt.Errorf("%w: %s message without an id", errMalformed, kindName(kind))
	}
	id, err := decodeID(md)
	if err != nil {
		return err
	}
	switch kind {
	case msgCall:
		return c.handleCall(md, n, id)
	case msgCancel:
		c.mu.Lock()
		cancel := c.inflight[id] // nil while the call is being admitted
		c.mu.Unlock()
		if cancel != nil {
			cancel()
		}
	case msgMethods:
		info := c.methods().info(c.tgt.name)
		c.queue(id, func(e *msgpack.Encoder) error {
			encodeResultHeader(e, id)
			return e.Encode(info)
		})
	default:
		c.queueFail(id, &RemoteError{Type: TypeBadRequest, Message: "unknown message kind"})
	}
	return nil
}

// flushBehind (serialised targets; in parallel mode the watchdog does it,
// serverhandoff.go) makes sure the replies queued so far go out even if the
// call about to run inline takes long: their callers must not wait for
// it. A timer writes whatever is queued within lateFlushDelay; writing
// here instead would cost a write per call in a burst of quick calls.
// Called by the reader goroutine.
func (c *serverConn) flushBehind() {
	if c.lateArmed.Load() || !c.w.queued() {
		return
	}
	c.lateArmed.Store(true)
	if c.late == nil {
		c.late = time.AfterFunc(lateFlushDelay, func() {
			c.lateArmed.Store(false)
			c.flushLate()
		})
		return
	}
	c.late.Reset(lateFlushDelay)
}

// flushLate writes the queued replies from a timer's run (flushBehind's,
// or the watchdog's in parallel mode), unless the connection is ending.
func (c *serverConn) flushLate() {
	c.lateMu.Lock()
	defer c.lateMu.Unlock()
	if !c.lateDone {
		c.w.flush()
	}
}

// stopLateFlush disarms flushBehind's timer for good; a run already
// started (its or the watchdog's) writes nothing once this returns.
func (c *serverConn) stopLateFlush() {
	c.lateMu.Lock()
	c.lateDone = true
	c.lateMu.Unlock()
	if c.late != nil {
		c.late.Stop()
	}
}

// lateFlushDelay is how long replies may wait behind a call run inline.
const lateFlushDelay = 200 * time.Microsecond

// queue queues a reply (size bytes); if it cannot be encoded the caller
// gets why.
func (c *serverConn) queue(id uint64, fn func(e *msgpack.Encoder) error) (size int) {
	size, err := c.w.queue(fn)
	if err != nil && !isWriteErr(err) {
		c.w.queue(func(e *msgpack.Encoder) error { return encodeFail(e, id, badResult(err)) })
	}
	return size
}

// send is queue for calls on their own goroutine: it also writes. yield
// when other calls' replies may follow at once (writer.sendCtx).
func (c *serverConn) send(id uint64, fn func(e *msgpack.Encoder) error, yield bool) {
	if err := c.w.sendCtx(context.Background(), fn, yield); err != nil && !isWriteErr(err) {
		c.w.send(func(e *msgpack.Encoder) error { return encodeFail(e, id, badResult(err)) })
	}
}

func (c *serverConn) queueFail(id uint64, re *RemoteError) {
	c.s.opts.Logger.Debug("rpc: request failed", "target", c.tgt.name, "type", re.Type, "message", re.Message)
	c.w.queue(func(e *msgpack.Encoder) error { return encodeFail(e, id, re) })
}

func badResult(err error) *RemoteError {
	return &RemoteError{Type: TypeBadResult, Message: "cannot send the result: " + err.Error()}
}

func (c *serverConn) unknownMethod(name string) *RemoteError {
	return unknownMethod(c.methods(), c.tgt.name, name)
}

// errorToRemote describes an error returned by a method.
func errorToRemote(err error) *RemoteError {
	var re *RemoteError
	switch {
	case errors.As(err, &re):
		return re // e.g. a proxied call's remote error, passed on as it is
	case errors.Is(err, context.Canceled):
		return &RemoteError{Type: TypeCanceled, Message: err.Error()}
	case errors.Is(err, context.DeadlineExceeded):
		return &RemoteError{Type: TypeDeadlineExceeded, Message: err.Error()}
	}
	// The classes SiPyCo callers get, so that native callers can match
	// the sentinels (errors.Is(err, rpc.ErrValue)) on their side too.
	var pc pythonClasser
	if errors.As(err, &pc) && pyBuiltins[pc.PythonClass()] {
		return &RemoteError{Type: pc.PythonClass(), Message: err.Error()}
	}
	if cls, msg, ok := sentinelClass(err); ok {
		return &RemoteError{Type: cls, Message: msg}
	}
	typ := reflect.TypeOf(err).String()
	switch typ {
	case "*errors.errorString", "*fmt.wrapError", "*fmt.wrapErrors", "*errors.joinError":
		typ = "error"
	}
	return &RemoteError{Type: strings.TrimPrefix(typ, "*"), Message: err.Error()}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
