package rpc

import (
	"errors"
	"sync/atomic"
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
// target allows in parallel. Two things prevent it:
//
//   - A method whose call ran for handoffDelay or longer (measured on
//     the reader, or on its own goroutine) gets its own goroutine for its
//     next longCallStreak calls on any connection (the count is the
//     method's, shared by every target of its type), as a method with a
//     context does; each of
//     them that runs long again renews the streak. A slow method thus
//     pays a goroutine per call, which is little beside its time, and
//     never holds the reader.
//   - A watchdog timer looks at the call on the reader. Once a call has
//     run for handoffDelay when it looks, the read role is handed to a
//     new goroutine, which goes on reading (and runs the next call inline
//     in turn), while the goroutine that started the call finishes it as
//     a call on its own goroutine would: it sends its reply, counts as in
//     flight until then, and stops. Only the goroutine serve started ends
//     the connection; when it has lost the role it waits for the reader
//     that holds it (readEnd). This catches the first long call of a
//     method, and a quick method's call that blocks.
//
// The watchdog is not armed and stopped around every call: arming a
// runtime timer due before every other one wakes a thread out of the
// network poller, and its run is a goroutine and more wake-ups; on a
// loaded 2-core machine each period cost a sequential caller hundreds of
// microseconds of latency, and arming it per call made sequential calls
// a third slower than a serialised target's (issue #26). It is armed by
// the first call that finds it idle, for watchPeriod, and when it fires
// it looks at the call running then: one that has run handoffDelay is
// handed off, one that has not gets the timer re-armed for the rest of its
// handoffDelay (a follow-up of that call: if another call runs by then,
// the first ended in time, and the timer goes back to watchPeriod rather
// than follow up every call of a busy reader), and none lets the timer go
// idle. It also does what
// flushBehind's timer does for a serialised target: a run that finds a
// call running writes the replies queued behind it, so that their callers
// do not wait for it. A busy connection thus arms about two timers per
// watchPeriod, fewer than a serialised target's connection in bursts
// (flushBehind's, per lateFlushDelay), and a call that blocks is handed
// off, and the replies queued behind it written, within about
// watchPeriod.
//
// inline holds the number of the call running on the reader while the
// reader holds the role, else 0; inlineStart when it started (stored
// before inline, so a run that reads a number then a start reads that
// call's start or a later call's: it never hands off a call early; in a
// burst a call starts when the one before it ended, see
// runInlineParallel). The
// reader takes its number back to 0 with a CAS when its call ends, the
// watchdog takes it to 0 with a CAS to hand off: exactly one of them wins.
// watching is set while the timer is armed or running; the reader arms it
// only by taking watching from false to true, and the watchdog, going
// idle, clears it and looks at inline again, so a call that starts as the
// watchdog goes idle is watched by one of the two.

// handoffDelay is how long a call may hold the reader: one that has run
// this long is handed off when the watchdog sees it, and its method's next
// calls get their own goroutines. Go's runtime hands off a P blocked in a
// system call after 20 µs; a loaded machine deschedules a quick call for
// longer than that, so a little more.
func handoffDelay() time.Duration { return time.Duration(handoffDelayNs.Load()) }

// handoffDelayNs is handoffDelay in nanoseconds: a variable only so that a
// test can take a slower machine's measure, atomic because a watchdog of
// an earlier test's connection may still be running when it does.
var handoffDelayNs atomic.Int64

func init() { handoffDelayNs.Store(int64(50 * time.Microsecond)) }

// watchPeriod is how long after the watchdog is armed it looks at the
// reader's call: the longest a call that blocks holds the reader (and the
// replies queued behind it), but for its method's first such call, as
// the next ones get goroutines. Each period costs a few thread wake-ups,
// paid by sequential callers as latency: on a loaded 2-core machine they
// took 8–11% longer than a serialised target's with 1 ms, 4–10% with
// 2 ms, 2–4% with 5 ms (issue #26; with every P idle the runtime's timers
// have about a millisecond's resolution anyway).
const watchPeriod = 5 * time.Millisecond

// longCallStreak is how many calls of a method that ran long run on their
// own goroutine before one runs on the reader again. A quick call that a
// loaded machine descheduled costs that many goroutines, no more.
const longCallStreak = 8

// monoBase is the origin of inlineStart: time.Since of a monotonic time
// reads only the runtime's clock.
var monoBase = time.Now()

func monoNow() time.Duration { return time.Since(monoBase) }

// errHandedOff ends a readLoop whose goroutine gave the read role away.
var errHandedOff = errors.New("rpc: read role handed off")

// ranLong reports whether a parallel-mode call of m is to run on its own
// goroutine because a recent call of m ran long; it counts the call
// against the streak.
func (m *method) ranLong() bool {
	if m.longLeft.Load() <= 0 {
		return false
	}
	m.longLeft.Add(-1)
	return true
}

// noteDuration starts a streak of calls of m on their own goroutines if a
// call of m ran long.
func (m *method) noteDuration(ran time.Duration) {
	if ran >= handoffDelay() {
		m.longLeft.Store(longCallStreak)
	}
}

// canRunInline reports whether a parallel-mode call may run on the
// reader: its method has not run long lately, and the connection's calls
// in flight on their own goroutines (those handed off included) are below
// MaxCallsPerConn, as admit would require.
func (c *serverConn) canRunInline(m *method) bool {
	if m.ranLong() {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.inflight)+c.handed < c.s.opts.MaxCallsPerConn
}

// runInlineParallel decodes and runs a call to a method without a
// context on the reader goroutine (parallel mode). It returns
// errHandedOff when the watchdog handed the call off: the read role is
// then another goroutine's, and this one has sent the reply.
func (c *serverConn) runInlineParallel(md *msgDecoder, n int, id uint64, m *method) error {
	in, _, re := c.decodeArgs(md, m, n, c.in)
	if re != nil {
		c.in = in
		c.queueFail(id, re)
		return nil
	}
	c.inlineSeq++
	seq := c.inlineSeq
	// Counted as a call that may end on its own goroutine before the
	// watchdog can hand it off: counted afterwards, its Done could come first.
	c.calls.Add(1)
	c.inlineM = m
	// A call's start is the end of the one before it when the reader did
	// not wait in between (a burst): one clock read per call, not two
	// (a tenth of the call path's cost in parallel mode). The decoding of
	// its arguments then counts towards its time: microseconds.
	start := c.lastEnd
	if start == 0 {
		start = monoNow()
	}
	c.inlineStart.Store(int64(start))
	c.inline.Store(seq)
	c.watch()
	out, re := invoke(m, in)
	end := monoNow()
	m.noteDuration(end - start)
	if !c.inline.CompareAndSwap(seq, 0) {
		// Handed off: finish as a call on its own goroutine does (runCall).
		clear(in)
		c.mu.Lock()
		c.handed--
		c.mu.Unlock()
		c.send(id, func(e *msgpack.Encoder) error { return encodeReply(e, id, m, out, re) }, false)
		c.calls.Done()
		return errHandedOff
	}
	c.calls.Done()
	c.lastEnd = end
	if c.queue(id, func(e *msgpack.Encoder) error { return encodeReply(e, id, m, out, re) }) > lastEndMaxReply {
		c.lastEnd = 0 // its encoding is not the next call's time
	}
	clear(in)
	c.in = in[:0]
	return nil
}

// watch makes sure the watchdog looks at the call about to run inline:
// it arms the timer if it is idle.
func (c *serverConn) watch() {
	if c.watching.CompareAndSwap(false, true) {
		c.handoff.Reset(watchPeriod)
	}
}

// watchInline is the watchdog timer's run (c.handoff): it hands off the
// reader's call once that has run handoffDelay, re-arms the timer for a
// call that has not yet, and otherwise lets the timer go idle.
func (c *serverConn) watchInline() {
	watchdogRuns.Add(1)
	for {
		if seq := c.inline.Load(); seq != 0 {
			c.flushLate()
			if ran := monoNow() - time.Duration(c.inlineStart.Load()); ran < handoffDelay() {
				if f := c.following.Load(); f != 0 && f != seq {
					// The call followed up ended in time, and another runs:
					// back to one look per watchPeriod. (Following every
					// call a busy reader runs would look every few
					// microseconds: a timer run and a write each time.)
					c.following.Store(0)
					c.handoff.Reset(watchPeriod)
					return
				}
				c.following.Store(seq)
				c.handoff.Reset(handoffDelay() - ran) // follow this call up
				return
			}
			if c.inline.CompareAndSwap(seq, 0) {
				c.handOff()
			}
		}
		c.following.Store(0)
		c.watching.Store(false)
		// A call may have started meanwhile and found the watchdog busy:
		// then it is this run's to watch, unless another call armed it.
		if c.inline.Load() == 0 || !c.watching.CompareAndSwap(false, true) {
			return
		}
	}
}

// lastEndMaxReply is the largest reply after which the next call in a
// burst starts when the call before it ended (runInlineParallel): encoding
// a larger one may take long enough to count.
const lastEndMaxReply = 16 << 10

// watchdogRuns counts the watchdog's runs, all connections: a few hundred
// a second at most on a busy server (TestWatchdogBusyReader).
var watchdogRuns atomic.Int64

// handOff makes the reader's call (taken off inline by the watchdog) one
// on its own goroutine, and starts a new goroutine in the read role. The
// call's method gets goroutines for its next calls at once: the old
// reader is stuck in it, and inlineM is as it left it.
func (c *serverConn) handOff() {
	c.inlineM.longLeft.Store(longCallStreak)
	c.mu.Lock()
	c.handed++
	c.mu.Unlock()
	c.in = nil // the running call keeps its argument slice
	c.lastEnd = 0
	go c.readRole()
}

// readRole is the read loop on a goroutine the read role was handed to.
func (c *serverConn) readRole() {
	if err := c.readLoop(); err != errHandedOff {
		c.readEnd <- err
	}
}
