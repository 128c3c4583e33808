package syncstruct

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/sigoco/sigoco/wire"
)

// Protocol is the protocol a Subscriber speaks to a TCP address.
type Protocol = wire.Protocol

const (
	// ProtocolAuto speaks sigoco's own protocol and falls back to
	// SiPyCo's only on positive evidence of a SiPyCo publisher: the
	// native handshake closed without a word (what SiPyCo's Publisher does
	// with a banner it does not know), SiPyCo's handshake answered with an
	// init, and a second native probe closed without a word again. A
	// sigoco publisher that answers the probe (one that merely dropped a
	// connection while restarting, or a proxy that did) gets the SiPyCo
	// connection closed and a native one at once, so its subscribers keep
	// epochs, resumption and heartbeats. The choice is made again at every
	// connection: native is always tried first.
	ProtocolAuto = wire.ProtocolAuto
	// ProtocolNative speaks only "SIGOCO sync 2".
	ProtocolNative = wire.ProtocolNative
	// ProtocolSiPyCo speaks only SiPyCo's "ARTIQ sync_struct" (TCP and
	// TLS; SiPyCo has no WebSocket transport).
	ProtocolSiPyCo = wire.ProtocolSiPyCo
)

// sipycoMaxLine is the default line limit for SiPyCo publishers: what
// SiPyCo's own Subscriber accepts (its init line holds the whole tree).
const sipycoMaxLine = 100 << 20

// errNoAnswer marks a native handshake the publisher closed without
// answering: not a sigoco publisher (ProtocolAuto then tries SiPyCo's).
var errNoAnswer = errors.New("syncstruct: the publisher closed the connection without answering (not a sigoco publisher?)")

// isSilentClose reports how a peer that closed the connection shows: an
// end of stream, or a reset when it closed with our bytes still unread.
func isSilentClose(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// connect runs one connection in the configured protocol.
func (s *Subscriber) connect(ctx context.Context) (synced bool, err error) {
	if s.opts.Protocol == ProtocolSiPyCo {
		return s.connectSiPyCo(ctx)
	}
	synced, err = s.connectNative(ctx)
	if s.opts.Protocol == ProtocolAuto && errors.Is(err, errNoAnswer) && ctx.Err() == nil {
		s.opts.Logger.Debug("syncstruct: no answer to the native handshake; trying SiPyCo's sync_struct", "addr", s.addr, "err", err)
		return s.connectSiPyCoAuto(ctx)
	}
	return synced, err
}

// errNativeAnswered ends a SiPyCo connection made by ProtocolAuto when the
// publisher answered the native probe after all: it is a sigoco publisher,
// and the subscriber reconnects natively at once.
var errNativeAnswered = errors.New("syncstruct: the publisher answered the native handshake; reconnecting natively")

// probeName is the notifier a native probe subscribes to: no publisher
// serves it (it cannot be sent on SiPyCo's name line), so a sigoco
// publisher answers with an unknown_notifier error right away, without
// sending any snapshot.
const probeName = "\nsigoco-probe"

// probeNative reports whether the publisher answers the native handshake
// (any message: a sigoco publisher), as opposed to closing the connection
// without a word (a SiPyCo publisher). Other failures are no evidence
// either way and report false.
func (s *Subscriber) probeNative(ctx context.Context) bool {
	hctx, cancel := context.WithTimeout(ctx, s.opts.HandshakeTimeout)
	defer cancel()
	t, err := s.dial(hctx)
	if err != nil {
		return false
	}
	defer t.close()
	stop := context.AfterFunc(hctx, func() { t.close() })
	defer stop()
	t.setWriteDeadline(time.Now().Add(s.opts.HandshakeTimeout))
	if err := t.writeMsgs([][]byte{t.control(&control{T: msgSubscribe, Notifier: probeName})}); err != nil {
		return false
	}
	t.setReadDeadline(time.Now().Add(s.opts.HandshakeTimeout))
	b, err := t.readMsg()
	if err != nil {
		return false
	}
	var m message
	return newMsgDecoder().decode(b, &m) == nil && m.T != ""
}

// connectSiPyCoAuto is connectSiPyCo for ProtocolAuto: when the init
// has arrived, and before it replaces the replica, a native probe must be
// closed without a word again; a publisher that answers it is a sigoco
// publisher (the first close was a restart or a proxy), and the SiPyCo
// connection ends with errNativeAnswered, the replica and its position
// untouched, so that the native reconnection resumes.
func (s *Subscriber) connectSiPyCoAuto(ctx context.Context) (bool, error) {
	native := false
	synced, err := s.sipycoConn(ctx, func() bool {
		native = s.probeNative(ctx)
		return !native
	})
	if native && ctx.Err() == nil {
		s.opts.Logger.Debug("syncstruct: the publisher answered the native probe; leaving SiPyCo's protocol", "addr", s.addr)
		return synced, errNativeAnswered
	}
	return synced, err
}

// connectSiPyCo runs one connection to a SiPyCo Publisher: the banner and
// the notifier name, then one PYON line per mod, the first an init. Every
// init (one per connection, and any later one on the same connection)
// replaces the replica: SiPyCo cannot resume.
func (s *Subscriber) connectSiPyCo(ctx context.Context) (synced bool, err error) {
	return s.sipycoConn(ctx, nil)
}

// SiPyCo connections have no heartbeats: a publisher that vanishes without
// closing (its host down, a cable out) is noticed by TCP keepalive,
// within sipycoKeepIdle + sipycoKeepCount·sipycoKeepInterval (20 s) of its
// last byte. docs/sipyco.md states this staleness rule.
const (
	sipycoKeepIdle     = 5 * time.Second
	sipycoKeepInterval = 5 * time.Second
	sipycoKeepCount    = 3
)

// setKeepAlive turns on TCP keepalive with the SiPyCo staleness rule.
func setKeepAlive(c *wire.Conn) {
	nc := c.NetConn()
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: sipycoKeepIdle, Interval: sipycoKeepInterval, Count: sipycoKeepCount})
	}
}

