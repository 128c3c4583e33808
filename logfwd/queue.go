package logfwd

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigoco/sigoco/wire"
)

// core is what a Forwarder and the handlers derived from it share: the
// queue of encoded records, the writer goroutine and the counters.
//
// Handle encodes a record outside any lock and appends the bytes to q
// under mu; the writer swaps q for an empty buffer and writes the whole
// batch with one system call. That swap is what batches records under
// load.
type core struct {
	addrs  []string // the address given, then opts.Fallback
	cur    int      // index in addrs of the server in use; the writer goroutine's
	opts   ForwarderOptions
	sipyco bool      // opts.Protocol is wire.ProtocolSiPyCo
	pool   sync.Pool // *encState

	life context.Context // ends at Close; internal, not a caller's context
	stop context.CancelFunc
	wg   sync.WaitGroup
	wake chan struct{} // capacity 1: new records or acknowledgements

	qlen         atomic.Int64  // len of q in records, read without the lock by full
	pendingDrops atomic.Uint64 // dropped since the last "records dropped" notice
	dropped      atomic.Uint64 // dropped in total
	delivered    atomic.Uint64
	reconnects   atomic.Uint64

	// mu guards the fields below it: the queue (q, qn, spare), the
	// enqueued/settled counts Flush compares, the progress channel, closed,
	// and the current connection. Handle holds it only to copy one encoded
	// record in; nothing blocking happens under it.
	mu        sync.Mutex
	q         []byte // encoded records waiting for the writer
	qn        int    // records in q
	spare     []byte // the writer's last batch buffer, for reuse
	enqueued  uint64 // records accepted into q, ever
	settled   uint64 // accepted records since delivered or dropped
	progress  chan struct{}
	closed    bool
	conn      net.Conn // current connection, closed by close to interrupt I/O
	connected bool
	notice    *encState // encodes drop notices, under mu
}

// addr is the address of the server in use (the writer goroutine's).
func (c *core) addr() string { return c.addrs[c.cur] }

// next moves to the next server (the writer goroutine's).
func (c *core) next() { c.cur = (c.cur + 1) % len(c.addrs) }

func newCore(addr string, opts ForwarderOptions) *core {
	c := &core{
		addrs:    append([]string{addr}, opts.Fallback...),
		opts:     opts,
		sipyco:   opts.Protocol == wire.ProtocolSiPyCo,
		wake:     make(chan struct{}, 1),
		progress: make(chan struct{}),
		notice:   newEncState(opts.MaxFrameSize),
	}
	c.pool.New = func() any { return newEncState(opts.MaxFrameSize) }
	c.life, c.stop = context.WithCancel(context.Background())
	c.wg.Add(1)
	go c.run()
	return c
}

// putEncState returns st to the pool unless its buffer grew large.
func (c *core) putEncState(st *encState) {
	if cap(st.e.B) <= 64<<10 {
		c.pool.Put(st)
	}
}

// full is a lock-free early out for Handle when the queue is full, so a
// forwarder whose server is down costs its callers almost nothing.
func (c *core) full() bool { return c.qlen.Load() >= int64(c.opts.QueueSize) }

func (c *core) drop(n uint64) {
	c.dropped.Add(n)
	c.pendingDrops.Add(n)
}

// enqueue appends one encoded record, preceded by a drop notice if records
// were dropped since the last one. It never blocks beyond the short lock.
func (c *core) enqueue(rec []byte) {
	c.mu.Lock()
	if c.closed || c.qn >= c.opts.QueueSize || len(c.q)+len(rec) > c.opts.QueueBytes ||
		len(rec) > c.opts.MaxFrameSize+4 {
		c.mu.Unlock()
		c.drop(1)
		return
	}
	if !c.appendNoticeLocked(1, len(rec)) {
		c.mu.Unlock()
		c.drop(1)
		return
	}
	c.q = append(c.q, rec...)
	c.qn++
	c.enqueued++
	c.qlen.Store(int64(c.qn))
	c.mu.Unlock()
	c.signal()
}

