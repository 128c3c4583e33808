package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"runtime/debug"
	"strings"
	"time"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/wire"
)

// serveSiPyCo serves a connection that opened with SiPyCo's banner (the
// protocol is summed up in sipyco.go). Calls go through the same targets,
// serialisation, contexts, panic recovery and built-in terminate as native
// calls. It ends like serve: nil on an ordinary end.
func (c *serverConn) serveSiPyCo(parent context.Context, cancel context.CancelFunc) error {
	if err := c.sipycoHandshake(); err != nil {
		c.s.opts.Logger.Debug("rpc: SiPyCo handshake failed", "remote", c.conn.RemoteAddr().String(), "err", err)
		return err
	}
	err := c.sipycoLoop()
	draining := c.isDraining()
	if !draining {
		cancel() // the client is gone: end the contexts of its calls
	}
	if draining || parent.Err() != nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// sipycoHandshake sends the identification, reads the target line and
// sends the method names. SiPyCo's protocol has no way to refuse, so every
// failure is a close (the target line of a client without PYON v2 is
// logged as a warning with pyon.ErrV1's message).
func (c *serverConn) sipycoHandshake() error {
	var desc any
	if c.s.opts.Description != "" {
		desc = c.s.opts.Description
	}
	features := []string{sipycoFeature}
	if c.s.opts.Auth != nil {
		features = append(features, sipycoTokenFeature) // SiPyCo's clients look for pyon_v2 only
	}
	id := map[string]any{"targets": c.s.names, "description": desc, "features": features}
	if err := c.writeLine(nil, id); err != nil {
		return err
	}
	line, err := wire.ReadLine(c.conn.R, wire.MaxBannerLen)
	if err != nil {
		if isTimeout(err) && !c.isDraining() {
			return fmt.Errorf("handshake timeout: no target selected within %v", c.s.opts.HandshakeTimeout)
		}
		return err
	}
	// sigoco's clients may send a token line first (docs/sipyco.md);
	// SiPyCo's never do.
	var token string
	rest, hasToken := strings.CutPrefix(line, tokenLinePrefix)
	if hasToken {
		token = rest
	}
	if hasToken {
		if line, err = wire.ReadLine(c.conn.R, wire.MaxBannerLen); err != nil {
			return err
		}
	}
	if err := c.authenticate(token); err != nil {
		if hasToken { // a sigoco client: it reads this in place of the method names
			c.conn.SetWriteDeadline(time.Now().Add(time.Second))
			fmt.Fprintf(c.conn, "SIGOCO error: rpc: %s\n", err)
		}
		return err
	}
	name, err := parseTargetLine(line)
	if err != nil {
		c.s.opts.Logger.Warn("rpc: refused a SiPyCo client", "remote", c.conn.RemoteAddr().String(), "target", truncate(name, 64), "err", err)
		return err
	}
	tgt := c.s.targets[name]
	if tgt == nil {
		return fmt.Errorf("unknown target %q; this server has: %s", truncate(name, 64), strings.Join(c.s.names, ", "))
	}
	obj, tb, err := tgt.instance()
	if err != nil {
		return fmt.Errorf("target %q: %w", name, err)
	}
	c.tgt, c.obj, c.tb = tgt, obj, tb
	if err := c.writeLine(nil, sipycoMethodNames(c.methods(), c.s.opts.BuiltinTerminate)); err != nil {
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

// tokenLinePrefix starts the line in which sigoco's clients of SiPyCo's
// protocol send a token, before the target line. No SiPyCo client sends
// it; as a target line it would name a target "SIGOCO" with an unknown
// feature.
const tokenLinePrefix = "SIGOCO token "

// sipycoTokenFeature, among the features of the identification, tells
// sigoco's clients that the server takes a token line; without it they
// send none (SiPyCo's own servers would take the line for a target).
const sipycoTokenFeature = "sigoco_token"

// parseTargetLine splits SiPyCo's "target feature..." line, as SiPyCo's
// server does: one space between words, and every feature known.
func parseTargetLine(line string) (string, error) {
	words := strings.Split(line, " ")
	v2 := false
	for _, f := range words[1:] {
		if f != sipycoFeature {
			return words[0], fmt.Errorf("unsupported feature %q", truncate(f, 64))
		}
		v2 = true
	}
	if !v2 {
		return words[0], pyon.ErrV1
	}
	return words[0], nil
}

// sipycoMethodNames is the set of callable names SiPyCo clients check
// attribute lookups against: the wire names, and terminate.
func sipycoMethodNames(tb *methodTable, terminate bool) pyon.Set {
	var names []any
	for _, m := range tb.list {
		names = append(names, m.name)
	}
	if terminate && tb.byName[terminateMethod] == nil {
		names = append(names, terminateMethod)
	}
	return pyon.Set{Items: names}
}

// writeLine writes v as one PYON line, using buf as scratch.
func (c *serverConn) writeLine(buf []byte, v any) error {
	b, err := pyon.Append(buf[:0], v)
	if err != nil {
		return err
	}
	_, err = c.conn.Write(append(b, '\n'))
	return err
}

// sipycoLoop answers requests one by one until the connection ends.
func (c *serverConn) sipycoLoop() error {
	var in, out []byte
	limit := c.s.opts.MaxFrameSize
	for {
		line, err := readLineLimit(c.conn.R, in, limit)
		var terminate bool
		switch {
		case errors.Is(err, errLineTooLong):
			// The client waits for an answer: give one, then go on.
			out = appendFailed(out[:0], &pyException{Class: "ValueError", Message: "request " + strings.TrimPrefix(err.Error(), "rpc: ")})
		case err != nil:
			return err
		default:
			in = line
			out, terminate = c.sipycoRequest(out[:0], line)
		}
		if _, err := c.conn.Write(append(out, '\n')); err != nil {
			return err
		}
		if terminate {
			c.s.terminate()
		}
		in, out = keepBuffer(in), keepBuffer(out)
	}
}

// sipycoRequest answers one request line; terminate is set for the
// built-in terminate, which takes effect once the reply is written.
func (c *serverConn) sipycoRequest(dst, line []byte) (reply []byte, terminate bool) {
	v, err := pyon.Decode(line)
	if err != nil {
		return appendFailed(dst, &pyException{Class: "ValueError", Message: "cannot decode the request: " + err.Error()}), false
	}
	// The native path charges MaxDecodedSize while decoding; PYON text is
	// decoded whole first (its line is bounded by MaxFrameSize), so the
	// same bound applies to what the call would hold from here on.
	if n := pyon.SizeOf(v); n > int64(c.s.opts.MaxDecodedSize) {
		return appendFailed(dst, &pyException{Class: "ValueError", Message: fmt.Sprintf("request too large: its arguments decode to about %d bytes, more than the server's MaxDecodedSize of %d bytes (send bulk numbers as numpy arrays)", n, c.s.opts.MaxDecodedSize)}), false
	}
	req, ok := v.(map[string]any)
	if !ok {
		return appendFailed(dst, &pyException{Class: "TypeError", Message: "a request must be a dict, not " + describePy(v)}), false
	}
	action, ok := req["action"]
	if !ok {
		return appendFailed(dst, keyError("action")), false
	}
	switch action {
	case "get_rpc_method_list":
		return c.appendOK(dst, c.sipycoMethodList()), false
	case "call":
		return c.sipycoCall(dst, req)
	}
	return appendFailed(dst, &pyException{Class: "ValueError", Message: fmt.Sprintf("Unknown action: %s", truncate(fmt.Sprint(action), 64))}), false
}

func keyError(key string) *pyException {
	return &pyException{Class: "KeyError", Message: "'" + key + "'"}
}

// sipycoCall runs {"action": "call", "name", "args", "kwargs"}.
func (c *serverConn) sipycoCall(dst []byte, req map[string]any) ([]byte, bool) {
	nv, ok := req["name"]
	if !ok {
		return appendFailed(dst, keyError("name")), false
	}
	name, ok := nv.(string)
	if !ok {
		return appendFailed(dst, &pyException{Class: "TypeError", Message: "attribute name must be string, not '" + describePy(nv) + "'"}), false
	}
	if re := c.authorize(name); re != nil {
		return appendFailed(dst, remoteToPy(re)), false
	}
	if c.s.opts.BuiltinTerminate && name == terminateMethod {
		return c.appendOK(dst, nil), true
	}
	m := c.methods().byName[name]
	if m == nil {
		re := c.unknownMethod(name)
		c.s.opts.Logger.Debug("rpc: request failed", "target", c.tgt.name, "type", re.Type, "message", re.Message)
		return appendFailed(dst, remoteToPy(re)), false
	}
	args, kwargs, exc := sipycoArgs(req)
	if exc != nil {
		return appendFailed(dst, exc), false
	}
	in := []reflect.Value{c.obj}
	if m.hasCtx {
		in = append(in, reflect.Value{}) // set when the call starts
	}
	in, re := m.bindPyon(in, args, kwargs)
	if re != nil {
		c.s.opts.Logger.Debug("rpc: request failed", "target", c.tgt.name, "type", re.Type, "message", re.Message)
		return appendFailed(dst, remoteToPy(re)), false
	}
	out, exc := c.sipycoRun(m, in)
	if exc != nil {
		return appendFailed(dst, exc), false
	}
	var ret any
	if m.shape == resultValue || m.shape == resultValueErr {
		ret = out[0].Interface()
	}
	return c.appendOK(dst, ret), false
}

// sipycoArgs takes a call's positional and keyword arguments apart, with
// the errors Python's method(*args, **kwargs) would raise.
func sipycoArgs(req map[string]any) ([]any, map[string]any, *pyException) {
	av, ok := req["args"]
	if !ok {
		return nil, nil, keyError("args")
	}
	kv, ok := req["kwargs"]
	if !ok {
		return nil, nil, keyError("kwargs")
	}
	var args []any
	switch a := av.(type) {
	case pyon.Tuple:
		args = a
	case []any:
		args = a
	default:
		return nil, nil, &pyException{Class: "TypeError", Message: "argument after * must be a list or tuple, not " + describePy(av)}
	}
	var items []pyon.Item
	switch k := kv.(type) {
	case map[string]any:
		return args, k, nil
	case pyon.Dict:
		items = k
	case pyon.OrderedDict:
		items = k
	default:
		return nil, nil, &pyException{Class: "TypeError", Message: "argument after ** must be a mapping, not " + describePy(kv)}
	}
	kwargs := make(map[string]any, len(items))
	for _, it := range items {
		s, ok := it.Key.(string)
		if !ok {
			return nil, nil, &pyException{Class: "TypeError", Message: "keywords must be strings"}
		}
		kwargs[s] = it.Value
	}
	return args, kwargs, nil
}

// sipycoRun calls m as handleCall would: inline when it takes no context
// and its target is free, else on a goroutine while the connection is
// watched, so that a client hanging up ends the call's context.
func (c *serverConn) sipycoRun(m *method, in []reflect.Value) ([]reflect.Value, *pyException) {
	parallel := c.s.opts.AllowParallel
	if !m.hasCtx {
		if parallel {
			return sipycoInvoke(m, in)
		}
		select {
		case c.tgt.sem <- struct{}{}:
			defer func() { <-c.tgt.sem }()
			return sipycoInvoke(m, in)
		default: // the target is busy: wait on a goroutine
		}
	}
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	var out []reflect.Value
	var exc *pyException
	done := make(chan struct{})
	go func() {
		defer close(done)
		if !parallel {
			select {
			case c.tgt.sem <- struct{}{}:
				defer func() { <-c.tgt.sem }()
			case <-ctx.Done():
				exc = sipycoException(ctx.Err())
				return
			}
		}
		if m.hasCtx {
			in[1] = reflect.ValueOf(ctx)
		}
		out, exc = sipycoInvoke(m, in)
	}()
	c.watchWhile(done, cancel)
	return out, exc
}

// watchWhile waits for done while watching the connection: when the
// client hangs up (or the server closes the connection) it calls cancel.
// A request sent meanwhile stays buffered for the loop.
func (c *serverConn) watchWhile(done <-chan struct{}, cancel context.CancelFunc) {
	peeked := make(chan error, 1)
	go func() {
		_, err := c.conn.R.Peek(1)
		peeked <- err
	}()
	select {
	case <-done:
		c.conn.SetReadDeadline(time.Unix(1, 0)) // stop the watcher
		<-peeked
		c.mu.Lock()
		if !c.draining { // drain's own deadline must stay
			c.conn.SetReadDeadline(time.Time{})
		}
		c.mu.Unlock()
	case err := <-peeked:
		if err != nil && !(isTimeout(err) && c.isDraining()) {
			cancel()
		}
		<-done
	}
}

// sipycoInvoke calls the method; its error or panic becomes the exception
// a SiPyCo client raises.
func sipycoInvoke(m *method, in []reflect.Value) (out []reflect.Value, exc *pyException) {
	defer func() {
		if r := recover(); r != nil {
			exc = &pyException{Class: pyGeneric, Message: TypePanic + ": " + m.name + ": " + fmt.Sprint(r), Traceback: []string{string(debug.Stack())}}
		}
	}()
	out = m.fn.Call(in)
	if err := m.resultErr(out); err != nil {
		exc = sipycoException(err)
	}
	return out, exc
}

// appendOK appends {"status": "ok", "ret": ret}, or the failure to encode
// ret (a TypeError, as in Python) or to fit it in the size limit.
func (c *serverConn) appendOK(dst []byte, ret any) []byte {
	start := len(dst)
	dst = append(dst, `{"status":"ok","ret":`...)
	b, err := pyon.Append(dst, ret)
	if err != nil {
		cls := "TypeError" // as Python's encoder for a type it cannot encode
		if errors.Is(err, pyon.ErrLimit) {
			cls = "ValueError" // as Python's int → str past 4300 digits
		}
		return appendFailed(dst[:start], &pyException{Class: cls, Message: "cannot send the result: " + err.Error()})
	}
	b = append(b, '}')
	if n := len(b) - start; n > c.s.opts.MaxFrameSize {
		msg := fmt.Sprintf("cannot send the result: a reply of %d bytes exceeds the limit of %d bytes", n, c.s.opts.MaxFrameSize)
		return appendFailed(b[:start], &pyException{Class: "ValueError", Message: msg})
	}
	return b
}

// appendFailed appends {"status": "failed", "exception": {...}}.
func appendFailed(dst []byte, e *pyException) []byte {
	b, err := pyon.Append(dst, map[string]any{"status": "failed", "exception": e.value()})
	if err != nil { // only strings and a list of strings: cannot happen
		return append(dst, `{"status":"failed","exception":{"class":"RuntimeError","message":"rpc: cannot encode the exception","traceback":[]}}`...)
	}
	return b
}
