package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sigoco/sigoco/internal/snake"
	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/wire"
	"github.com/sigoco/sigoco/wire/auth"
)

// Protocol is the protocol a Client speaks (ClientOptions.Protocol).
type Protocol = wire.Protocol

const (
	// ProtocolAuto speaks sigoco's native protocol, and falls back to
	// SiPyCo's when the server refuses the native banner the way a SiPyCo
	// server does: by closing the connection without a word (or, for a
	// sigoco wire.Mux, by naming only "ARTIQ pc_rpc" among its banners).
	// The fallback costs one extra connection.
	ProtocolAuto = wire.ProtocolAuto
	// ProtocolNative speaks only sigoco's protocol ("SIGOCO rpc 1").
	ProtocolNative = wire.ProtocolNative
	// ProtocolSiPyCo speaks only SiPyCo's pc_rpc ("ARTIQ pc_rpc"), the
	// protocol of SiPyCo's Python servers (ARTIQ controllers).
	ProtocolSiPyCo = wire.ProtocolSiPyCo
)

// Protocol returns the protocol the client speaks: ProtocolNative or
// ProtocolSiPyCo (after an automatic fallback too).
func (c *Client) Protocol() Protocol {
	if c.sp != nil {
		return ProtocolSiPyCo
	}
	return ProtocolNative
}

// errSilentClose is a server that closed the connection on the native
// banner without a word, as SiPyCo servers do.
var errSilentClose = fmt.Errorf("%w: %w", ErrIncompatibleServer, wire.ErrClosedSilently)

// isSilentClose reports whether a read that got no byte at all ended the
// way a peer closing the connection ends it.
func isSilentClose(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

// refusalOffersSiPyCo reports whether a "SIGOCO error: ... this port
// serves: ..." line names SiPyCo's banner but not ours.
func refusalOffersSiPyCo(line string) bool {
	_, serves, ok := strings.Cut(line, "this port serves")
	return ok && strings.Contains(serves, `"`+wire.BannerSiPyCoRPC+`"`) && !strings.Contains(serves, `"`+wire.BannerRPC+`"`)
}

// sipycoClient is the SiPyCo side of a Client. SiPyCo answers one request
// at a time per connection and has no request ids, no cancel and no
// deadlines: calls are serialised, and a call whose context ends returns
// at once and leaves the connection behind (closed); the next call
// connects again and selects the same target.
type sipycoClient struct {
	addr string
	opts ClientOptions
	sem  chan struct{} // held by the call or selection in progress

	// Guarded by sem.
	conn    *wire.Conn
	target  string
	methods map[string]bool
	redial  bool // the connection was left behind by an abandoned call
	tokenOK bool // the server takes a token line (a sigoco server with ServerOptions.Auth)
	in, out []byte

	local atomic.Value // localAddr: the local end of the latest connection

	mu     sync.Mutex // guards closed and err, and the closing of conn
	closed bool
	err    error // why the client cannot be used, once it cannot
}

// dialSiPyCo connects to a SiPyCo server and reads its identification.
func dialSiPyCo(ctx context.Context, addr string, opts ClientOptions) (*Client, error) {
	sp := &sipycoClient{addr: addr, opts: opts, sem: make(chan struct{}, 1)}
	conn, targets, desc, err := sp.connect(ctx)
	if err != nil {
		return nil, err
	}
	sp.conn = conn
	return &Client{opts: opts, addr: addr, targets: targets, desc: desc, sp: sp}, nil
}

// connect dials, sends the banner and reads the identification line.
func (sp *sipycoClient) connect(ctx context.Context) (conn *wire.Conn, targets []string, desc string, err error) {
	conn, err = wire.Dial(ctx, sp.addr, sp.opts.TLS, wire.BannerSiPyCoRPC)
	if err != nil {
		return nil, nil, "", fmt.Errorf("rpc: %w", err)
	}
	sp.local.Store(localAddr{conn.LocalAddr()})
	err = sp.io(ctx, conn, true, func() error {
		line, err := readLineLimit(conn.R, nil, sp.opts.MaxFrameSize)
		if err != nil {
			return sp.handshakeErr(err)
		}
		id, err := pyon.DecodeWith(line, pyon.DecodeOptions{Limits: sp.opts.Limits})
		m, ok := id.(map[string]any)
		if err != nil || !ok {
			return fmt.Errorf("%w: not a SiPyCo identification: %s", ErrIncompatibleServer, truncate(string(line), 64))
		}
		if !slices.Contains(toStrings(m["features"]), sipycoFeature) {
			return fmt.Errorf("%w: the server does not offer PYON v2 (feature %q); %w", ErrIncompatibleServer, sipycoFeature, pyon.ErrV1)
		}
		targets = toStrings(m["targets"])
		desc, _ = m["description"].(string)
		sp.tokenOK = slices.Contains(toStrings(m["features"]), sipycoTokenFeature)
		return nil
	})
	if err != nil {
		conn.Close()
		return nil, nil, "", err
	}
	return conn, targets, desc, nil
}

func (sp *sipycoClient) handshakeErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: the server closed the connection (%v)", ErrIncompatibleServer, err)
	}
	return fmt.Errorf("rpc: handshake with %s: %w", sp.addr, err)
}