// appendNoticeLocked queues the "N records dropped" notice when records
// were dropped since the last one, if the queue has room for it and for
// extraN more records of extraBytes; it reports false when a notice is due
// and does not fit. Called with mu held.
func (c *core) appendNoticeLocked(extraN, extraBytes int) bool {
	pd := c.pendingDrops.Load()
	if pd == 0 {
		return true
	}
	notice := c.encodeNotice(pd)
	if c.qn+1+extraN > c.opts.QueueSize || len(c.q)+len(notice)+extraBytes > c.opts.QueueBytes {
		return false
	}
	c.pendingDrops.Add(-pd)
	c.q = append(c.q, notice...)
	c.qn++
	c.enqueued++
	return true
}

func (c *core) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// encodeNotice returns the "N records dropped" record, valid until the
// next call. Called with mu held.
func (c *core) encodeNotice(n uint64) []byte {
	st := c.notice
	st.e.B = st.e.B[:0]
	msg := fmt.Sprintf("%d records dropped", n)
	if c.sipyco {
		appendLineRecord(&st.e.B, c.opts.Source, slog.LevelWarn, "logfwd", msg)
		return st.e.B
	}
	at := st.e.Begin()
	st.recordHead(time.Now(), slog.LevelWarn, "logfwd", msg)
	st.e.B = append(st.e.B, 0x91) // fixarray(1)
	st.attr(slog.Uint64("dropped", n))
	_ = st.e.End(at) // a few dozen bytes
	return st.e.B
}

// take hands the writer everything queued.
func (c *core) take() ([]byte, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.qn == 0 {
		return nil, 0
	}
	b, n := c.q, c.qn
	c.q, c.spare, c.qn = c.spare[:0], nil, 0
	c.qlen.Store(0)
	return b, n
}

// giveBack returns a batch buffer for reuse, unless it grew huge.
func (c *core) giveBack(b []byte) {
	if cap(b) > 4<<20 {
		return
	}
	c.mu.Lock()
	if c.spare == nil {
		c.spare = b[:0]
	}
	c.mu.Unlock()
}

// settle records n accepted records as done (delivered or dropped late)
// and wakes Flush callers.
func (c *core) settle(n uint64) {
	if n == 0 {
		return
	}
	c.mu.Lock()
	c.settled += n
	if !c.closed {
		close(c.progress)
		c.progress = make(chan struct{})
	}
	c.mu.Unlock()
}

func (c *core) flush(ctx context.Context) error {
	c.mu.Lock()
	// Drops since the last record would otherwise be reported only with
	// the next record, which may never come (Shutdown flushes too).
	notified := false
	if !c.closed && c.pendingDrops.Load() > 0 && c.appendNoticeLocked(0, 0) {
		c.qlen.Store(int64(c.qn))
		notified = true
	}
	target := c.enqueued
	for {
		if c.closed {
			c.mu.Unlock()
			return ErrClosed
		}
		if c.settled >= target {
			c.mu.Unlock()
			return nil
		}
		ch := c.progress
		c.mu.Unlock()
		if notified {
			c.signal()
			notified = false
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		c.mu.Lock()
	}
}

func (c *core) close() {
	var conn net.Conn
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		c.stop()
		conn = c.conn
		close(c.progress)
	}
	c.mu.Unlock()
	// Outside the lock: closing a TLS connection writes an alert, which may
	// wait on a full send buffer, and Handle must never wait on c.mu for it.
	if conn != nil {
		conn.Close()
	}
	c.wg.Wait()
}

func (c *core) stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{
		Queued:     c.qn,
		Delivered:  c.delivered.Load(),
		Dropped:    c.dropped.Load(),
		Reconnects: c.reconnects.Load(),
		Connected:  c.connected,
	}
}

// setConn publishes the current connection so close can interrupt it; it
// fails (and closes conn) if the forwarder is already closed.
func (c *core) setConn(conn net.Conn, connected bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed && conn != nil {
		conn.Close()
		return false
	}
	c.conn, c.connected = conn, connected
	return true
}
