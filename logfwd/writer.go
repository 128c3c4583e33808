package logfwd

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sigoco/sigoco/internal/backoff"
	"github.com/sigoco/sigoco/wire"
)

// unacked holds the records written to the server but not yet
// acknowledged (native format), or a batch whose write failed (SiPyCo
// format), in order. They are sent again, first, on the next connection.
type unacked struct {
	buf []byte
	off int // start of the first record still held
	n   int // records held
}

func (u *unacked) size() int { return len(u.buf) - u.off }

// trim forgets the first k frames.
func (u *unacked) trim(k int) {
	for ; k > 0 && u.n > 0; k-- {
		u.off += 4 + int(binary.BigEndian.Uint32(u.buf[u.off:]))
		u.n--
	}
	switch {
	case u.n == 0:
		u.reset()
	case u.off > 1<<20 && u.off > len(u.buf)/2:
		u.buf = u.buf[:copy(u.buf, u.buf[u.off:])]
		u.off = 0
	}
}

func (u *unacked) reset() {
	if cap(u.buf) > 4<<20 {
		u.buf = nil
	}
	u.buf, u.off, u.n = u.buf[:0], 0, 0
}

// run is the writer goroutine: connect, send until the connection breaks,
// wait a jittered backoff, again, until Close. The first failure of an
// outage is a warning with its reason, the retries debug records, so a
// wrong address or a port that is not a log server is said once, clearly.
func (c *core) run() {
	defer c.wg.Done()
	var held unacked
	failures := 0 // failed attempts since the last connection
	first := true
	for {
		conn, maxRec, err := c.connect()
		if err == nil {
			if !first {
				c.reconnects.Add(1)
			}
			first = false
			failures = 0
			c.opts.Logger.Info("logfwd: connected to log server", "addr", c.addr())
			err = c.session(conn, maxRec, &held)
			c.setConn(nil, false)
			if c.life.Err() == nil {
				c.opts.Logger.Warn("logfwd: connection to log server lost; reconnecting", "addr", c.addr(), "err", err)
			}
			c.next() // the same server when there is one
		} else if c.life.Err() == nil {
			msg, level := c.connectFailure(err), slog.LevelDebug
			if failures == 0 {
				level = slog.LevelWarn
				msg += "; will keep retrying, records wait in the queue"
			}
			c.opts.Logger.Log(context.Background(), level, msg, "addr", c.addr(), "err", err)
			failures++
			c.next()
		}
		if c.life.Err() != nil {
			return
		}
		t := time.NewTimer(backoff.Wait(max(failures-1, 0), c.opts.MinBackoff, c.opts.MaxBackoff))
		select {
		case <-t.C:
		case <-c.life.Done():
			t.Stop()
			return
		}
	}
}

// connectFailure says what kind of failure err is: the address reaches
// nothing, a server that refused in words, or something that is not a log
// server (or, without TLS, maybe a log server that wants TLS: a SiPyCo one
// hangs up on a plaintext banner).
func (c *core) connectFailure(err error) string {
	var pe *PeerError
	switch {
	case errors.As(err, &pe):
		// The peer said why in words (err): a wire.Mux without our banner,
		// a TLS port, a server past its MaxConns, a refused hello.
		return "logfwd: the server refused the connection"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET):
		if c.opts.TLS == nil {
			return "logfwd: not a log server, or one that requires TLS (the port closed the connection without a word)"
		}
		return "logfwd: not a log server (the port closed the connection without a word)"
	case errors.Is(err, ErrHandshake):
		return "logfwd: not a log server (the port answers, but not as a log server of this protocol)"
	}
	return "logfwd: cannot reach log server"
}

