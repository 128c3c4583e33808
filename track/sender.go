package track

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigoco/sigoco/internal/backoff"
	"github.com/sigoco/sigoco/internal/failover"
	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/store"
)

// TrackerTarget is the rpc target of the tracking server.
const TrackerTarget = "tracker"

// sender is the goroutine that sends a run's queue: one batch at a time,
// to the server or, while the server is down or the spool is not empty, to
// the end of the spool (so the order is kept); the spool is replayed as
// soon as the server answers.
type sender struct {
	r      *Run
	unlock func()

	mu     sync.Mutex  // guards c and isDown
	c      *rpc.Client // nil while disconnected
	isDown bool

	// Used by the sender goroutine only.
	spool     *os.File
	spoolSize int64
	buf       []byte
	failures  int
	nextTry   time.Time
	lastSent  time.Time

	hbServer atomic.Int64   // the heartbeat interval the server asked for, ms (0: none yet)
	fo       *failover.List // which of Options.Addrs is in use (failover.go)

	// lost counts the records this client numbered but lost for good (a
	// full spool, a batch refused whole): later batches are shifted by it
	// on the wire (wireBatch.Shift).
	lost int64
}

// shift sets the wire shift of a batch leaving the queue, once: batches
// reach toSpool and send in seq order, so every loss before b is counted.
func (s *sender) shift(b *wireBatch) {
	if !b.shifted {
		b.Shift, b.shifted = s.lost, true
	}
}

// heartbeat returns the interval between heartbeats: Options.HeartbeatInterval,
// or shorter if the server asks for it.
func (s *sender) heartbeat() time.Duration {
	d := s.r.opts.HeartbeatInterval
	if ms := s.hbServer.Load(); ms > 0 {
		d = min(d, time.Duration(ms)*time.Millisecond)
	}
	return d
}

func newSender(r *Run) (*sender, error) {
	unlock, ok := lockDir(r.dir)
	if !ok {
		// A replay in another process may have removed the directory just
		// made (it looked empty): make it again and retry once.
		if err := os.MkdirAll(r.dir, 0o755); err == nil {
			unlock, ok = lockDir(r.dir)
		}
	}
	if !ok {
		return nil, fmt.Errorf("track: run %s is already in use by another process (lock in %s)", r.id, r.dir)
	}
	f, err := openSpool(filepath.Join(r.dir, SpoolFile))
	if err != nil {
		unlock()
		return nil, fmt.Errorf("track: spool: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		unlock()
		return nil, fmt.Errorf("track: spool: %w", err)
	}
	return &sender{r: r, unlock: unlock, spool: f, spoolSize: fi.Size(), fo: failover.NewList(r.opts.Addrs...)}, nil
}

func (s *sender) down() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.isDown
}

// client returns the connection, or nil while the server is unreachable.
func (s *sender) client() *rpc.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c
}

func (s *sender) setDown(err error) {
	s.mu.Lock()
	if s.c != nil {
		s.c.Close()
		s.c = nil
	}
	was := s.isDown
	s.isDown = true
	s.mu.Unlock()
	if !was {
		s.r.log.Warn("track: server unreachable; spooling", "run", s.r.id, "addr", s.addr(), "err", err)
	}
	s.nextTry = time.Now().Add(backoff.Wait(s.failures, 100*time.Millisecond, 5*time.Second))
	s.failures++
}

// connect dials the server if not connected and it is time to try.
func (s *sender) connect(ctx context.Context) *rpc.Client {
	if c := s.client(); c != nil {
		return c
	}
	if time.Now().Before(s.nextTry) {
		return nil
	}
	c, err := s.dial(ctx) // the next of Options.Addrs if need be (failover.go), with the run's credential (credential.go)
	if err != nil {
		s.setDown(err)
		return nil
	}
	s.mu.Lock()
	s.c, s.isDown = c, false
	s.mu.Unlock()
	s.failures = 0
	return c
}

func (s *sender) run(ctx context.Context) {
	t := time.NewTicker(s.r.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.drain()
			return
		case <-s.r.wake:
		case <-t.C:
		}
		s.cycle(ctx)
	}
}

