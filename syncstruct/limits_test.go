package syncstruct

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/wire"
)

// TestMaxConns: with MaxConns 2, a third subscriber is refused with a
// readable error (over Serve and behind a wire.Mux) while the first two
// keep following; once one leaves, the third gets in.
func TestMaxConns(t *testing.T) {
	for _, kind := range []string{"tcp", "tls", "mux"} {
		t.Run(kind, func(t *testing.T) {
			n := mustNotifier(t, map[string]any{"x": int64(0)}, NotifierOptions{})
			p := NewPublisher(map[string]*Notifier{"s": n}, PublisherOptions{MaxConns: 2})
			ep := serve(t, p, kind)
			s1 := subscribe(t, ep, "s", SubscriberOptions{})
			s2 := subscribe(t, ep, "s", SubscriberOptions{})
			waitSynced(t, s1)
			waitSynced(t, s2)

			s3 := subscribe(t, ep, "s", SubscriberOptions{})
			var last error
			waitFor(t, "the third subscriber to be refused", func() bool {
				_, last = s3.State()
				return last != nil && strings.Contains(last.Error(), "too many connections (limit 2)")
			})
			if !strings.Contains(last.Error(), "publisher refused: SIGOCO error:") {
				t.Errorf("refusal reads %q", last)
			}
			for i := range 3 {
				must(t, n.Set("x", int64(i+1)))
			}
			waitReplica(t, s1, n)
			waitReplica(t, s2, n)
			if st, _ := s3.State(); st == StateSynced {
				t.Fatal("the third subscriber synced past MaxConns")
			}

			s1.Close()
			waitSynced(t, s3)
			must(t, n.Set("x", int64(10)))
			waitReplica(t, s3, n)
			waitReplica(t, s2, n)
		})
	}
}

// TestMaxConnsRawRefusal: what a peer past MaxConns reads, in one line.
func TestMaxConnsRawRefusal(t *testing.T) {
	n := mustNotifier(t, nil, NotifierOptions{})
	p := NewPublisher(map[string]*Notifier{"s": n}, PublisherOptions{MaxConns: 1})
	ep := serve(t, p, "tcp")
	s := subscribe(t, ep, "s", SubscriberOptions{})
	waitSynced(t, s)
	rc := dialRaw(t, ep.addr)
	rc.subscribe("s")
	line, err := rc.r.ReadString('\n')
	if err != nil || line != "SIGOCO error: too many connections (limit 1); try again later\n" {
		t.Fatalf("read %q, %v", line, err)
	}
}

// TestIdleTimeout: a connection that sends nothing after its banner is
// closed after IdleTimeout (before the handshake timeout), while a
// subscriber, whose pings keep its connection busy, stays.
func TestIdleTimeout(t *testing.T) {
	n := mustNotifier(t, nil, NotifierOptions{})
	p := NewPublisher(map[string]*Notifier{"s": n}, PublisherOptions{
		// Pings every second keep the subscriber 3 s ahead of the idle
		// timeout, with margin for a loaded machine (a heartbeat
		// timeout of 3 intervals is the subscriber's own bound).
		IdleTimeout: 4 * time.Second, HeartbeatInterval: time.Second, HandshakeTimeout: time.Minute,
	})
	ep := serve(t, p, "tcp")
	s := subscribe(t, ep, "s", SubscriberOptions{})
	waitSynced(t, s)
	c, err := net.Dial("tcp", ep.addr)
	must(t, err)
	t.Cleanup(func() { c.Close() })
	c.Write([]byte(wire.BannerSync + "\n"))
	c.SetReadDeadline(time.Now().Add(20 * time.Second)) // fails rather than hangs
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("idle connection: read %v, want it closed", err)
	}
	time.Sleep(4500 * time.Millisecond) // > IdleTimeout: the subscriber must still be there
	must(t, n.Set("x", true))
	waitReplica(t, s, n)
	if _, err := s.State(); err != nil {
		t.Fatalf("subscriber disconnected: %v", err)
	}
}

// TestMuxShutdownDrainsPublisher: wire.Mux.Shutdown drains the Publisher
// (a wire.Shutdowner): subscribers are told "shutdown" and the Mux's
// Serve returns net.ErrClosed.
func TestMuxShutdownDrainsPublisher(t *testing.T) {
	n := mustNotifier(t, nil, NotifierOptions{})
	p := NewPublisher(map[string]*Notifier{"s": n}, PublisherOptions{})
	t.Cleanup(func() { p.Close() })
	var _ wire.Shutdowner = p
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	mux := wire.NewMux(wire.MuxOptions{})
	mux.Handle(wire.BannerSync, p)
	served := make(chan error, 1)
	go func() { served <- mux.Serve(context.Background(), ln) }()
	t.Cleanup(func() { mux.Close() })

	gone := make(chan error, 1)
	s := subscribe(t, endpoint{addr: ln.Addr().String()}, "s", SubscriberOptions{OnDisconnect: func(err error) {
		select {
		case gone <- err:
		default:
		}
	}})
	waitSynced(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	must(t, mux.Shutdown(ctx))
	var re *RemoteError
	select {
	case err := <-gone:
		if !errors.As(err, &re) || re.Code != CodeShutdown {
			t.Fatalf("subscriber saw %v, want a %q error", err, CodeShutdown)
		}
	case <-ctx.Done():
		t.Fatal("the subscriber was not told")
	}
	select {
	case err := <-served:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Serve returned %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Serve did not return")
	}
}

// TestLongBanner: a banner line past wire.MaxBannerLen is answered in one
// line, as docs/protocol-sync.md says, and the publisher keeps serving.
func TestLongBanner(t *testing.T) {
	n := mustNotifier(t, nil, NotifierOptions{})
	p := NewPublisher(map[string]*Notifier{"s": n}, PublisherOptions{})
	ep := serve(t, p, "tcp")
	check := healthy(t, ep, n)
	rc := dialRaw(t, ep.addr)
	rc.send([]byte(strings.Repeat("x", wire.MaxBannerLen+10) + "\n"))
	line, err := rc.r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "SIGOCO error: banner line too long") {
		t.Fatalf("read %q, %v", line, err)
	}
	check()
}

// TestSnapshotCutShortSaysWhy: a publisher that goes silent in the middle
// of a chunked snapshot is reported as silent (ErrHeartbeat), not as a
// malformed snapshot.
func TestSnapshotCutShortSaysWhy(t *testing.T) {
	addr := fakePublisher(t, func(c *wire.Conn, sub *message) {
		ch := newChunker(true)
		encMsgpack.WriteInit(ch, map[string]any{"b": make([]byte, 3*wire.DefaultChunkSize)}, 0)
		b, _ := appendControlFrame(nil, &control{T: msgSync, Epoch: 1, Mode: modeSnapshot, HeartbeatMS: 30})
		c.Write(b)
		c.Write(ch.Pieces()[0]) // then silence
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.Copy(io.Discard, c)
	})
	s := subscribe(t, endpoint{addr: addr}, "s", SubscriberOptions{})
	var last error
	waitFor(t, "the subscriber to give up", func() bool { _, last = s.State(); return last != nil })
	if !errors.Is(last, ErrHeartbeat) {
		t.Fatalf("error %v, want ErrHeartbeat", last)
	}
}
