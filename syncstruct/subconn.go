package syncstruct

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sigoco/sigoco/wire"
	"github.com/vmihailenco/msgpack/v5"
)

// subReadBuf is the read buffer of a subscriber's TCP connection: large
// reads, since mods arrive in bursts.
const subReadBuf = 64 << 10

// dial opens a transport to the publisher and sends nothing yet.
func (s *Subscriber) dial(ctx context.Context) (transport, error) {
	if isWebSocketAddr(s.addr) {
		d := websocket.Dialer{
			TLSClientConfig:  s.opts.TLS,
			HandshakeTimeout: s.opts.HandshakeTimeout,
			ReadBufferSize:   subReadBuf,
		}
		ws, _, err := d.DialContext(ctx, s.addr, nil)
		if err != nil {
			return nil, fmt.Errorf("syncstruct: dial %s: %w", s.addr, err)
		}
		ws.SetReadLimit(int64(s.opts.MaxFrameSize))
		return &wsTransport{ws: ws}, nil
	}
	c, err := wire.Dial(ctx, s.addr, s.opts.TLS, wire.BannerSync)
	if err != nil {
		return nil, fmt.Errorf("syncstruct: dial %s: %w", s.addr, err)
	}
	return newFrameTransport(c, s.opts.MaxFrameSize, subReadBuf), nil
}

// connectNative runs one connection: subscribe, initial sync, then mods
// until the connection fails or ctx ends. synced reports whether an
// initial sync completed on it. A TCP connection the publisher closes
// before its first message fails with errNoAnswer.
func (s *Subscriber) connectNative(ctx context.Context) (synced bool, err error) {
	hctx, cancel := context.WithTimeout(ctx, s.opts.HandshakeTimeout)
	t, err := s.dial(hctx)
	cancel()
	if err != nil {
		return false, err
	}
	defer t.close()
	stop := context.AfterFunc(ctx, func() { t.close() })
	defer stop()

	s.mu.RLock()
	epoch, seq := s.epoch, s.seq
	s.mu.RUnlock()
	t.setWriteDeadline(time.Now().Add(s.opts.HandshakeTimeout))
	if err := t.writeMsgs([][]byte{t.control(&control{T: msgSubscribe, Notifier: s.name, Epoch: epoch, Seq: seq, Token: s.opts.Token})}); err != nil {
		if _, ok := t.(*frameTransport); ok && isSilentClose(err) {
			return false, fmt.Errorf("%w: subscribe: %w", errNoAnswer, err)
		}
		return false, fmt.Errorf("syncstruct: subscribe: %w", err)
	}
	t.setWriteDeadline(time.Time{})

	c := &subConn{s: s, t: t, dec: newMsgDecoder(), timeout: s.opts.HandshakeTimeout}
	defer c.stopPinger()
	err = c.receive(ctx)
	if ctx.Err() != nil {
		err = nil
	}
	return c.synced, err
}

// maxHeartbeatMS is the longest heartbeat interval a publisher may ask
// for: a day.
const maxHeartbeatMS = 24 * 60 * 60 * 1000

// subConn is the receiving side of one connection.
type subConn struct {
	s       *Subscriber
	t       transport
	dec     *msgDecoder
	msg     message
	timeout time.Duration // silence allowed before giving up
	lastDL  time.Time     // when the read deadline was last pushed back
	gotAny  bool          // a message has arrived on this connection

	synced bool     // an initial sync completed on this connection
	inSync bool     // between sync and synced
	info   SyncInfo // of the sync in progress

	pingStop chan struct{}
	pingWG   sync.WaitGroup
	pingErr  chan error
}

// read returns the next message, decoded into c.msg.
func (c *subConn) read() error {
	// Pushing the deadline back costs a little; do it at most a few times
	// per timeout period rather than per message, and only before a read
	// that may wait on the connection: a message already buffered is
	// returned without one (even reading the clock per message was a tenth
	// of a fan-out's CPU, issue #26).
	if !c.t.buffered() {
		if now := time.Now(); now.Sub(c.lastDL) > c.timeout/8 {
			c.t.setReadDeadline(now.Add(c.timeout))
			c.lastDL = now
		}
	}
	b, err := c.t.readMsg()
	if err != nil {
		if _, ok := c.t.(*frameTransport); ok && !c.gotAny && isSilentClose(err) {
			return fmt.Errorf("%w: %w", errNoAnswer, err)
		}
		if isTimeout(err) {
			return fmt.Errorf("%w (%v): %w", ErrHeartbeat, c.timeout, err)
		}
		var tooLarge *wire.FrameTooLargeError
		if errors.As(err, &tooLarge) && !c.synced && !c.inSync {
			if line := c.errorLine(); line != "" {
				return fmt.Errorf("syncstruct: publisher refused: %s", line)
			}
		}
		return err
	}
	c.gotAny = true
	return c.dec.decode(b, &c.msg)
}