// sipycoConn runs one SiPyCo connection; confirm, if set, is called when
// the first init has arrived, before it is applied, and the connection
// ends if it returns false.
func (s *Subscriber) sipycoConn(ctx context.Context, confirm func() bool) (synced bool, err error) {
	if isWebSocketAddr(s.addr) {
		return false, fmt.Errorf("syncstruct: SiPyCo's sync_struct runs over TCP, not WebSocket (%s)", s.addr)
	}
	if !validSiPyCoName(s.name) {
		return false, fmt.Errorf("syncstruct: notifier name %q cannot be sent to a SiPyCo publisher", truncate(s.name, 64))
	}
	hctx, cancel := context.WithTimeout(ctx, s.opts.HandshakeTimeout)
	c, err := wire.Dial(hctx, s.addr, s.opts.TLS, wire.BannerSiPyCoSync)
	cancel()
	if err != nil {
		return false, fmt.Errorf("syncstruct: dial %s: %w", s.addr, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	setKeepAlive(c)

	c.SetDeadline(time.Now().Add(s.opts.HandshakeTimeout))
	if _, err := io.WriteString(c, s.name+"\n"); err != nil {
		return false, fmt.Errorf("syncstruct: sending the notifier name: %w", err)
	}
	c.SetWriteDeadline(time.Time{}) // nothing more is written

	lr := lineReader{r: bufio.NewReaderSize(c, subReadBuf), limit: s.lineLimit}
	// Until the init has arrived, silence is bounded by HandshakeTimeout
	// (pushed back while a long init line keeps arriving); after it the
	// connection may idle for ever: SiPyCo sends no heartbeats, and a dead
	// publisher is left to TCP keepalive.
	lr.progress = func() { c.SetReadDeadline(time.Now().Add(s.opts.HandshakeTimeout)) }
	inits := 0
	for {
		line, err := lr.next()
		if err != nil {
			if ctx.Err() != nil {
				return synced, nil
			}
			if inits == 0 && isSilentClose(err) {
				return false, fmt.Errorf("syncstruct: the SiPyCo publisher closed the connection before sending %q (as SiPyCo does for an unknown notifier name): %w", truncate(s.name, 64), err)
			}
			if isTimeout(err) {
				return synced, fmt.Errorf("syncstruct: no init from the SiPyCo publisher within %v: %w", s.opts.HandshakeTimeout, err)
			}
			return synced, err
		}
		m, err := decodeSiPyCoMod(line)
		lr.release()
		if err != nil {
			return synced, fmt.Errorf("syncstruct: SiPyCo line: %w", err)
		}
		if m.Action == ActInit {
			if inits == 0 {
				lr.progress = nil
				c.SetReadDeadline(time.Time{})
				if confirm != nil && !confirm() {
					return false, nil
				}
			}
			inits++
			s.sipycoInit(m, inits > 1)
			synced = true
			continue
		}
		if inits == 0 {
			return false, fmt.Errorf("%w: a %s mod before the init", ErrBadMessage, m.Action)
		}
		if err := s.sipycoMod(m); err != nil {
			return synced, err
		}
	}
}

// sipycoInit replaces the replica with an init's tree and reports the
// sync. again: a second init on the same connection.
func (s *Subscriber) sipycoInit(m *Mod, again bool) {
	tree := m.Struct
	if s.opts.TargetBuilder != nil {
		tree = s.opts.TargetBuilder(tree)
	}
	s.mu.Lock()
	s.tree, s.epoch, s.seq = tree, 0, 0
	info := SyncInfo{First: !s.synced, Reason: ReasonNew}
	resync := s.synced
	switch {
	case again:
		info.Reason = ReasonReinit
	case resync:
		info.Reason = ReasonSiPyCo
	}
	s.synced = true
	s.mu.Unlock()
	m.Struct = tree
	for _, fn := range s.opts.OnMod {
		fn(tree, m)
	}
	if resync && s.opts.OnResync != nil {
		s.opts.OnResync(info)
	}
	if s.opts.OnSynced != nil {
		s.opts.OnSynced(info)
	}
	s.mu.Lock()
	s.setStateLocked(StateSynced, nil)
	s.mu.Unlock()
}

// sipycoMod applies a mod to the replica; its Seq counts the mods since
// the last init.
func (s *Subscriber) sipycoMod(m *Mod) error {
	s.mu.Lock()
	tree, err := Apply(s.tree, m)
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("syncstruct: replica out of step: %w", err)
	}
	s.seq++
	s.tree, m.Seq = tree, s.seq
	s.mu.Unlock()
	for _, fn := range s.opts.OnMod {
		fn(tree, m)
	}
	return nil
}

// lineReader reads newline-terminated lines of at most limit bytes,
// reusing its buffer.
type lineReader struct {
	r        *bufio.Reader
	limit    int
	buf      []byte
	progress func() // if set, called each time part of a long line arrives
}

// next returns the next line without its newline; it is valid until the
// next call.
func (lr *lineReader) next() ([]byte, error) {
	lr.buf = lr.buf[:0]
	for {
		chunk, err := lr.r.ReadSlice('\n')
		if len(lr.buf)+len(chunk) > lr.limit+1 {
			return nil, fmt.Errorf("%w: a line over %d bytes (SubscriberOptions.MaxFrameSize)", ErrBadMessage, lr.limit)
		}
		lr.buf = append(lr.buf, chunk...)
		switch err {
		case nil:
			return lr.buf[:len(lr.buf)-1], nil
		case bufio.ErrBufferFull:
			if lr.progress != nil {
				lr.progress()
			}
		default:
			if err == io.EOF && len(lr.buf) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// release drops a buffer a large line (an init) left behind.
func (lr *lineReader) release() {
	if cap(lr.buf) > 1<<20 {
		lr.buf = nil
	}
}

// validSiPyCoName reports whether name can be sent on SiPyCo's name line.
func validSiPyCoName(name string) bool {
	return name != "" && !strings.ContainsAny(name, "\r\n")
}
