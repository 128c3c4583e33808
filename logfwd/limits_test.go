package logfwd

import (
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/wire"
)

// mute is a native log server that completes the handshake, reads every
// record and never acknowledges one.
type mute struct {
	mu    sync.Mutex // guards the fields below
	conns int        // connections that completed the handshake
	recs  []string   // messages received, in order, over all connections
	bytes int        // frame bytes of the records received
}

func newMute(t *testing.T) (string, *mute) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &mute{}
	var wg sync.WaitGroup
	var cmu sync.Mutex // guards open
	open := map[net.Conn]struct{}{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			cmu.Lock()
			open[nc] = struct{}{}
			cmu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				m.serve(nc)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		cmu.Lock()
		for c := range open {
			c.Close()
		}
		cmu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String(), m
}

func (m *mute) serve(nc net.Conn) {
	c := wire.NewConn(nc)
	if _, err := c.ReadBanner(); err != nil {
		return
	}
	if _, err := c.FrameReader(controlFrameLimit).Next(); err != nil {
		return
	}
	st := newEncState(0)
	st.helloFrame("max_frame", 1<<20)
	if _, err := c.Write(st.e.B); err != nil {
		return
	}
	m.mu.Lock()
	m.conns++
	m.mu.Unlock()
	dc := newDecoder(0)
	fr := c.FrameReader(1 << 20)
	for {
		buf, err := fr.Next()
		if err != nil {
			return
		}
		_, n, err := dc.frame(buf)
		var rec record
		if err == nil {
			err = dc.record(n, &rec)
		}
		if err != nil {
			return
		}
		m.mu.Lock()
		m.recs = append(m.recs, rec.Message)
		m.bytes += 4 + len(buf)
		m.mu.Unlock()
	}
}

func (m *mute) state() (conns int, recs []string, bytes int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.conns, append([]string(nil), m.recs...), m.bytes
}

// until polls cond (every millisecond) and fails the test after 10 s.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// A server that accepts records but never acknowledges them is
// disconnected after AckTimeout, and the records are sent again on the
// next connection (they used to wait for ever).
func TestAckTimeout(t *testing.T) {
	addr, m := newMute(t)
	f := forward(t, addr, ForwarderOptions{AckTimeout: 50 * time.Millisecond})
	slog.New(f).Info("one")
	until(t, "the record to be sent again on a second connection", func() bool {
		conns, recs, _ := m.state()
		return conns >= 2 && len(recs) >= 2
	})
	if _, recs, _ := m.state(); recs[0] != "one" || recs[1] != "one" {
		t.Errorf("received %q", recs)
	}
}

// QueueBytes bounds the encoded records waiting in the queue: with the
// server down, records past it are dropped although QueueSize has room.
func TestQueueBytesBoundsQueue(t *testing.T) {
	const queueBytes = 2000
	f := forward(t, freeAddr(t), ForwarderOptions{QueueSize: 1000, QueueBytes: queueBytes})
	log := slog.New(f)
	msg := strings.Repeat("x", 100)
	for range 100 {
		log.Info(msg)
	}
	s := f.Stats()
	if s.Queued == 0 || s.Queued*len(msg) > queueBytes || s.Queued+int(s.Dropped) != 100 {
		t.Fatalf("stats %+v: want at most %d bytes of records queued, the rest dropped", s, queueBytes)
	}
}

// QueueBytes also bounds, separately, what was written but is not yet
// acknowledged: the forwarder stops taking records from the queue until
// acknowledgements make room.
func TestQueueBytesBoundsUnacknowledged(t *testing.T) {
	const queueBytes = 3000
	addr, m := newMute(t)
	f := forward(t, addr, ForwarderOptions{QueueSize: 1000, QueueBytes: queueBytes, AckTimeout: time.Hour})
	until(t, "the forwarder to connect", func() bool { return f.Stats().Connected })
	log := slog.New(f)
	msg := strings.Repeat("y", 100)
	for i := range 200 {
		log.Info(msg, "i", i)
		// Wait until the writer has taken the record, or has stopped
		// taking records because what it wrote fills QueueBytes.
		until(t, fmt.Sprintf("record %d to be taken", i), func() bool {
			_, recs, n := m.state()
			s := f.Stats()
			return len(recs)+s.Queued+int(s.Dropped) >= i+1 && (s.Queued == 0 || n >= queueBytes)
		})
	}
	// A correct forwarder takes nothing more; a broken one would send the
	// rest now. (This wait can only let a broken forwarder pass, never
	// fail a correct one.)
	time.Sleep(200 * time.Millisecond)
	_, recs, n := m.state()
	s := f.Stats()
	if n > queueBytes+2*(n/max(len(recs), 1)) || len(recs) == 0 || s.Dropped == 0 {
		t.Fatalf("the silent server received %d records (%d bytes), %d queued, %d dropped: want at most %d bytes unacknowledged",
			len(recs), n, s.Queued, s.Dropped, queueBytes)
	}
}