// take swaps the queue and cuts it into batches of at most BatchSize.
func (s *sender) take() []*wireBatch {
	r := s.r
	r.mu.Lock()
	q := r.q
	if q.n() == 0 {
		r.mu.Unlock()
		return nil
	}
	r.q, r.spare = r.spare, nil
	if r.q == nil {
		r.q = newQueue()
	}
	r.mu.Unlock()
	bs := split(r.id, q, r.opts.BatchSize)
	q.reset()
	r.mu.Lock()
	r.spare = q
	r.mu.Unlock()
	return bs
}

// split cuts q into batches in seq order. The batches copy what they hold,
// so q can be reused at once.
func split(run string, q *queue, size int) []*wireBatch {
	var out []*wireBatch
	i, j := 0, 0 // next record, next point
	for i < len(q.recs) || j < len(q.seq) {
		b := &wireBatch{Batch: store.Batch{Run: run}}
		if np := min(size, len(q.seq)-j); np > 0 { // at most this many points
			b.Key, b.Seq, b.Step, b.Time, b.Value = make([]int64, 0, np), make([]int64, 0, np), make([]int64, 0, np), make([]int64, 0, np), make([]float64, 0, np)
		}
		keyMap := map[int64]int64{}
		for n := 0; n < size && (i < len(q.recs) || j < len(q.seq)); n++ {
			if j >= len(q.seq) || (i < len(q.recs) && q.recs[i].Seq < q.seq[j]) {
				b.Batch.Records = append(b.Batch.Records, q.recs[i])
				i++
				continue
			}
			k, ok := keyMap[q.key[j]]
			if !ok {
				k = int64(len(b.Keys))
				keyMap[q.key[j]] = k
				b.Keys = append(b.Keys, q.keys[q.key[j]])
			}
			b.Key = append(b.Key, k)
			b.Seq = append(b.Seq, q.seq[j])
			b.Step = append(b.Step, q.step[j])
			b.Time = append(b.Time, q.tm[j])
			b.Value = append(b.Value, q.val[j])
			j++
		}
		out = append(out, b)
	}
	return out
}

func (s *sender) cycle(ctx context.Context) {
	bs := s.take()
	for i, b := range bs {
		if s.spoolSize > 0 || s.connect(ctx) == nil {
			s.toSpool(b)
			continue
		}
		if err := s.send(ctx, b); err != nil {
			s.setDown(err)
			s.toSpool(b)
			continue
		}
		if s.r.queued() > s.r.opts.MaxQueued/2 {
			// The server is slower than the simulation: keep memory
			// bounded by moving the backlog, in order, to the spool (it is
			// replayed below, as fast as the server takes it).
			for _, rest := range bs[i+1:] {
				s.toSpool(rest)
			}
			for _, nb := range s.take() {
				s.toSpool(nb)
			}
			break
		}
	}
	if s.spoolSize > 0 && s.connect(ctx) != nil {
		s.replay(ctx)
	}
	if c := s.client(); c != nil && time.Since(s.lastSent) > s.heartbeat() {
		hctx, cancel := context.WithTimeout(ctx, s.r.opts.CallTimeout)
		err := c.CallInto(hctx, nil, "heartbeat", s.r.id)
		cancel()
		if err != nil && isTransport(err) {
			s.setDown(err)
		}
		s.lastSent = time.Now()
	}
}

// isTransport tells a failure to reach the server, or a server that could
// not store the batch then (retry later), from the server's refusal of the
// batch (report it, do not retry). A store that is full, failing or busy
// answers with a store.UnavailableError: the batch is kept, spooled and
// sent again with backoff, as when the server is down.
func isTransport(err error) bool {
	var re *rpc.RemoteError
	if !errors.As(err, &re) {
		return true
	}
	switch re.Type {
	case rpc.TypeTooManyCalls, rpc.TypeCanceled, rpc.TypeDeadlineExceeded:
		return true
	}
	return store.UnavailableText(re.Message)
}