func toStrings(v any) []string {
	var items []any
	switch x := v.(type) {
	case []any:
		items = x
	case pyon.Tuple:
		items = x
	case pyon.Set:
		items = x.Items
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		if s, ok := it.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// io runs fn with conn's deadline from ctx (or the handshake timeout for a
// handshake) and interrupts it when ctx ends. After an interrupted fn the
// connection is in an unknown state: the caller leaves it.
func (sp *sipycoClient) io(ctx context.Context, conn *wire.Conn, handshake bool, fn func() error) error {
	dl, ok := ctx.Deadline()
	fromCtx := ok
	if !ok && handshake {
		dl, ok = time.Now().Add(sp.opts.HandshakeTimeout), true
	}
	if ok {
		conn.SetDeadline(dl)
	}
	var fired chan struct{}
	var stop func() bool
	if ctx.Done() != nil {
		fired = make(chan struct{})
		stop = context.AfterFunc(ctx, func() {
			conn.SetDeadline(time.Unix(1, 0))
			close(fired)
		})
	}
	err := fn()
	if stop != nil && !stop() {
		<-fired // so that the reset below comes after it
		if err != nil || handshake {
			err = ctx.Err()
		}
	}
	if err != nil && isTimeout(err) {
		switch {
		case ctx.Err() != nil:
			err = ctx.Err()
		case fromCtx && !time.Now().Before(dl):
			// The socket deadline, set from ctx's, fired first.
			err = context.DeadlineExceeded
		}
	}
	conn.SetDeadline(time.Time{})
	return err
}

// acquire takes the right to use the connection, or gives up with ctx.
func (sp *sipycoClient) acquire(ctx context.Context) error {
	select {
	case sp.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (sp *sipycoClient) release() { <-sp.sem }

// usable returns the connection, connecting again after an abandoned
// call. Called with sem held.
func (sp *sipycoClient) usable(ctx context.Context) (*wire.Conn, error) {
	sp.mu.Lock()
	err := sp.err
	sp.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if !sp.redial {
		return sp.conn, nil
	}
	conn, _, _, err := sp.connect(ctx)
	if err == nil && sp.target != "" {
		_, err = sp.selectOn(ctx, conn, sp.target)
		if err != nil {
			conn.Close()
		}
	}
	if err != nil {
		// The call's context ending (its deadline, at any step of the
		// reconnection: a dial timeout is "i/o timeout", a read's is
		// os.ErrDeadlineExceeded) fails this call only; the next call
		// connects again.
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
			if _, ok := ctx.Deadline(); ok {
				return nil, context.DeadlineExceeded
			}
		}
		return nil, sp.lost(fmt.Errorf("reconnecting after an abandoned call: %w", err))
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.err != nil { // closed meanwhile
		conn.Close()
		return nil, sp.err
	}
	sp.conn, sp.redial = conn, false
	return conn, nil
}

// lost makes the client unusable (a lost connection, or a reply that makes
// no sense) and returns why, wrapping net.ErrClosed.
func (sp *sipycoClient) lost(err error) error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.err == nil {
		sp.err = &connLostError{why: "connection lost", cause: err}
	}
	if sp.conn != nil {
		sp.conn.Close()
	}
	return sp.err
}

// abandon leaves the connection of a call whose context ended: its reply
// would still come on it. Called with sem held.
func (sp *sipycoClient) abandon() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.conn.Close()
	sp.redial = true
}

func (sp *sipycoClient) close() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if !sp.closed {
		sp.closed = true
		if sp.err == nil {
			sp.err = &connLostError{why: "client closed"}
		}
		sp.conn.Close()
	}
}

// selectTarget sends the target line and reads the method names.
func (sp *sipycoClient) selectTarget(ctx context.Context, name string, targets []string) error {
	if !slices.Contains(targets, name) {
		return fmt.Errorf("%w: no target %q at %s; it has: %s", ErrIncompatibleServer, name, sp.addr, strings.Join(targets, ", "))
	}
	if err := sp.acquire(ctx); err != nil {
		return err
	}
	defer sp.release()
	conn, err := sp.usable(ctx)
	if err != nil {
		return err
	}
	methods, err := sp.selectOn(ctx, conn, name)
	if err != nil {
		return err
	}
	sp.target, sp.methods = name, methods
	return nil
}

func (sp *sipycoClient) selectOn(ctx context.Context, conn *wire.Conn, name string) (map[string]bool, error) {
	methods := map[string]bool{}
	err := sp.io(ctx, conn, true, func() error {
		sel := name + " " + sipycoFeature + "\n"
		if sp.tokenOK && sp.opts.Token != "" && !strings.ContainsAny(sp.opts.Token, "\r\n") {
			sel = tokenLinePrefix + sp.opts.Token + "\n" + sel
		}
		if _, err := io.WriteString(conn, sel); err != nil {
			return err
		}
		line, err := readLineLimit(conn.R, nil, sp.opts.MaxFrameSize)
		if err != nil {
			return sp.handshakeErr(err)
		}
		if msg, ok := strings.CutPrefix(string(line), "SIGOCO error: "); ok {
			return fmt.Errorf("%w: %w", ErrIncompatibleServer, auth.MessageError(strings.TrimSpace(msg)))
		}
		v, err := pyon.DecodeWith(line, pyon.DecodeOptions{Limits: sp.opts.Limits})
		if err != nil {
			return fmt.Errorf("%w: selecting %q: %v", ErrIncompatibleServer, name, err)
		}
		for _, m := range toStrings(v) {
			methods[m] = true
		}
		return nil
	})
	return methods, err
}

// resolve finds the name SiPyCo knows a method by: as given, or the Go
// name in snake_case. "" if the target has no such method.
func (sp *sipycoClient) resolve(name string) string {
	switch {
	case sp.methods[name]:
		return name
	case sp.methods[snake.Case(name)]:
		return snake.Case(name)
	}
	return ""
}

// do makes one request: a call, or the method list (kind msgMethods).
func (sp *sipycoClient) do(ctx context.Context, cl *call, kind int, args []any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := sp.acquire(ctx); err != nil {
		return err
	}
	defer sp.release()
	conn, err := sp.usable(ctx)
	if err != nil {
		return err
	}
	if sp.target == "" {
		return ErrNoTarget
	}
	req := map[string]any{"action": "get_rpc_method_list"}
	unlisted := false // a call to a method the selection did not list
	if kind == msgCall {
		name := sp.resolve(cl.method)
		if name == "" {
			// Not listed when the target was selected: it may have been
			// added since (Server.AddMethod); the server decides.
			name, unlisted = cl.method, true
		}
		kw := map[string]any{}
		if n := len(args); n > 0 {
			if k, ok := args[n-1].(Kwargs); ok {
				kw, args = k, args[:n-1]
			}
		}
		if args == nil {
			args = []any{}
		}
		req = map[string]any{"action": "call", "name": name, "args": pyon.Tuple(args), "kwargs": kw}
	}
	out, err := pyon.Append(sp.out[:0], req)
	if err != nil {
		return fmt.Errorf("rpc: %s: %w", cl.method, err) // nothing was sent
	}
	if len(out) > sp.opts.MaxFrameSize {
		return fmt.Errorf("rpc: %s: %w", cl.method, &wire.FrameTooLargeError{Size: uint64(len(out)), Limit: sp.opts.MaxFrameSize})
	}
	out = append(out, '\n')
	var line []byte
	err = sp.io(ctx, conn, false, func() error {
		if _, err := conn.Write(out); err != nil {
			return err
		}
		line, err = readLineLimit(conn.R, sp.in, sp.opts.MaxFrameSize)
		return err
	})
	sp.out = keepBuffer(out)
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			sp.abandon()
			return err
		}
		return sp.lost(err)
	}
	defer func() { sp.in = keepBuffer(line) }()
	// A caller asking for an OrderedDict gets Python's key order: the
	// reply is decoded keeping it.
	do := pyon.DecodeOptions{Limits: sp.opts.Limits, KeepOrder: cl.into != nil && !cl.untyped && wantsOrder(reflect.TypeOf(cl.into))}
	ret, rerr, err := decodeSiPyCoReply(line, do)
	if err != nil {
		return sp.lost(err)
	}
	if rerr != nil {
		if unlisted && rerr.Type == "AttributeError" {
			// What SiPyCo answers for a method its target lacks.
			return &RemoteError{Type: TypeUnknownMethod, Message: fmt.Sprintf("unknown method %q of target %q", truncate(cl.method, 64), sp.target), Traceback: rerr.Traceback}
		}
		return rerr
	}
	switch {
	case kind == msgMethods:
		info, err := sipycoTargetInfo(sp.target, ret)
		if err != nil {
			return fmt.Errorf("rpc: list-methods: %w", err)
		}
		*cl.into.(*TargetInfo) = *info
	case cl.untyped:
		cl.res = ret
	case cl.into != nil:
		if err := pyon.Convert(ret, cl.into); err != nil {
			return fmt.Errorf("rpc: %s: result: %w", cl.method, err)
		}
	}
	return nil
}

