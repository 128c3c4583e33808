package rpc

import (
	"context"
	"fmt"
	"reflect"
	"runtime/debug"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// The call path of a server connection: admission, decoding when the
// target can take the call, running it inline or on its own goroutine,
// and its reply.
// handleCall serves a call message, positioned after its id. A call to a
// serialised target that is free runs right here (inline); otherwise it
// gets a goroutine. Its arguments are decoded only when the target can
// take it: a call waiting for a busy target holds its frame, not its
// decoded arguments. In parallel mode a call without a context runs
// inline too, unless its method ran long lately, and hands the read role
// off if it runs long (serverhandoff.go); then it returns errHandedOff.
func (c *serverConn) handleCall(md *msgDecoder, n int, id uint64) error {
	m, ok := c.callMethod(md, n, id)
	if !ok {
		return nil
	}
	serial := !c.s.opts.AllowParallel
	if !m.hasCtx {
		if serial {
			select {
			case c.tgt.sem <- struct{}{}:
				c.runInline(md, n, id, m)
				return nil
			default: // the target is busy: wait on a goroutine
			}
		} else if c.canRunInline(m) {
			return c.runInlineParallel(md, n, id, m)
		}
	}
	if re := c.admit(id, m); re != nil {
		c.queueFail(id, re)
		return nil
	}
	var req *request
	if serial {
		// Decoded once the target is ours (runCall): keep the frame.
		req = &request{frame: append([]byte(nil), md.b...), args: md.offset(), n: n}
		timeout, re := requestTimeout(md, m, n)
		if re != nil {
			c.release(id)
			c.queueFail(id, re)
			return nil
		}
		req.timeout = timeout
	} else {
		args, timeout, re := c.decodeArgs(md, m, n, nil)
		if re != nil {
			c.release(id)
			c.queueFail(id, re)
			return nil
		}
		req = &request{in: args, timeout: timeout}
	}
	c.start(id, m, req)
	return nil
}

// request is a call handed to its own goroutine: its decoded arguments,
// or (for a serialised target) its frame and the offset of its arguments.
type request struct {
	in      []reflect.Value
	frame   []byte
	args, n int
	timeout int64
}

// callMethod reads a call's method name and finds the method. It answers
// calls it cannot serve (and the built-in terminate) itself.
func (c *serverConn) callMethod(md *msgDecoder, n int, id uint64) (*method, bool) {
	if n < 4 {
		c.queueFail(id, &RemoteError{Type: TypeBadRequest, Message: "a call needs a method name and arguments"})
		return nil, false
	}
	code, err := md.d.PeekCode()
	if err != nil || !msgpcode.IsString(code) {
		c.queueFail(id, &RemoteError{Type: TypeBadRequest, Message: "the method name must be a string"})
		return nil, false
	}
	l, err := md.d.DecodeBytesLen()
	if err != nil || l < 0 || l > len(c.name) || l > md.remaining() {
		c.queueFail(id, &RemoteError{Type: TypeUnknownMethod, Message: fmt.Sprintf("unknown method (a name of %d bytes) of target %q", l, c.tgt.name)})
		return nil, false
	}
	nameb := c.name[:l]
	md.d.ReadFull(nameb)
	if c.s.opts.Authorize != nil {
		if re := c.authorize(string(nameb)); re != nil {
			c.queueFail(id, re)
			return nil, false
		}
	}
	if c.s.opts.BuiltinTerminate && string(nameb) == terminateMethod {
		c.queue(id, func(e *msgpack.Encoder) error {
			encodeResultHeader(e, id)
			return e.EncodeNil()
		})
		c.w.flush()
		c.s.terminate()
		return nil, false
	}
	m := c.methods().byName[string(nameb)]
	if m == nil {
		c.queueFail(id, c.unknownMethod(string(nameb)))
		return nil, false
	}
	return m, true
}

// decodeArgs decodes a call's arguments (md positioned at them) and its
// timeout, in the receiver, the context slot (when the method has one)
// and the arguments; into is reused scratch memory.
func (c *serverConn) decodeArgs(md *msgDecoder, m *method, n int, into []reflect.Value) ([]reflect.Value, int64, *RemoteError) {
	in := append(into[:0], c.obj)
	if m.hasCtx {
		in = append(in, reflect.Value{}) // set when the call starts
	}
	in, re := m.bindArgs(md, in, n >= 5)
	var timeout int64
	if re == nil && n >= 6 {
		var err error
		if timeout, err = md.d.DecodeInt64(); err != nil {
			re = badRequest(m.name+": timeout", err)
		}
	}
	if re != nil {
		clear(in)
		return in[:0], 0, re
	}
	return in, timeout, nil
}

// requestTimeout reads a call's timeout without decoding its arguments
// (md positioned at them; they are checked and skipped).
func requestTimeout(md *msgDecoder, m *method, n int) (int64, *RemoteError) {
	for i := 3; i < min(n, 5); i++ { // the arguments, the keywords
		if err := md.skip(); err != nil {
			return 0, badRequest(m.name+": arguments", err)
		}
	}
	md.pd.Used = 0 // charged again when they are decoded
	if n < 6 {
		return 0, nil
	}
	t, err := md.d.DecodeInt64()
	if err != nil {
		return 0, badRequest(m.name+": timeout", err)
	}
	return t, nil
}

// runInline decodes and runs a call on the reader goroutine; the caller
// holds the target's semaphore, which runInline releases.
func (c *serverConn) runInline(md *msgDecoder, n int, id uint64, m *method) {
	in, _, re := c.decodeArgs(md, m, n, c.in)
	var out []reflect.Value
	if re == nil {
		c.flushBehind()
		out, re = invoke(m, in)
	}
	<-c.tgt.sem
	c.queue(id, func(e *msgpack.Encoder) error { return encodeReply(e, id, m, out, re) })
	clear(in)
	c.in = in[:0]
}

// admit enters a call that runs on its own goroutine in the in-flight
// set, unless its id is already there or the connection has
// MaxCallsPerConn calls in flight. Every such call counts.
func (c *serverConn) admit(id uint64, m *method) *RemoteError {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.inflight[id]; dup {
		return &RemoteError{Type: TypeDuplicateID, Message: fmt.Sprintf(
			"%s: request id %d is already in flight on this connection", m.name, id)}
	}
	if len(c.inflight)+c.handed >= c.s.opts.MaxCallsPerConn {
		return &RemoteError{Type: TypeTooManyCalls, Message: fmt.Sprintf(
			"%s: %d calls already in flight on this connection", m.name, c.s.opts.MaxCallsPerConn)}
	}
	c.inflight[id] = nil // its cancel func comes with start
	return nil
}

// release removes an admitted call from the in-flight set.
func (c *serverConn) release(id uint64) {
	c.mu.Lock()
	delete(c.inflight, id)
	c.mu.Unlock()
}

// start runs an admitted call on its own goroutine, under a context that
// ends with the connection, a cancel message or the call's timeout.
func (c *serverConn) start(id uint64, m *method, req *request) {
	var ctx context.Context
	var cancel context.CancelFunc
	if req.timeout > 0 {
		ctx, cancel = context.WithTimeout(c.ctx, time.Duration(req.timeout))
	} else {
		ctx, cancel = context.WithCancel(c.ctx)
	}
	c.mu.Lock()
	c.inflight[id] = cancel
	c.mu.Unlock()
	c.calls.Add(1)
	c.starting.Add(1)
	go c.runCall(ctx, cancel, id, m, req)
}

// runCall runs one call on its own goroutine. A call to a serialised
// target decodes its arguments (from its own copy of the frame) once the
// target is its own.
func (c *serverConn) runCall(ctx context.Context, cancel context.CancelFunc, id uint64, m *method, req *request) {
	defer c.calls.Done()
	c.starting.Add(-1)
	// others: calls started with this one or since whose goroutines are
	// about to run; their replies may join this one's write
	// (writer.sendCtx). Not merely calls in flight: a reply that yields
	// waits a turn of the scheduler, long on a saturated machine, and a
	// long call in flight would make every other reply wait so.
	var others bool
	// The call leaves the in-flight set before its reply goes out, so a
	// client that sends its next call on seeing the reply is never counted
	// against MaxCallsPerConn twice.
	finish := func() {
		c.release(id)
		cancel()
		others = c.starting.Load() > 0
	}
	serial := !c.s.opts.AllowParallel
	if serial {
		select {
		case c.tgt.sem <- struct{}{}:
		case <-ctx.Done():
			err := ctx.Err()
			finish()
			c.send(id, func(e *msgpack.Encoder) error { return encodeFail(e, id, errorToRemote(err)) }, others)
			return
		}
	}
	in := req.in
	var out []reflect.Value
	var re *RemoteError
	if req.frame != nil {
		md := newMsgDecoder(c.s.opts.MaxDecodedSize)
		md.reset(req.frame)
		md.seek(req.args)
		in, _, re = c.decodeArgs(md, m, req.n, nil)
		req.frame = nil
	}
	if re == nil {
		if m.hasCtx {
			in[1] = reflect.ValueOf(ctx)
		}
		start := monoNow()
		out, re = invoke(m, in)
		if !serial && !m.hasCtx {
			// In parallel mode, a method here because it ran long stays
			// here while it runs long (serverhandoff.go).
			m.noteDuration(monoNow() - start)
		}
	}
	if serial {
		<-c.tgt.sem
	}
	finish()
	c.send(id, func(e *msgpack.Encoder) error { return encodeReply(e, id, m, out, re) }, others)
}

// invoke calls the method; a panic becomes a remote error with its stack.
func invoke(m *method, in []reflect.Value) (out []reflect.Value, re *RemoteError) {
	defer func() {
		if r := recover(); r != nil {
			re = &RemoteError{Type: TypePanic, Message: m.name + ": " + fmt.Sprint(r), Traceback: string(debug.Stack())}
		}
	}()
	out = m.fn.Call(in)
	if err := m.resultErr(out); err != nil {
		re = errorToRemote(err)
	}
	return out, re
}

// resultErr returns the error a call returned, if the method returns one.
func (m *method) resultErr(out []reflect.Value) error {
	var errv reflect.Value
	switch m.shape {
	case resultError:
		errv = out[0]
	case resultValueErr:
		errv = out[1]
	}
	if errv.IsValid() && !errv.IsNil() {
		return errv.Interface().(error)
	}
	return nil
}

func encodeReply(e *msgpack.Encoder, id uint64, m *method, out []reflect.Value, re *RemoteError) error {
	if re != nil {
		return encodeFail(e, id, re)
	}
	encodeResultHeader(e, id)
	switch m.shape {
	case resultValue, resultValueErr:
		return m.result.encode(e, out[0])
	}
	return e.EncodeNil()
}