// connect dials, sends the banner and, for the native format, exchanges
// hellos. It returns the largest record the server takes.
func (c *core) connect() (*wire.Conn, int, error) {
	ctx, cancel := context.WithTimeout(c.life, c.opts.HandshakeTimeout)
	defer cancel()
	banner := wire.BannerLog
	if c.sipyco {
		banner = wire.BannerSiPyCoLog
	}
	conn, err := wire.Dial(ctx, c.addr(), c.opts.TLS, banner)
	if err != nil {
		return nil, 0, err
	}
	if !c.setConn(conn, false) {
		return nil, 0, ErrClosed
	}
	maxRec := c.opts.MaxFrameSize
	if !c.sipyco {
		deadline, _ := ctx.Deadline()
		conn.SetDeadline(deadline)
		limit, err := c.handshake(conn)
		if err != nil {
			conn.Close()
			return nil, 0, err
		}
		conn.SetDeadline(time.Time{})
		if limit > 0 {
			maxRec = min(maxRec, limit)
		}
	}
	c.setConn(conn, true)
	return conn, maxRec, nil
}

func (c *core) handshake(conn *wire.Conn) (int, error) {
	st := newEncState(controlFrameLimit)
	if c.opts.Token != "" {
		st.helloFrame("source", c.opts.Source, "token", c.opts.Token)
	} else {
		st.helloFrame("source", c.opts.Source)
	}
	if _, err := conn.Write(st.e.B); err != nil {
		return 0, err
	}
	// A wire.Mux that does not serve our banner answers with a text line.
	if p, err := conn.R.Peek(4); err == nil && string(p) == "SIGO" {
		line, _ := wire.ReadLine(conn.R, wire.MaxBannerLen)
		return 0, &PeerError{Message: strings.TrimPrefix(line, "SIGOCO error: ")}
	}
	frame, err := conn.FrameReader(controlFrameLimit).Next()
	if err != nil {
		return 0, fmt.Errorf("%w: reading the server's hello: %w", ErrHandshake, err)
	}
	dc := newDecoder(0)
	op, n, err := dc.frame(frame)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	switch op {
	case opHello:
		h, err := dc.hello(n)
		if err != nil {
			return 0, fmt.Errorf("%w: %w", ErrHandshake, err)
		}
		limit, _ := h["max_frame"].(int64)
		if u, ok := h["max_frame"].(uint64); ok {
			limit = int64(min(u, 1<<62))
		}
		return int(min(limit, 1<<31-1)), nil
	case opError:
		return 0, &PeerError{Message: dc.errorReason(n)}
	default:
		return 0, fmt.Errorf("%w: unexpected %q frame", ErrHandshake, op)
	}
}

// session sends until the connection fails or the forwarder closes. Held
// records go first; every record written joins them until acknowledged.
// However the session ends, the acknowledgements that arrived are applied
// before it returns, so the next connection resends only what the server
// has not handled.
func (c *core) session(conn *wire.Conn, maxRec int, held *unacked) error {
	native := !c.sipyco
	var acked atomic.Uint64
	readerDone := make(chan error, 1)
	go func() { readerDone <- c.readLoop(conn, &acked) }()

	// The ack timer runs while written records wait for their ack; every
	// ack that advances restarts it. A server that takes records but never
	// acknowledges them would otherwise stall delivery for good.
	ackTimer := time.NewTimer(c.opts.AckTimeout)
	ackTimer.Stop()
	defer ackTimer.Stop()
	ackArmed := false
	var ackBase uint64
	applyAcks := func() {
		advanced := false
		if a := acked.Load(); a > ackBase {
			k := int(min(a-ackBase, uint64(held.n)))
			held.trim(k)
			ackBase = a
			c.delivered.Add(uint64(k))
			c.settle(uint64(k))
			advanced = true
		}
		switch {
		case !native || held.n == 0:
			if ackArmed {
				ackTimer.Stop()
				ackArmed = false
			}
		case advanced || !ackArmed:
			ackTimer.Reset(c.opts.AckTimeout)
			ackArmed = true
		}
	}
	written := func() { // SiPyCo: no acknowledgements, written is done
		if !native {
			c.delivered.Add(uint64(held.n))
			c.settle(uint64(held.n))
			held.reset()
		}
	}
	// The heartbeat timer restarts with every write; when it fires, a
	// ping keeps a server's idle timeout from cutting a quiet forwarder.
	var heartbeat <-chan time.Time
	var hbTimer *time.Timer
	if native && c.opts.HeartbeatInterval > 0 {
		hbTimer = time.NewTimer(c.opts.HeartbeatInterval)
		defer hbTimer.Stop()
		heartbeat = hbTimer.C
	}
	send := func(b []byte) error {
		if hbTimer != nil {
			hbTimer.Reset(c.opts.HeartbeatInterval)
		}
		return c.write(conn, b)
	}
	var readerErr error
	readerEnded := false
	pump := func() error {
		if held.n > 0 {
			if err := send(held.buf[held.off:]); err != nil {
				return err
			}
			written()
		}
		for {
			applyAcks()
			if held.n < c.opts.QueueSize && held.size() < c.opts.QueueBytes {
				if batch, n := c.take(); n > 0 {
					start := len(held.buf)
					if native && maxRec < c.opts.MaxFrameSize {
						held.buf, n = c.appendFitting(held.buf, batch, maxRec)
					} else {
						held.buf = append(held.buf, batch...)
					}
					held.n += n
					c.giveBack(batch)
					if err := send(held.buf[start:]); err != nil {
						return err
					}
					written()
					continue
				}
			}
			select {
			case <-c.wake:
			case <-heartbeat:
				if err := send(pingBytes); err != nil {
					return err
				}
			case <-ackTimer.C:
				return fmt.Errorf("%w: no acknowledgement for %v", errAckTimeout, c.opts.AckTimeout)
			case readerErr = <-readerDone:
				readerEnded = true
				if readerErr == nil {
					return io.EOF
				}
				return readerErr
			case <-c.life.Done():
				return ErrClosed
			}
		}
	}
	err := pump()
	conn.Close()
	if !readerEnded {
		readerErr = <-readerDone
	}
	applyAcks()
	var rej *rejectedError
	if errors.As(readerErr, &rej) && held.n > 0 {
		// The server handled the records before the one it refused:
		// drop that one rather than resend it forever.
		held.trim(1)
		c.drop(1)
		c.settle(1)
		err = rej
	}
	return err
}

