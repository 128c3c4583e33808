package rpc

import (
	"context"
	"errors"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/sigoco/sigoco/wire"
	"github.com/vmihailenco/msgpack/v5"
)

// maxKeptBuffer is the largest write buffer kept for reuse; a bigger one
// (a huge result) is let go once written.
const maxKeptBuffer = 1 << 20

// writer coalesces the messages of many goroutines into few writes. A
// message is encoded straight into the pending buffer under the lock. If
// no goroutine is writing, the sender writes the buffer itself, in one
// Write call; if one is, the sender returns at once and that goroutine
// writes the new message with whatever else queued up during its own write
// ("flush when nothing else is queued"). Alone, a message costs one
// system call and no hand-off; under load, one system call carries many.
type writer struct {
	mu      sync.Mutex // guards every field below
	conn    io.Writer
	enc     *wire.Encoder
	buf     []byte // frames waiting to be written
	spare   []byte // the buffer being written, or free for reuse
	writing bool
	err     error // sticky write error

	tenure      uint64 // counts interruptible write tenures, see sendCtx
	interrupted bool   // a write deadline was set to interrupt a tenure
}

func newWriter(conn io.Writer, limit int) *writer {
	return &writer{conn: conn, enc: wire.NewEncoder(limit)}
}

// appendLocked encodes one frame with fn at the end of the queue. On an
// encoding error nothing is queued.
func (w *writer) appendLocked(fn func(e *msgpack.Encoder) error) error {
	if w.err != nil {
		return w.err
	}
	var err error
	w.buf, err = w.enc.Append(w.buf, fn)
	return err
}

// queue encodes a frame without writing it; a later send or flush writes
// it. size is how many bytes it queued.
func (w *writer) queue(fn func(e *msgpack.Encoder) error) (size int, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	before := len(w.buf)
	err = w.appendLocked(fn)
	return len(w.buf) - before, err
}

// send encodes a frame and makes sure it gets written: by this goroutine,
// or by the one writing already.
func (w *writer) send(fn func(e *msgpack.Encoder) error) error {
	w.mu.Lock()
	if err := w.appendLocked(fn); err != nil {
		w.mu.Unlock()
		return err
	}
	return w.flushLocked()
}

// sendCtx is send for a caller that must return when ctx ends: if ctx
// ends while this goroutine is still writing (the peer does not read and
// the socket buffers are full), the write is cut short by a past write
// deadline. That breaks the connection (a frame may be cut; the error is
// a sticky *writeError) but frees the caller.
//
// yield is for a sender that expects others to follow at once (a client
// whose other callers were just woken by replies; a server's reply while
// calls started with it are about to run on their own goroutines): before
// writing, it lets the goroutines ready to run on its thread run first, so
// that their frames join this write, or its frame joins the write of the
// last of them, which does not yield. Without it, callers woken together
// by a batch of replies run one after the other on one thread, and each
// one's write was over before the next one queued: a system call per
// call, which on loopback also runs the receiving side's TCP work (issue
// #26: 64 goroutines on one client made 0.7 writes per call, now under
// 0.1; par64 takes half the CPU per call, and calls to a method with a
// context a quarter less). A yielding sender does not hold the write role,
// and the callers only yield when others are about to send, not merely
// in flight: a yield waits a turn of the scheduler, which on a saturated
// machine is a time slice of someone else's.
func (w *writer) sendCtx(ctx context.Context, fn func(e *msgpack.Encoder) error, yield bool) error {
	w.mu.Lock()
	if err := w.appendLocked(fn); err != nil {
		w.mu.Unlock()
		return err
	}
	if yield && !w.writing {
		// Not holding the write role: a sender that expects no one after
		// it writes at once, this frame with its own.
		w.mu.Unlock()
		runtime.Gosched()
		w.mu.Lock()
	}
	if ctx.Done() == nil {
		return w.flushLocked()
	}
	return w.flushLockedCtx(ctx)
}

// queued reports whether frames are waiting to be written.
func (w *writer) queued() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.buf) > 0
}

// flush writes whatever is queued (unless another goroutine is writing).
func (w *writer) flush() error {
	w.mu.Lock()
	return w.flushLocked()
}

func (w *writer) flushLocked() error { return w.flushLockedCtx(nil) }

// flushLockedCtx is flushLocked; a non-nil ctx interrupts the writes when
// it ends (see sendCtx).
func (w *writer) flushLockedCtx(ctx context.Context) error {
	if w.writing || len(w.buf) == 0 {
		err := w.err
		w.mu.Unlock()
		return err
	}
	w.writing = true
	var stop func() bool
	if ctx != nil {
		if dc, ok := w.conn.(interface{ SetWriteDeadline(time.Time) error }); ok {
			w.tenure++
			tenure := w.tenure
			stop = context.AfterFunc(ctx, func() {
				w.mu.Lock()
				if w.writing && w.tenure == tenure {
					w.interrupted = true
					dc.SetWriteDeadline(time.Unix(1, 0))
				}
				w.mu.Unlock()
			})
		}
	}
	for len(w.buf) > 0 && w.err == nil {
		b := w.buf
		w.buf = w.spare[:0]
		w.spare = nil
		w.mu.Unlock()
		_, err := w.conn.Write(b)
		w.mu.Lock()
		if cap(b) <= maxKeptBuffer {
			w.spare = b[:0]
		}
		if err != nil {
			w.err = &writeError{err}
			w.buf = w.buf[:0]
		}
	}
	w.writing = false
	if stop != nil {
		w.tenure++ // disarms this tenure's interrupt
		if w.interrupted {
			w.interrupted = false
			w.conn.(interface{ SetWriteDeadline(time.Time) error }).SetWriteDeadline(time.Time{})
		}
	}
	err := w.err
	w.mu.Unlock()
	if stop != nil {
		stop() // a late run finds the tenure over and does nothing
	}
	return err
}

// writeError is a failed write; the connection is broken.
type writeError struct{ err error }

func (e *writeError) Error() string { return "rpc: write: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

func isWriteErr(err error) bool {
	var we *writeError
	return errors.As(err, &we)
}