// errorLine returns a "SIGOCO error: ..." line a Mux sends instead of a
// frame to a banner it does not serve.
func (c *subConn) errorLine() string {
	ft, ok := c.t.(*frameTransport)
	if !ok {
		return ""
	}
	b, _ := ft.r.Peek(ft.r.Buffered())
	if !strings.HasPrefix(string(b), "SIGOCO error") {
		return ""
	}
	line, _ := wire.ReadLine(ft.r, wire.MaxBannerLen)
	return line
}

func (c *subConn) receive(ctx context.Context) error {
	s := c.s
	for {
		if err := c.read(); err != nil {
			return err
		}
		m := &c.msg
		switch m.T {
		case "":
			if !c.inSync && !c.synced {
				return fmt.Errorf("%w: mod before sync", ErrBadMessage)
			}
			if err := c.applyMod(); err != nil {
				return err
			}
		case msgSync:
			if err := c.startSync(); err != nil {
				return err
			}
		case msgSynced:
			if !c.inSync {
				return fmt.Errorf("%w: synced without sync", ErrBadMessage)
			}
			s.mu.Lock()
			if m.Seq != s.seq {
				s.mu.Unlock()
				s.invalidate()
				return fmt.Errorf("%w: synced at %d, replica at %d", ErrGap, m.Seq, s.seq)
			}
			c.info.Seq = s.seq
			c.info.First = !s.synced
			resync := s.synced && !c.info.Resumed
			s.synced = true
			s.mu.Unlock()
			c.inSync, c.synced = false, true
			if resync && s.opts.OnResync != nil {
				s.opts.OnResync(c.info)
			}
			if s.opts.OnSynced != nil {
				s.opts.OnSynced(c.info)
			}
			// WaitSynced returns only after the callbacks have run.
			s.mu.Lock()
			s.setStateLocked(StateSynced, nil)
			s.mu.Unlock()
		case msgPing:
		case msgError:
			return &RemoteError{Code: m.Code, Message: m.Message}
		default:
			return fmt.Errorf("%w: unexpected %q message", ErrBadMessage, truncate(m.T, 32))
		}
		select {
		case err := <-c.pingErr:
			return fmt.Errorf("syncstruct: sending ping: %w", err)
		default:
		}
	}
}

// invalidate forgets the replica's position so the next connection asks
// for a snapshot: used when the replica can no longer be trusted.
func (s *Subscriber) invalidate() {
	s.mu.Lock()
	s.epoch = 0
	s.mu.Unlock()
}

func (c *subConn) applyMod() error {
	s := c.s
	m := &c.msg
	s.mu.Lock()
	if m.Seq != s.seq+1 || s.epoch == 0 {
		have := s.seq
		s.mu.Unlock()
		s.invalidate()
		return fmt.Errorf("%w: got %d after %d", ErrGap, m.Seq, have)
	}
	tree, err := Apply(s.tree, &m.Mod)
	if err != nil {
		s.mu.Unlock()
		s.invalidate()
		return fmt.Errorf("syncstruct: replica out of step: %w", err)
	}
	s.tree, s.seq = tree, m.Seq
	s.mu.Unlock()
	for _, fn := range s.opts.OnMod {
		fn(tree, &m.Mod)
	}
	return nil
}

// startSync handles a sync message: a resume needs nothing more; a
// snapshot is read and replaces the replica.
func (c *subConn) startSync() error {
	s := c.s
	m := &c.msg
	if m.HeartbeatMS > maxHeartbeatMS {
		// Its timeout would overflow a time.Duration.
		return fmt.Errorf("%w: heartbeat interval of %d ms", ErrBadMessage, m.HeartbeatMS)
	}
	if m.HeartbeatMS > 0 {
		c.timeout = 3 * time.Duration(m.HeartbeatMS) * time.Millisecond
		c.lastDL = time.Time{} // apply the new timeout at the next read
		c.startPinger(time.Duration(m.HeartbeatMS) * time.Millisecond)
	}
	c.inSync = true
	c.info = SyncInfo{Epoch: m.Epoch, Seq: m.Seq, Resumed: m.Mode == modeResume, Reason: m.Reason}
	switch m.Mode {
	case modeResume:
		s.mu.RLock()
		ok := s.epoch == m.Epoch && s.seq == m.Seq
		s.mu.RUnlock()
		if !ok {
			s.invalidate()
			return fmt.Errorf("%w: resume at %d/%d does not match the replica", ErrBadMessage, m.Epoch, m.Seq)
		}
		return nil
	case modeSnapshot:
	default:
		return fmt.Errorf("%w: sync mode %q", ErrBadMessage, truncate(m.Mode, 32))
	}
	epoch, want := m.Epoch, m.Seq
	if epoch == 0 {
		return fmt.Errorf("%w: epoch 0", ErrBadMessage)
	}
	init, err := c.readInit()
	if err != nil {
		return err
	}
	if init.Seq != want {
		return fmt.Errorf("%w: init at %d, sync said %d", ErrBadMessage, init.Seq, want)
	}
	tree := init.Struct
	if s.opts.TargetBuilder != nil {
		tree = s.opts.TargetBuilder(tree)
	}
	s.mu.Lock()
	s.tree, s.epoch, s.seq = tree, epoch, init.Seq
	s.mu.Unlock()
	init.Struct = tree
	for _, fn := range s.opts.OnMod {
		fn(tree, init)
	}
	return nil
}

