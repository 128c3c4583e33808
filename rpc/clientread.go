package rpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"time"
)

// Reading replies: one goroutine at a time holds the read role. A caller
// whose request is the only one in flight takes the role itself and reads
// its own reply: no reader goroutine, no hand-off, no wake-up. While it
// reads, replies to other calls are delivered to their callers. When it
// has its reply and other calls are still waiting, it hands the role to a
// reader goroutine, which keeps reading until no call is pending and then
// ends. A leader whose context ends interrupts its read with a past
// deadline (frames are read resumably, so nothing is lost) and hands over
// the same way.

// wait waits for cl's reply, reading it itself when nobody else reads.
func (c *Client) wait(ctx context.Context, cl *call) error {
	c.mu.Lock()
	if cl.done {
		c.woken.Add(-1)
		c.mu.Unlock()
		return cl.err
	}
	if !c.reading {
		c.reading = true
		c.tenure++
		tenure := c.tenure
		c.mu.Unlock()
		return c.lead(ctx, cl, tenure)
	}
	c.mu.Unlock()
	select {
	case <-cl.ch:
		c.woken.Add(-1)
		return cl.err
	case <-ctx.Done():
		if c.abandon(cl) {
			return ctx.Err()
		}
		return c.waitDone(cl) // its reply is being delivered
	}
}

// lead reads replies until cl's own has come.
func (c *Client) lead(ctx context.Context, cl *call, tenure uint64) error {
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() {
			c.mu.Lock()
			if c.reading && c.tenure == tenure {
				c.interrupted = true
				c.conn.SetReadDeadline(time.Unix(1, 0))
			}
			c.mu.Unlock()
		})
	}
	for {
		err := c.readOne()
		c.mu.Lock()
		if err != nil && !cl.done {
			if isTimeout(err) && ctx.Err() != nil {
				delete(c.pending, cl.id)
				c.handOverLocked()
				c.mu.Unlock()
				c.sendCancel(cl.id)
				return ctx.Err()
			}
			c.mu.Unlock()
			c.fail(err) // finishes cl too
			c.mu.Lock()
		}
		if cl.done {
			c.woken.Add(-1)
			c.handOverLocked()
			c.mu.Unlock()
			if stop != nil {
				stop()
			}
			return cl.err
		}
		c.mu.Unlock()
	}
}

// handOverLocked ends a read tenure: a reader goroutine takes over if
// calls are still pending. Called with c.mu held.
func (c *Client) handOverLocked() {
	c.tenure++ // disarms the tenure's interrupt
	if c.interrupted {
		c.conn.SetReadDeadline(time.Time{})
		c.interrupted = false
	}
	if c.err == nil && (len(c.pending) > 0 || c.watchers > 0) {
		c.readers.Add(1)
		go c.readLoop()
		return
	}
	c.reading = false
}

// readLoop reads replies while calls are pending or a Wait watches.
func (c *Client) readLoop() {
	defer c.readers.Done()
	for {
		err := c.readOne()
		if err != nil {
			c.fail(err)
			c.mu.Lock()
			c.reading = false
			c.mu.Unlock()
			return
		}
		c.mu.Lock()
		if len(c.pending) == 0 && c.watchers == 0 {
			c.reading = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
	}
}

// readOne reads one message and delivers it. An error means the
// connection cannot be used any more (or, for a leader, that its read was
// interrupted).
func (c *Client) readOne() error {
	frame, err := c.fr.Next()
	if err != nil {
		return err
	}
	md := c.md
	md.reset(frame)
	n, kind, err := readHeader(md)
	if err != nil {
		return err
	}
	switch kind {
	case msgResult, msgFail:
		if n < 3 {
			return fmt.Errorf("%w: reply too short", errMalformed)
		}
		id, err := md.d.DecodeUint64()
		if err != nil {
			return fmt.Errorf("%w: reply id: %v", errMalformed, err)
		}
		c.mu.Lock()
		cl := c.pending[id]
		delete(c.pending, id)
		c.mu.Unlock()
		if cl == nil {
			c.opts.Logger.Debug("rpc: dropped the reply to an abandoned call", "id", id)
			return nil
		}
		var cerr error
		if kind == msgResult {
			cerr = c.decodeResult(md, cl)
		} else {
			cerr = decodeFail(md, n)
		}
		c.mu.Lock()
		cl.err = cerr
		c.woken.Add(1)
		cl.finish()
		c.mu.Unlock()
	case msgError:
		msg, _ := md.decodeString()
		return &connLostError{why: "the server closed the connection", cause: errors.New(msg)}
	default:
		// A kind from a newer protocol version: ignore it.
	}
	return nil
}

func (c *Client) decodeResult(md *msgDecoder, cl *call) error {
	if cl.untyped {
		v, err := md.decodeAny()
		if err != nil {
			return fmt.Errorf("rpc: %s: result: %w", cl.method, err)
		}
		cl.res = v
		return nil
	}
	if cl.into == nil {
		return nil
	}
	rv := reflect.ValueOf(cl.into).Elem()
	start := md.offset()
	if err := planFor(rv.Type()).decode(md, rv); err != nil {
		var me *mismatchError
		if errors.As(err, &me) {
			md.seek(start)
			if got, err2 := md.decodeAny(); err2 == nil {
				msg := fmt.Sprintf("rpc: %s: result: cannot use %s as %s", cl.method, describe(got), typeName(rv.Type()))
				if me.detail != "" {
					msg += " (" + me.detail + ")"
				}
				return errors.New(msg)
			}
		}
		return fmt.Errorf("rpc: %s: result: %w", cl.method, err)
	}
	return nil
}

func decodeFail(md *msgDecoder, n int) error {
	re := &RemoteError{}
	var err error
	if re.Type, err = md.decodeString(); err == nil && n >= 4 {
		if re.Message, err = md.decodeString(); err == nil && n >= 5 {
			re.Traceback, err = md.decodeString()
		}
	}
	if err != nil {
		return fmt.Errorf("rpc: malformed error reply: %w", err)
	}
	return re
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
