package rpc

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/sigoco/sigoco/wire"
)

// Local is an in-process handle on one target of a Server: what a part of
// the server's own process (trackd's dashboard) calls instead of dialling
// its own listener. A call goes through what a call over the wire goes
// through, minus the connection:
//
//   - the identity is the one in the call's ctx (auth.NewContext; the
//     dashboard puts there the HTTP user it authenticated), and
//     ServerOptions.Authorize is asked with that ctx, as it is asked with a
//     connection's; a ctx without an identity is an in-process caller,
//     which Authorize and the targets trust (auth.Require);
//   - the arguments, Kwargs last as for Client.Call, are encoded as a
//     Client encodes them and bound to the method's parameters by the
//     server's own binder, within ServerOptions.MaxDecodedSize, so the
//     same call gets the same conversions and the same *RemoteError
//     (rpc.BadArguments, rpc.UnknownMethod, ...) either way;
//   - an error the method returns, or a panic, is the *RemoteError a
//     Client would get (errorToRemote); the method's ctx ends with the
//     caller's ctx and when the Server is closed;
//   - calls to a target that is not AllowParallel wait for it as calls
//     over the wire do.
//
// The result is the Go value the method returned (not encoded and decoded
// again): a *store.Run stays a *store.Run. A caller whose ctx ended gets
// ctx.Err(), as from a Client. After Shutdown or Close, calls fail with
// ErrClosed; Shutdown waits for the calls in flight and Close cancels
// their contexts and waits for them, as for calls over connections.
//
// A Local is safe for concurrent use; it holds no connection and needs no
// Close. The built-in terminate is not offered.
type Local struct {
	s   *Server
	t   *target
	obj reflect.Value
	tb  *methodTable // a factory's object's table; else the target's live one
}

// Local returns an in-process handle on target. A factory target is
// called once, now, as for one connection. An unknown target is an error
// wrapping ErrIncompatibleServer that lists the valid names, as Dial's.
func (s *Server) Local(target string) (*Local, error) {
	t := s.targets[target]
	if t == nil {
		return nil, fmt.Errorf("%w: unknown target %q; this server has: %s", ErrIncompatibleServer, truncate(target, 64), strings.Join(s.names, ", "))
	}
	obj, tb, err := t.instance()
	if err != nil {
		return nil, fmt.Errorf("rpc: target %q: %w", target, err)
	}
	return &Local{s: s, t: t, obj: obj, tb: tb}, nil
}

// Target returns the name of the target l calls.
func (l *Local) Target() string { return l.t.name }

func (l *Local) methods() *methodTable {
	if tb := l.t.live.Load(); tb != nil {
		return tb
	}
	return l.tb
}

// Call calls method (its wire or Go name) with args; see Local.
func (l *Local) Call(ctx context.Context, method string, args ...any) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !l.enter() {
		return nil, ErrClosed
	}
	defer l.s.loop.Leave()
	// The method's context ends with the caller's and with a hard stop
	// of the server, as a connection's calls do.
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(l.s.loop.Context(), cancel)
	defer stop()
	res, re := l.call(mctx, method, args)
	if err := ctx.Err(); err != nil {
		return nil, err // the caller stopped waiting, as a Client's caller does
	}
	if re != nil {
		return nil, re
	}
	return res, nil
}

// enter counts a call as in flight, unless the server is shutting down.
func (l *Local) enter() bool {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	return !l.s.draining && l.s.loop.Enter()
}

// call is the server side of a call: authorization, lookup, binding,
// the target's turn, the method.
func (l *Local) call(ctx context.Context, method string, args []any) (any, error) {
	if a := l.s.opts.Authorize; a != nil {
		if err := a(ctx, l.t.name, method); err != nil {
			return nil, &RemoteError{Type: "PermissionError", Message: err.Error()}
		}
	}
	m := l.methods().byName[method]
	if m == nil {
		return nil, unknownMethod(l.methods(), l.t.name, method)
	}
	in, err := l.bind(m, method, args)
	if err != nil {
		return nil, err
	}
	if !l.s.opts.AllowParallel {
		select {
		case l.t.sem <- struct{}{}:
			defer func() { <-l.t.sem }()
		case <-ctx.Done():
			return nil, errorToRemote(ctx.Err())
		}
	}
	if m.hasCtx {
		in[1] = reflect.ValueOf(ctx)
	}
	out, re := invoke(m, in)
	if re != nil {
		return nil, re
	}
	switch m.shape {
	case resultValue, resultValueErr:
		return out[0].Interface(), nil
	}
	return nil, nil
}

// bind encodes args as a Client's call request and binds them with the
// server's decoder: the receiver, the context slot, the arguments.
func (l *Local) bind(m *method, name string, args []any) ([]reflect.Value, error) {
	enc := wire.NewEncoder(l.s.opts.MaxFrameSize)
	frame, err := enc.Append(nil, func(e *msgpack.Encoder) error { return encodeCall(e, 0, name, args, 0) })
	if err != nil {
		return nil, err // what a Client returns before sending: not a RemoteError
	}
	md := newMsgDecoder(l.s.opts.MaxDecodedSize)
	md.reset(frame[wire.FrameHeaderLen:])
	n, _, err := readHeader(md)
	if err == nil {
		_, err = decodeID(md)
	}
	if err == nil {
		_, err = md.decodeString() // the method name
	}
	if err != nil {
		return nil, fmt.Errorf("rpc: %s: %w", name, err) // cannot happen: encodeCall wrote it
	}
	in := []reflect.Value{l.obj}
	if m.hasCtx {
		in = append(in, reflect.Value{}) // set when the call runs
	}
	in, re := m.bindArgs(md, in, n >= 5)
	if re != nil {
		return nil, re
	}
	return in, nil
}

// unknownMethod is the error of a call to a method tb does not have.
func unknownMethod(tb *methodTable, target, name string) *RemoteError {
	msg := fmt.Sprintf("unknown method %q of target %q", truncate(name, 64), target)
	switch s := tb.suggest(name); len(s) {
	case 0:
	case 1:
		msg += "; did you mean " + s[0] + "?"
	default:
		msg += "; did you mean one of: " + strings.Join(s, ", ") + "?"
	}
	return &RemoteError{Type: TypeUnknownMethod, Message: msg}
}