// send sends one batch and handles its acknowledgement. It returns an error
// only when the server could not be reached (the batch must be kept).
func (s *sender) send(ctx context.Context, b *wireBatch) error {
	c := s.client()
	if c == nil {
		return errors.New("not connected")
	}
	s.shift(b)
	cctx, cancel := context.WithTimeout(ctx, s.r.opts.CallTimeout)
	var ack store.Ack
	err := c.CallInto(cctx, &ack, "log_batch", b.wireArgs()...)
	cancel()
	if err != nil && isTransport(err) {
		return err
	}
	if err != nil {
		s.lost += b.n() // refused whole: its numbers never reach the server
	}
	s.lastSent = time.Now()
	r := s.r
	r.dmu.Lock()
	if err != nil {
		r.errs = append(r.errs, &RecordError{Run: r.id, Seq: b.minSeq(), Err: fmt.Sprintf("batch of records %d–%d refused: %v", b.minSeq(), b.maxSeq(), err)})
	}
	for _, rj := range ack.Rejected {
		r.errs = append(r.errs, &RecordError{Run: r.id, Seq: rj.Seq + b.Shift, Err: rj.Error})
	}
	if ack.HeartbeatMs > 0 {
		s.hbServer.Store(ack.HeartbeatMs)
	}
	if ack.Credential != "" {
		r.setCredential(ack.Credential) // the batch created the run: credential.go
	}
	r.acked = max(r.acked, b.maxSeq())
	r.spooled = max(r.spooled, r.acked)
	r.cond.Broadcast()
	r.dmu.Unlock()
	r.stats.sent.Add(1)
	return nil
}

// toSpool appends a batch to the spool file.
func (s *sender) toSpool(b *wireBatch) {
	r := s.r
	var err error
	s.shift(b)
	s.buf, err = appendSpoolFrame(s.buf[:0], b)
	if err == nil && s.spoolSize+int64(len(s.buf)) > r.opts.MaxSpoolBytes {
		err = fmt.Errorf("%w: the spool of run %s is full (%d bytes, MaxSpoolBytes); records %d–%d lost", ErrDropped, r.id, s.spoolSize, b.minSeq(), b.maxSeq())
	}
	if err == nil {
		_, err = s.spool.WriteAt(s.buf, s.spoolSize)
	}
	r.dmu.Lock()
	if err != nil {
		r.errs = append(r.errs, err)
		r.acked = max(r.acked, b.maxSeq()) // never coming: do not wait for it
		s.lost += b.n()
	} else {
		s.spoolSize += int64(len(s.buf))
		r.spooled = max(r.spooled, b.maxSeq())
	}
	r.cond.Broadcast()
	r.dmu.Unlock()
	if err == nil {
		r.stats.spooledN.Add(1)
	}
}

// replay sends the spool in order; new batches are appended behind it
// meanwhile. A complete replay empties the file.
func (s *sender) replay(ctx context.Context) {
	sr := newSpoolReader(io.NewSectionReader(s.spool, 0, 1<<62))
	for {
		b, err := sr.next()
		if err == io.EOF && sr.off < s.spoolSize {
			// Frames were appended after the reader saw the end of the
			// file (bufio reports an EOF once even if the file grew): read
			// on from where the last frame ended.
			off := sr.off
			sr = newSpoolReader(io.NewSectionReader(s.spool, off, 1<<62))
			sr.off = off
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			s.r.fail(fmt.Errorf("track: run %s: %w; the rest of the spool is lost", s.r.id, err))
			break
		}
		if err := s.send(ctx, b); err != nil {
			s.setDown(err)
			return
		}
		s.r.stats.replayed.Add(1)
		for _, nb := range s.take() {
			s.toSpool(nb)
		}
	}
	s.spool.Truncate(0)
	s.spoolSize = 0
	s.r.log.Info("track: spool replayed", "run", s.r.id)
}

// drain runs when the run is closed: whatever is still queued goes to the
// spool, to be replayed by a later Start or trackd replay.
func (s *sender) drain() {
	for _, b := range s.take() {
		s.toSpool(b)
	}
}

// close closes the connection and the spool, removing the run's spool
// directory when nothing is left in it.
func (s *sender) close() {
	s.mu.Lock()
	if s.c != nil {
		s.c.Close()
		s.c = nil
	}
	s.mu.Unlock()
	s.spool.Close()
	if s.spoolSize == 0 {
		os.Remove(filepath.Join(s.r.dir, SpoolFile))
		if ents, _ := os.ReadDir(filepath.Join(s.r.dir, "blobs")); len(ents) == 0 {
			os.Remove(filepath.Join(s.r.dir, CredentialFile)) // nothing left to replay
		}
	}
	s.unlock()
	os.Remove(filepath.Join(s.r.dir, "lock"))
	os.Remove(filepath.Join(s.r.dir, "blobs"))
	os.Remove(s.r.dir) // only if empty
}
