package syncstruct

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// session is one subscriber of one notifier, on the publisher's side. Its
// writer (the goroutine that called run) reads the notifier's history from
// its own cursor and writes what it finds; a reader goroutine takes the
// subscriber's pings. The subscriber has no queue of its own: how far its
// cursor lags is its queue, bounded by QueueBytes.
type session struct {
	p    *Publisher
	name string
	n    *Notifier
	t    transport
	enc  modEncoding

	cancel context.CancelFunc // cancels the context run was given

	// told is closed once the subscriber has been sent a sync message,
	// which tells it the heartbeat interval: its silence is timed only from
	// then, since it cannot ping before. Encoding a large snapshot can take
	// longer than the heartbeat timeout on a loaded machine.
	told     chan struct{}
	tellOnce sync.Once

	mu      sync.Mutex // guards ended, endCode and endMsg
	ended   bool
	endCode string // error code to send the subscriber when the session ends
	endMsg  string
}

func newSession(p *Publisher, name string, n *Notifier, t transport, cancel context.CancelFunc) *session {
	return &session{p: p, name: name, n: n, t: t, enc: t.encoding(), cancel: cancel, told: make(chan struct{})}
}

// testHookBeforeSnapshot, when set by a test, runs before a snapshot is
// encoded: it stands in for a huge snapshot on a slow machine.
var testHookBeforeSnapshot func()

// writeSync writes a sync message and starts the heartbeat clock.
func (s *session) writeSync(c *control) error {
	err := s.t.writeMsgs([][]byte{s.control(c)})
	if err == nil {
		s.tellOnce.Do(func() { close(s.told) })
	}
	return err
}

// end records why the session ends (the first reason wins; code "" means
// nothing is to be said) and stops it.
func (s *session) end(code, msg string) {
	s.mu.Lock()
	if !s.ended {
		s.ended, s.endCode, s.endMsg = true, code, msg
	}
	s.mu.Unlock()
	s.cancel()
}

func (s *session) endReason() (string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endCode, s.endMsg
}

// batch is the scratch space of one write, pooled so idle sessions hold
// none.
type batch struct {
	entries []*entry
	msgs    [][]byte
}

var batchPool = sync.Pool{New: func() any { return &batch{} }}

// maxBatchBytes bounds the mods taken from the history for one write.
const maxBatchBytes = writeBufSize

// closeGrace is how long a cancelled session may take to say goodbye
// before its connection is closed under it.
const closeGrace = time.Second

// run serves the session until ctx (which s.cancel cancels) ends or the
// subscriber leaves. parent is the context of the whole connection.
func (s *session) run(parent, ctx context.Context, sub *message) error {
	defer s.cancel()
	stopP := context.AfterFunc(s.p.ctx, func() { s.end(CodeShutdown, "publisher closing") })
	defer stopP()
	stopParent := context.AfterFunc(parent, func() { s.end(CodeShutdown, "server closing") })
	defer stopParent()

	// A writer blocked on a subscriber that does not read is freed by
	// closing the connection, once it has had closeGrace to finish.
	var graceMu sync.Mutex // guards grace and finished
	var grace *time.Timer
	finished := false
	stopGrace := context.AfterFunc(ctx, func() {
		graceMu.Lock()
		defer graceMu.Unlock()
		if !finished {
			grace = time.AfterFunc(closeGrace, func() { s.t.close() })
		}
	})
	defer func() {
		stopGrace()
		graceMu.Lock()
		finished = true
		if grace != nil {
			grace.Stop()
		}
		graceMu.Unlock()
	}()

	log := s.p.opts.Logger.With("notifier", s.name, "remote", s.t.remote())
	s.t.setWriteDeadline(time.Time{})

	var readerDone sync.WaitGroup
	readerDone.Add(1)
	go func() {
		defer readerDone.Done()
		s.readLoop(ctx)
	}()
	defer readerDone.Wait()
	defer s.t.close()

	err := s.writeLoop(ctx, sub)
	code, msg := s.endReason()
	if code != "" {
		s.t.setWriteDeadline(time.Now().Add(closeGrace))
		s.t.writeMsgs([][]byte{s.t.control(&control{T: msgError, Code: code, Message: msg})})
	}
	log.Debug("syncstruct: subscriber session ended", "code", code, "err", err)
	if code == CodeInternal {
		log.Warn("syncstruct: session failed", "err", msg)
	}
	return err
}