// appendFitting appends the frames of batch that the server accepts and
// drops (and counts) the others. It returns the frames kept.
func (c *core) appendFitting(dst, batch []byte, maxRec int) ([]byte, int) {
	kept, late := 0, uint64(0)
	for len(batch) >= 4 {
		n := 4 + int(binary.BigEndian.Uint32(batch))
		if n-4 <= maxRec {
			dst = append(dst, batch[:n]...)
			kept++
		} else {
			late++
		}
		batch = batch[n:]
	}
	if late > 0 {
		c.drop(late)
		c.settle(late)
	}
	return dst, kept
}

func (c *core) write(conn *wire.Conn, b []byte) error {
	conn.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
	_, err := conn.Write(b)
	return err
}

// pingBytes is the ["ping"] frame.
var pingBytes = func() []byte {
	st := newEncState(controlFrameLimit)
	st.pingFrame()
	return st.e.B
}()

// errAckTimeout ends a session whose server stopped acknowledging.
var errAckTimeout = errors.New("logfwd: the server stopped acknowledging records")

// rejectedError is a server's refusal of a record after the handshake.
type rejectedError struct{ reason string }

func (e *rejectedError) Error() string {
	return "logfwd: server rejected a record (dropped): " + e.reason
}

// readLoop reads acknowledgements (native) or just waits for the server
// to close (SiPyCo, whose server never writes).
func (c *core) readLoop(conn *wire.Conn, acked *atomic.Uint64) error {
	if c.sipyco {
		_, err := io.Copy(io.Discard, conn)
		return err
	}
	dc := newDecoder(0)
	fr := conn.FrameReader(controlFrameLimit)
	for {
		frame, err := fr.Next()
		if err != nil {
			return err
		}
		op, n, err := dc.frame(frame)
		if err != nil {
			return err
		}
		switch op {
		case opAck:
			a, err := dc.ack(n)
			if err != nil {
				return err
			}
			acked.Store(a)
			c.signal()
		case opError:
			reason, handled, counted := dc.errorFrame(n)
			if !counted {
				return &PeerError{Message: reason}
			}
			acked.Store(handled)
			return &rejectedError{reason: reason}
		default:
			return fmt.Errorf("%w: unexpected %q frame from server", ErrBadRecord, op)
		}
	}
}
