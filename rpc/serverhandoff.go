package rpc

import (
	"errors"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// The read role of a server connection in parallel mode (AllowParallel).
//
// A goroutine per call costs more than a small call itself: the start,
// a stack that grows on the first reflective call, two wake-ups and a
// write per reply. So a call to a method without a context runs on the
// reader goroutine, as a call to a free serialised target does, and its
// reply is queued and coalesced with the burst's others. Alone in flight
// — the common case — that is all: no goroutine, no hand-off.
//
// Running a call where the requests are read must not make a second
// request wait for the first call to end: that would serialise what the
// target allows in parallel. So before the call runs, a timer is armed
// (handoffDelay); if the call is still running when it fires, the read
// role is handed to a new goroutine, which goes on reading (and runs the
// next call inline in turn), while the goroutine that started the call
// finishes it as a call on its own goroutine would: it sends its reply,
// counts as in flight until then, and stops. A quick call disarms the
// timer and the reader reads on. Only the goroutine serve started ends
// the connection; when it has lost the role it waits for the reader that
// holds it (readEnd).
//
// inline holds the number of the call running on the reader while the
// reader holds the role, else 0. The reader stores its call's number
// before the call and takes it back to 0 with a CAS when the call ends;
// the timer takes whatever number is there to 0 with a CAS and hands off:
// exactly one of them wins. A stale run of the timer (fired as an earlier
// call ended) can hand off the next call early, which costs a goroutine,
// not a mistake. The numbers (inlineSeq, the reader's) tell a call ended
// by a handed-off goroutine from the next reader's.

// handoffDelay is how long a call runs on the reader before the read role
// moves to a new goroutine. Go's runtime hands off a P blocked in a system
// call after 20 µs; a loaded machine deschedules a quick call for longer
// than that, so a little more. The timer may fire later when every P is
// idle (the runtime polls with a 1 ms resolution then): a request that
// arrives behind a long call waits at most about that long.
const handoffDelay = 50 * time.Microsecond

// errHandedOff ends a readLoop whose goroutine gave the read role away.
var errHandedOff = errors.New("rpc: read role handed off")

// canRunInline reports whether a parallel-mode call may run on the
// reader: the connection's calls in flight on their own goroutines (those
// handed off included) are below MaxCallsPerConn, as admit would require.
func (c *serverConn) canRunInline() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.inflight)+c.handed < c.s.opts.MaxCallsPerConn
}

// runInlineParallel decodes and runs a call to a method without a
// context on the reader goroutine (parallel mode). It returns
// errHandedOff when the call outlived handoffDelay: the read role is then
// another goroutine's, and this one has sent the reply.
func (c *serverConn) runInlineParallel(md *msgDecoder, n int, id uint64, m *method) error {
	in, _, re := c.decodeArgs(md, m, n, c.in)
	if re != nil {
		c.in = in
		c.queueFail(id, re)
		return nil
	}
	c.flushBehind()
	c.inlineSeq++
	seq := c.inlineSeq
	// Counted as a call that may end on its own goroutine before the timer
	// can hand it off: counted afterwards, its Done could come first.
	c.calls.Add(1)
	c.inline.Store(seq)
	if c.handoff == nil {
		c.handoff = time.AfterFunc(handoffDelay, c.handOff)
	} else {
		c.handoff.Reset(handoffDelay)
	}
	out, re := invoke(m, in)
	if !c.inline.CompareAndSwap(seq, 0) {
		// Handed off: finish as a call on its own goroutine does (runCall).
		clear(in)
		c.mu.Lock()
		c.handed--
		c.mu.Unlock()
		c.send(id, func(e *msgpack.Encoder) error { return encodeReply(e, id, m, out, re) })
		c.calls.Done()
		return errHandedOff
	}
	c.handoff.Stop()
	c.calls.Done()
	c.queue(id, func(e *msgpack.Encoder) error { return encodeReply(e, id, m, out, re) })
	clear(in)
	c.in = in[:0]
	return nil
}

// handOff is the handoff timer's run: if the reader's call still runs,
// that call becomes one on its own goroutine and a new goroutine takes
// the read role.
func (c *serverConn) handOff() {
	seq := c.inline.Load()
	if seq == 0 || !c.inline.CompareAndSwap(seq, 0) {
		return
	}
	c.mu.Lock()
	c.handed++
	c.mu.Unlock()
	c.in = nil // the running call keeps its argument slice
	go c.readRole()
}

// readRole is the read loop on a goroutine the read role was handed to.
func (c *serverConn) readRole() {
	if err := c.readLoop(); err != errHandedOff {
		c.readEnd <- err
	}
}