// readInit reads an init mod sent as chunk messages.
func (c *subConn) readInit() (*Mod, error) {
	cr := &chunkReader{next: func() ([]byte, error) {
		if err := c.read(); err != nil {
			return nil, err
		}
		if c.msg.T != msgChunk {
			return nil, fmt.Errorf("%w: %q message inside a snapshot", ErrBadMessage, truncate(c.msg.T, 32))
		}
		return c.msg.D, nil
	}}
	m, err := decodeInit(msgpack.NewDecoder(cr))
	if err != nil {
		if cr.err != nil {
			// The connection failed: say so, not what the decoder made of
			// the missing bytes ("truncated").
			err = cr.err
		}
		return nil, fmt.Errorf("syncstruct: reading snapshot: %w", err)
	}
	if cr.pos != len(cr.cur) {
		return nil, fmt.Errorf("%w: %d bytes after the snapshot", ErrBadMessage, len(cr.cur)-cr.pos)
	}
	return m, nil
}

// decodeInit decodes {"action": "init", "struct": ..., "seq": ...} from a
// stream.
func decodeInit(d *msgpack.Decoder) (*Mod, error) {
	n, err := d.DecodeMapLen()
	if err != nil {
		return nil, err
	}
	m := &Mod{}
	var has uint16
	for range n {
		k, err := d.DecodeString()
		if err != nil {
			return nil, err
		}
		switch k {
		case "action":
			var a string
			a, err = d.DecodeString()
			m.Action = internAction(a)
			has |= hasAction
		case "struct":
			m.Struct, err = decodeValue(d, 0)
			has |= hasStruct
		case "seq":
			m.Seq, err = d.DecodeUint64()
		default:
			_, err = decodeValue(d, 1)
		}
		if err != nil {
			return nil, err
		}
	}
	if m.Action != ActInit || has&hasStruct == 0 {
		return nil, fmt.Errorf("%w: snapshot is not an init mod", ErrBadMessage)
	}
	return m, nil
}

func (c *subConn) startPinger(every time.Duration) {
	if c.pingStop != nil {
		return
	}
	c.pingStop = make(chan struct{})
	c.pingErr = make(chan error, 1)
	ping := c.t.control(&control{T: msgPing})
	timeout := c.timeout
	c.pingWG.Add(1)
	go func() {
		defer c.pingWG.Done()
		tk := time.NewTicker(every)
		defer tk.Stop()
		for {
			select {
			case <-tk.C:
				c.t.setWriteDeadline(time.Now().Add(timeout))
				if err := c.t.writeMsgs([][]byte{ping}); err != nil {
					c.pingErr <- err
					c.t.close() // wake the reader
					return
				}
			case <-c.pingStop:
				return
			}
		}
	}()
}

func (c *subConn) stopPinger() {
	if c.pingStop != nil {
		close(c.pingStop)
		c.pingWG.Wait()
	}
}

// chunkReader presents the data of consecutive chunk messages as one
// stream, fetching a message only when the decoder needs more bytes.
type chunkReader struct {
	next func() ([]byte, error)
	cur  []byte
	pos  int
	err  error // the error next returned, if any
}

func (r *chunkReader) fill() error {
	for r.pos == len(r.cur) {
		b, err := r.next()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			r.err = err
			return err
		}
		r.cur, r.pos = b, 0
	}
	return nil
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := r.fill(); err != nil {
		return 0, err
	}
	n := copy(p, r.cur[r.pos:])
	r.pos += n
	return n, nil
}

func (r *chunkReader) ReadByte() (byte, error) {
	if err := r.fill(); err != nil {
		return 0, err
	}
	b := r.cur[r.pos]
	r.pos++
	return b, nil
}

func (r *chunkReader) UnreadByte() error {
	if r.pos == 0 {
		return errors.New("syncstruct: UnreadByte at a chunk boundary")
	}
	r.pos--
	return nil
}