// readLoop takes the subscriber's messages: pings keep the session alive;
// silence past the heartbeat timeout, or anything else, ends it.
func (s *session) readLoop(ctx context.Context) {
	if s.t.pings() {
		select {
		case <-s.told:
		case <-ctx.Done():
			return
		}
	}
	dec := newMsgDecoder()
	for {
		if s.t.pings() {
			s.t.setReadDeadline(time.Now().Add(s.p.opts.HeartbeatTimeout))
		} else {
			s.t.setReadDeadline(time.Time{})
		}
		b, err := s.t.readMsg()
		if err != nil {
			switch {
			case ctx.Err() != nil:
			case isTimeout(err):
				s.end(CodeTimeout, fmt.Sprintf("no message from the subscriber for %v", s.p.opts.HeartbeatTimeout))
			case isClosedErr(err):
				s.end("", "")
			default:
				s.end(CodeBadRequest, err.Error())
			}
			return
		}
		t, err := messageType(s.t, dec, b)
		if err != nil || t != msgPing {
			if err == nil {
				err = fmt.Errorf("%w: unexpected %q message from a subscriber", ErrBadMessage, t)
			}
			s.end(CodeBadRequest, err.Error())
			return
		}
	}
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// writeLoop sends the initial sync and then the mods, until ctx ends or a
// write fails.
func (s *session) writeLoop(ctx context.Context, sub *message) error {
	hb := s.p.opts.HeartbeatInterval
	w := s.startPosition(sub)
	if !w.needSnap {
		if err := s.writeSync(&control{T: msgSync, Epoch: s.n.epoch, Seq: w.cursor, Mode: modeResume, HeartbeatMS: hb.Milliseconds()}); err != nil {
			return err
		}
	}
	timer := time.NewTimer(hb)
	defer timer.Stop()
	for {
		if ctx.Err() != nil {
			return nil
		}
		if w.needSnap {
			seq, err := s.sendSnapshot(w.reason)
			if err != nil {
				return err
			}
			w.cursor, w.needSnap, w.pendingSynced = seq, false, false
			timer.Reset(hb)
			continue
		}
		if w.pendingSynced && w.cursor >= w.syncedAt {
			if err := s.t.writeMsgs([][]byte{s.control(&control{T: msgSynced, Seq: w.cursor})}); err != nil {
				return err
			}
			w.pendingSynced = false
		}
		wait, sent, err := s.sendBatch(&w)
		switch {
		case err != nil:
			return err
		case wait != nil:
			// Nothing new: wait for a mod, sending pings while idle.
			select {
			case <-wait:
			case <-timer.C:
				if err := s.t.writeMsgs([][]byte{s.control(&control{T: msgPing})}); err != nil {
					return err
				}
				timer.Reset(hb)
			case <-ctx.Done():
				return nil
			}
		case sent:
			timer.Reset(hb)
		}
	}
}

// writePos is where a session's writer stands in its notifier's stream.
type writePos struct {
	cursor        uint64 // sequence number of the last mod sent (or in the snapshot)
	needSnap      bool   // a snapshot must be sent next, for reason
	reason        string
	syncedAt      uint64 // after a resume: send synced once the cursor reaches it
	pendingSynced bool
}

// startPosition decides from the subscribe message whether the
// subscriber resumes (from the history) or needs a snapshot, and why.
func (s *session) startPosition(sub *message) writePos {
	w := writePos{needSnap: true, reason: ReasonNew}
	switch {
	case sub.Epoch == 0:
	case sub.Epoch != s.n.epoch:
		w.reason = ReasonEpoch
	default:
		head := s.n.Seq()
		switch {
		case sub.Seq > head:
			w.reason = ReasonSeq
		case s.n.hist.resumable(sub.Seq, int64(s.p.opts.QueueBytes)):
			w = writePos{cursor: sub.Seq, syncedAt: head, pendingSynced: true}
		default:
			w.reason = ReasonHistory
		}
	}
	return w
}

// groupWriter is a transport that writes a whole group of mods from one
// message shared by all its subscribers (wsTransport.writeGroup).
type groupWriter interface {
	writeGroup(entries []*entry, enc modEncoding) (bool, error)
}

// sendBatch sends the mods after w.cursor that the history holds, in one
// write, and moves w on. It returns a channel to wait on when there is
// nothing to send, and sets w.needSnap when the subscriber must be resynced
// instead (it fell behind, or a mod was too large to keep); sent reports
// whether anything was written.
func (s *session) sendBatch(w *writePos) (wait <-chan struct{}, sent bool, err error) {
	b := batchPool.Get().(*batch)
	defer batchPool.Put(b)
	entries, whole, wait, st := s.n.hist.read(w.cursor, int64(s.p.opts.QueueBytes), maxBatchBytes, b.entries[:0])
	switch st {
	case readBehind:
		w.needSnap, w.reason = true, ReasonBehind
		s.p.resyncs.Add(1)
		return nil, false, nil
	case readWait:
		return wait, false, nil
	}
	defer func() {
		clear(entries)
		b.entries = entries[:0]
	}()
	if gw, ok := s.t.(groupWriter); ok && whole && s.plainRun(w, entries) {
		// A subscriber that keeps up: the group's shared message.
		done, err := gw.writeGroup(entries, s.enc)
		if done || err != nil {
			w.cursor = entries[len(entries)-1].seq
			return nil, true, err
		}
	}
	msgs := b.msgs[:0]
	for _, e := range entries {
		if e.resync() {
			w.needSnap, w.reason = true, ReasonOversize
			s.p.resyncs.Add(1)
			break
		}
		var m []byte
		if m, err = e.bytesFor(s.enc); err != nil {
			break
		}
		msgs = append(msgs, m)
		w.cursor = e.seq
		if w.pendingSynced && w.cursor == w.syncedAt {
			msgs = append(msgs, s.control(&control{T: msgSynced, Seq: w.cursor}))
			w.pendingSynced = false
		}
	}
	if err == nil && len(msgs) > 0 {
		err = s.t.writeMsgs(msgs)
		sent = true
	}
	clear(msgs)
	b.msgs = msgs[:0]
	return nil, sent, err
}

// plainRun reports whether entries are only mods to send, as they are:
// none calls for a resync, and no synced marker falls among them.
func (s *session) plainRun(w *writePos, entries []*entry) bool {
	if w.pendingSynced && w.syncedAt <= entries[len(entries)-1].seq {
		return false
	}
	for _, e := range entries {
		if e.resync() {
			return false
		}
	}
	return true
}

// sendSnapshot sends sync (mode snapshot), the init mod and synced, and
// returns the sequence number the snapshot stands at.
func (s *session) sendSnapshot(reason string) (uint64, error) {
	pieces, seq, err := s.encodeSnapshot()
	if err != nil {
		return 0, err
	}
	s.p.snapshots.Add(1)
	hb := s.p.opts.HeartbeatInterval
	if err := s.writeSync(&control{T: msgSync, Epoch: s.n.epoch, Seq: seq, Mode: modeSnapshot, Reason: reason, HeartbeatMS: hb.Milliseconds()}); err != nil {
		return 0, err
	}
	if err := s.t.writeInit(pieces); err != nil {
		return 0, err
	}
	clear(pieces) // let the snapshot go as soon as it is written
	if err := s.t.writeMsgs([][]byte{s.control(&control{T: msgSynced, Seq: seq})}); err != nil {
		return 0, err
	}
	return seq, nil
}

func (s *session) control(c *control) []byte { return s.t.control(c) }

// snapshotPing is how often a session pings while its snapshot is being
// encoded: a subscriber waiting for its first message gives up after its
// own handshake timeout, and would reconnect — and have the snapshot
// encoded again — for ever if encoding takes longer than that.
const snapshotPing = 250 * time.Millisecond

// encodeSnapshot encodes the notifier's snapshot for this session on a
// goroutine it waits for, pinging the subscriber meanwhile.
func (s *session) encodeSnapshot() ([][]byte, uint64, error) {
	type result struct {
		pieces [][]byte
		seq    uint64
		err    error
	}
	done := make(chan result, 1)
	go func() {
		if testHookBeforeSnapshot != nil {
			testHookBeforeSnapshot()
		}
		pieces, seq, err := s.n.snapshot(s.enc, s.t.chunkedInit())
		done <- result{pieces, seq, err}
	}()
	tick := time.NewTicker(snapshotPing)
	defer tick.Stop()
	for {
		select {
		case r := <-done:
			if r.err != nil {
				err := fmt.Errorf("syncstruct: encoding snapshot: %w", r.err)
				s.end(CodeInternal, err.Error())
				return nil, 0, err
			}
			return r.pieces, r.seq, nil
		case <-tick.C:
			if err := s.t.writeMsgs([][]byte{s.control(&control{T: msgPing})}); err != nil {
				<-done // the encoding is bounded; don't leave it running
				return nil, 0, err
			}
		}
	}
}

// messageType decodes just enough of a subscriber's message to know its
// type.
func messageType(t transport, dec *msgDecoder, b []byte) (string, error) {
	if t.encoding() == encJSON {
		var m struct {
			T string `json:"t"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			return "", fmt.Errorf("%w: %w", ErrBadMessage, err)
		}
		return m.T, nil
	}
	var m message
	if err := dec.decode(b, &m); err != nil {
		return "", err
	}
	return m.T, nil
}

// decodeSubscribe decodes and checks the subscribe message.
func decodeSubscribe(t transport, b []byte) (*message, error) {
	var m message
	if t.encoding() == encJSON {
		var j struct {
			T        string `json:"t"`
			Notifier string `json:"notifier"`
			Epoch    uint64 `json:"epoch"`
			Seq      uint64 `json:"seq"`
			Token    string `json:"token"`
		}
		if err := json.Unmarshal(b, &j); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadMessage, err)
		}
		m.T, m.Notifier, m.Epoch, m.Seq, m.Token = j.T, j.Notifier, j.Epoch, j.Seq, j.Token
	} else if err := newMsgDecoder().decode(b, &m); err != nil {
		return nil, err
	}
	if m.T != msgSubscribe {
		return nil, fmt.Errorf("%w: expected a subscribe message, got %q", ErrBadMessage, truncate(m.T, 32))
	}
	if m.Notifier == "" {
		return nil, fmt.Errorf("%w: subscribe names no notifier", ErrBadMessage)
	}
	return &m, nil
}

func readAllLimit(r io.Reader, limit int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, fmt.Errorf("%w: message over %d bytes", ErrBadMessage, limit)
	}
	return b, nil
}
