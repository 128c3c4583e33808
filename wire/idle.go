package wire

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ErrIdleTimeout is returned by reads on a connection closed for having
// been idle (see WithIdleTimeout). errors.Is(err, net.ErrClosed) also holds,
// so code that treats a closed connection as an ordinary end keeps doing so.
var ErrIdleTimeout error = idleError{}

type idleError struct{}

func (idleError) Error() string {
	return "wire: connection closed: the peer sent nothing for the idle timeout"
}
func (idleError) Is(target error) bool { return target == net.ErrClosed }

// WithIdleTimeout returns c wrapped so that it is closed once the peer has
// sent nothing for d while a Read was waiting: every byte that arrives
// extends the time, and time spent not reading (serving a long call,
// writing to a slow peer) never counts. The protocol's own deadlines
// (SetReadDeadline and friends) pass through untouched; the idle check is
// a timer, not a deadline. Reads after the idle close return
// ErrIdleTimeout. Close stops the timer.
//
// Wrap the connection below TLS and below a *Conn (an AcceptLoop with
// IdleTimeout does that for every connection it accepts). d <= 0 returns c.
func WithIdleTimeout(c net.Conn, d time.Duration) net.Conn {
	if d <= 0 {
		return c
	}
	ic := &idleConn{Conn: c, timeout: d}
	ic.last.Store(time.Now().UnixNano())
	ic.mu.Lock() // check may run before AfterFunc returns
	ic.timer = time.AfterFunc(d, ic.check)
	ic.mu.Unlock()
	return ic
}

type idleConn struct {
	net.Conn
	timeout time.Duration
	last    atomic.Int64 // UnixNano when a Read last began or returned
	reading atomic.Int32 // Reads in progress
	idled   atomic.Bool  // closed by check

	mu     sync.Mutex // guards timer against check after Close
	closed bool
	timer  *time.Timer
}

func (c *idleConn) Read(p []byte) (int, error) {
	c.reading.Add(1)
	c.last.Store(time.Now().UnixNano())
	n, err := c.Conn.Read(p)
	c.last.Store(time.Now().UnixNano())
	c.reading.Add(-1)
	if err != nil && c.idled.Load() {
		err = ErrIdleTimeout
	}
	return n, err
}

func (c *idleConn) check() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	next := c.timeout
	if c.reading.Load() > 0 {
		idle := time.Duration(time.Now().UnixNano() - c.last.Load())
		if idle >= c.timeout {
			c.idled.Store(true)
			c.closed = true
			c.Conn.Close()
			return
		}
		next = c.timeout - idle
	}
	c.timer.Reset(next)
}

func (c *idleConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.timer.Stop()
	c.mu.Unlock()
	return c.Conn.Close()
}

// NetConn returns the wrapped connection.
func (c *idleConn) NetConn() net.Conn { return c.Conn }