// decodeSiPyCoReply takes a reply line apart: the result, or the remote
// exception as a *RemoteError whose Type is the Python class. err is a
// reply that is not one.
func decodeSiPyCoReply(line []byte, o pyon.DecodeOptions) (ret any, rerr *RemoteError, err error) {
	v, err := pyon.DecodeWith(line, o)
	if err != nil {
		return nil, nil, fmt.Errorf("malformed reply: %w", err)
	}
	m := stringMap(v)
	switch m["status"] {
	case "ok":
		return m["ret"], nil, nil
	case "failed":
		exc := stringMap(m["exception"])
		cls, _ := exc["class"].(string)
		msg, _ := exc["message"].(string)
		if cls == "" {
			return nil, nil, fmt.Errorf("malformed reply: a failure without an exception class")
		}
		return nil, &RemoteError{Type: cls, Message: msg, Traceback: strings.Join(toStrings(exc["traceback"]), "")}, nil
	}
	return nil, nil, fmt.Errorf("malformed reply: no status ok or failed: %s", truncate(string(line), 64))
}

// stringMap returns a dict with string keys as a map, whether decoded as
// one or, keeping the order, as an OrderedDict; nil for anything else.
func stringMap(v any) map[string]any {
	switch x := v.(type) {
	case map[string]any:
		return x
	case pyon.OrderedDict:
		m := make(map[string]any, len(x))
		for _, it := range x {
			if k, ok := it.Key.(string); ok {
				m[k] = it.Value
			}
		}
		return m
	}
	return nil
}

var orderedDictType = reflect.TypeFor[pyon.OrderedDict]()

// wantsOrder reports whether a value of type t (a CallInto destination)
// holds a pyon.OrderedDict anywhere: then a reply is decoded keeping the
// order of Python's dicts.
func wantsOrder(t reflect.Type) bool {
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type) bool
	walk = func(t reflect.Type) bool {
		if t == nil || seen[t] {
			return false
		}
		seen[t] = true
		switch {
		case t == orderedDictType:
			return true
		case t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
			return walk(t.Elem())
		case t.Kind() == reflect.Map:
			return walk(t.Key()) || walk(t.Elem())
		case t.Kind() == reflect.Struct:
			for i := 0; i < t.NumField(); i++ {
				if walk(t.Field(i).Type) {
					return true
				}
			}
		}
		return false
	}
	return walk(t)
}
