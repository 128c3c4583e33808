package syncstruct

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/wire"
	"github.com/vmihailenco/msgpack/v5"
)

// rawClient speaks the native protocol by hand, to misbehave.
type rawClient struct {
	t   testing.TB
	c   net.Conn
	r   *bufio.Reader
	fr  *wire.FrameReader
	dec *msgDecoder
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	return &rawClient{t: t, c: c, r: r, fr: wire.NewFrameReader(r, 1<<20), dec: newMsgDecoder()}
}

func (rc *rawClient) send(b []byte) {
	rc.t.Helper()
	if _, err := rc.c.Write(b); err != nil {
		rc.t.Fatal(err)
	}
}

func (rc *rawClient) subscribe(name string) {
	rc.send([]byte(wire.BannerSync + "\n"))
	b, _ := appendControlFrame(nil, &control{T: msgSubscribe, Notifier: name})
	rc.send(b)
}

// next reads and decodes one message.
func (rc *rawClient) next() (*message, error) {
	b, err := rc.fr.Next()
	if err != nil {
		return nil, err
	}
	var m message
	if err := rc.dec.decode(b, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// expectError reads messages until an error message and checks its code,
// then checks that the connection is closed.
func (rc *rawClient) expectError(code string) {
	rc.t.Helper()
	for {
		m, err := rc.next()
		if err != nil {
			rc.t.Fatalf("connection ended (%v) without an error message %q", err, code)
		}
		if m.T == msgError {
			if m.Code != code {
				rc.t.Fatalf("error %q (%s), want %q", m.Code, m.Message, code)
			}
			break
		}
	}
	if _, err := rc.next(); err == nil {
		rc.t.Fatal("connection still open after the error message")
	}
}

// healthy is a subscriber that must keep working whatever others do.
func healthy(t *testing.T, ep endpoint, n *Notifier) func() {
	s := subscribe(t, ep, "s", SubscriberOptions{})
	waitSynced(t, s)
	return func() {
		t.Helper()
		must(t, n.Set("alive", time.Now().UnixNano()))
		waitReplica(t, s, n)
		if st, err := s.State(); st != StateSynced || err != nil {
			t.Fatalf("healthy subscriber: %v, %v", st, err)
		}
	}
}

func TestBadInputFromSubscribers(t *testing.T) {
	tests := []struct {
		name string
		do   func(rc *rawClient)
		code string // error message expected; "" for a bare close
	}{
		{"garbage frame instead of subscribe", func(rc *rawClient) {
			rc.send([]byte(wire.BannerSync + "\n"))
			rc.send(wire.AppendFrame(nil, []byte{0xc1, 0xff, 0x00}))
		}, CodeBadRequest},
		{"ping instead of subscribe", func(rc *rawClient) {
			rc.send([]byte(wire.BannerSync + "\n"))
			b, _ := appendControlFrame(nil, &control{T: msgPing})
			rc.send(b)
		}, CodeBadRequest},
		{"subscribe without a name", func(rc *rawClient) {
			rc.send([]byte(wire.BannerSync + "\n"))
			b, _ := appendControlFrame(nil, &control{T: msgSubscribe})
			rc.send(b)
		}, CodeBadRequest},
		{"a mod instead of subscribe", func(rc *rawClient) {
			rc.send([]byte(wire.BannerSync + "\n"))
			b, _ := encMsgpack.AppendMod(nil, &Mod{Action: ActAppend, Path: []any{}, X: int64(1)})
			rc.send(b)
		}, CodeBadRequest},
		{"unknown notifier", func(rc *rawClient) { rc.subscribe("nope") }, CodeUnknownNotifier},
		{"garbage after subscribing", func(rc *rawClient) {
			rc.subscribe("s")
			rc.send(wire.AppendFrame(nil, []byte("not msgpack at all")))
		}, CodeBadRequest},
		{"second subscribe", func(rc *rawClient) {
			rc.subscribe("s")
			b, _ := appendControlFrame(nil, &control{T: msgSubscribe, Notifier: "s"})
			rc.send(b)
		}, CodeBadRequest},
		{"first frame announcing 1 GiB", func(rc *rawClient) {
			rc.send([]byte(wire.BannerSync + "\n"))
			rc.send([]byte{0x40, 0, 0, 0})
		}, CodeBadRequest},
		{"frame announcing 1 GiB", func(rc *rawClient) {
			rc.subscribe("s")
			rc.send([]byte{0x40, 0, 0, 0})
		}, CodeBadRequest},
		{"silence after subscribing", func(rc *rawClient) { rc.subscribe("s") }, CodeTimeout},
		{"wrong banner", func(rc *rawClient) { rc.send([]byte("HELLO 1\n")) }, ""},
		{"nothing at all", func(rc *rawClient) {}, ""},
	}
	n := mustNotifier(t, map[string]any{"x": 1}, NotifierOptions{})
	p := NewPublisher(map[string]*Notifier{"s": n}, PublisherOptions{
		HeartbeatInterval: 50 * time.Millisecond, HeartbeatTimeout: 300 * time.Millisecond,
		HandshakeTimeout: 300 * time.Millisecond,
	})
	ep := serve(t, p, "tcp")
	check := healthy(t, ep, n)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, ep.addr)
			tc.do(rc)
			if tc.code != "" {
				rc.expectError(tc.code)
			} else {
				line, err := rc.r.ReadString('\n')
				if tc.name == "wrong banner" && !strings.HasPrefix(line, "SIGOCO error: unknown banner") {
					t.Fatalf("answer %q, %v", line, err)
				}
				if _, err := rc.r.ReadByte(); err != io.EOF {
					t.Fatalf("connection not closed: %v", err)
				}
			}
			check()
		})
	}
}

// TestVanishMidSnapshot: a subscriber that reads part of a large snapshot
// and disappears costs the publisher nothing lasting.
func TestVanishMidSnapshot(t *testing.T) {
	big := map[string]any{}
	for i := range 200 {
		big[fmt.Sprint(i)] = strings.Repeat("x", 10<<10)
	}
	n := mustNotifier(t, big, NotifierOptions{})
	p := NewPublisher(map[string]*Notifier{"s": n}, PublisherOptions{})
	ep := serve(t, p, "tcp")
	check := healthy(t, ep, n)
	for range 5 {
		rc := dialRaw(t, ep.addr)
		rc.subscribe("s")
		m, err := rc.next()
		if err != nil || m.T != msgSync {
			t.Fatalf("first message %+v, %v", m, err)
		}
		if m, err = rc.next(); err != nil || m.T != msgChunk {
			t.Fatalf("second message %+v, %v", m, err)
		}
		rc.c.Close()
	}
	waitFor(t, "the vanished sessions to end", func() bool { return p.Stats().Subscribers == 1 })
	check()
}

// TestHugeSnapshot syncs a snapshot far larger than the subscriber's frame
// limit: it travels in chunks and arrives whole. 8 MB against a 1 MiB limit
// proves that (each blob alone fills a frame) while staying cheap: under
// -race on a loaded machine, encoding 100 MB took most of the subscriber's
// 10 s handshake timeout, and each retry encoded it again.
func TestHugeSnapshot(t *testing.T) {
	const mb = 8
	const frameLimit = 1 << 20
	tree := map[string]any{}
	for i := range mb {
		b := make([]byte, frameLimit)
		b[0], b[len(b)-1] = byte(i), byte(i)
		tree[fmt.Sprint("blob", i)] = b
	}
	n := mustNotifier(t, tree, NotifierOptions{})
	tree = nil
	p := NewPublisher(map[string]*Notifier{"s": n}, PublisherOptions{})
	ep := serve(t, p, "tcp")
	// The handshake timeout is not under test: a slow machine must not
	// turn into reconnections.
	s := subscribe(t, ep, "s", SubscriberOptions{MaxFrameSize: frameLimit, HandshakeTimeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	must(t, n.Set("after", true))
	waitReplica(t, s, n)

	pieces, _, err := n.snapshot(encMsgpack, true)
	must(t, err)
	for _, pc := range pieces {
		if len(pc) > wire.DefaultChunkSize+64 {
			t.Fatalf("a snapshot piece of %d bytes", len(pc))
		}
	}
	if len(pieces) < mb*16 {
		t.Fatalf("%d pieces for %d MB", len(pieces), mb)
	}
}

// fakePublisher accepts one connection at a time and lets the test script
// what it sends.
func fakePublisher(t *testing.T, script func(c *wire.Conn, sub *message)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wc := wire.NewConn(c)
			if b, err := wc.ReadBanner(); err != nil || b != wire.BannerSync {
				c.Close()
				continue
			}
			f, err := wc.FrameReader(4096).Next()
			var sub message
			if err == nil {
				err = newMsgDecoder().decode(f, &sub)
			}
			if err == nil {
				script(wc, &sub)
			}
			c.Close()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}

// TestBadInputFromPublisher: a publisher that sends malformed mods, gaps
// or nothing at all makes the subscriber drop the connection, report why,
// and start over with a fresh snapshot; it never panics.
func TestBadInputFromPublisher(t *testing.T) {
	frame := func(c *control) []byte { b, _ := appendControlFrame(nil, c); return b }
	mod := func(m *Mod) []byte { b, _ := encMsgpack.AppendMod(nil, m); return b }
	snapshot := func(c *wire.Conn, tree any, seq uint64) {
		ch := newChunker(true)
		encMsgpack.WriteInit(ch, tree, seq)
		c.Write(frame(&control{T: msgSync, Epoch: 7, Seq: seq, Mode: modeSnapshot, Reason: ReasonNew, HeartbeatMS: 50}))
		for _, p := range ch.Pieces() {
			c.Write(p)
		}
		c.Write(frame(&control{T: msgSynced, Seq: seq}))
	}
	tests := []struct {
		name   string
		bad    func(c *wire.Conn)
		want   string // in the error
		broken bool   // the replica cannot be trusted: the next connection must ask for a snapshot
	}{
		{"malformed mod", func(c *wire.Conn) {
			c.Write(wire.AppendFrame(nil, []byte{0x81, 0xa6, 'a', 'c', 't', 'i', 'o', 'n', 0x01}))
		}, "bad message", false},
		{"unknown action", func(c *wire.Conn) {
			b, _ := appendFrame(nil, func(enc *msgpack.Encoder) error {
				enc.EncodeMapLen(3)
				enc.EncodeString("action")
				enc.EncodeString("frobnicate")
				enc.EncodeString("path")
				enc.EncodeArrayLen(0)
				enc.EncodeString("seq")
				return enc.EncodeUint(11)
			})
			c.Write(b)
		}, "unknown action", false},
		{"truncated frame", func(c *wire.Conn) {
			c.Write(mod(&Mod{Action: ActAppend, Path: []any{}, Seq: 11})[:6])
		}, "heartbeat", false},
		{"mod that does not apply", func(c *wire.Conn) {
			c.Write(mod(&Mod{Action: ActAppend, Path: []any{"x"}, X: int64(1), Seq: 11}))
		}, "out of step", true},
		{"gap", func(c *wire.Conn) {
			c.Write(mod(&Mod{Action: ActSetItem, Path: []any{}, Key: "k", Value: int64(1), Seq: 13}))
		}, "gap", true},
		{"unknown message", func(c *wire.Conn) { c.Write(frame(&control{T: "frobnicate"})) }, "unexpected", false},
		{"silence", func(c *wire.Conn) {}, "heartbeat", false},
		{"huge frame", func(c *wire.Conn) { c.Write([]byte{0x7f, 0, 0, 0}) }, "exceeds the limit", false},
		{"truncated snapshot", func(c *wire.Conn) {
			c.Write(frame(&control{T: msgSync, Epoch: 7, Seq: 10, Mode: modeSnapshot}))
			c.Write(frame(&control{T: msgSynced, Seq: 10}))
		}, "snapshot", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var subs []message
			var subsMu = make(chan struct{}, 1)
			subsMu <- struct{}{}
			addr := fakePublisher(t, func(c *wire.Conn, sub *message) {
				<-subsMu
				subs = append(subs, *sub)
				first := len(subs) == 1
				subsMu <- struct{}{}
				snapshot(c, map[string]any{"x": int64(0)}, 10)
				if first {
					tc.bad(c)
				}
				// Then stay quiet but alive until the subscriber leaves.
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				io.Copy(io.Discard, c)
			})
			var rec recorder
			o := rec.opts()
			s := must2(NewSubscriber(addr, "s", SubscriberOptions{OnMod: o.OnMod, OnSynced: o.OnSynced, OnDisconnect: o.OnDisconnect, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}))
			defer s.Close()
			waitFor(t, "the reconnection's sync", func() bool { _, k, _ := rec.count(); return k >= 2 })
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if rec.disconnects < 1 {
				t.Fatal("no disconnect reported")
			}
			if err := rec.errs[0]; !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("disconnect error %q, want it to mention %q", err, tc.want)
			}
			<-subsMu
			second := subs[1]
			subsMu <- struct{}{}
			if tc.broken && second.Epoch != 0 {
				t.Fatalf("after a broken replica the subscriber asked to resume at %d/%d", second.Epoch, second.Seq)
			}
		})
	}
}

// TestHeartbeatNoticesDeadPublisher: a publisher that stops talking is
// noticed within the heartbeat timeout.
func TestHeartbeatTimeoutError(t *testing.T) {
	got := make(chan error, 1)
	addr := fakePublisher(t, func(c *wire.Conn, sub *message) {
		ch := newChunker(true)
		encMsgpack.WriteInit(ch, map[string]any{}, 0)
		b, _ := appendControlFrame(nil, &control{T: msgSync, Epoch: 1, Mode: modeSnapshot, HeartbeatMS: 30})
		c.Write(b)
		for _, p := range ch.Pieces() {
			c.Write(p)
		}
		b, _ = appendControlFrame(nil, &control{T: msgSynced})
		c.Write(b)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.Copy(io.Discard, c)
	})
	s := must2(NewSubscriber(addr, "s", SubscriberOptions{OnDisconnect: func(err error) {
		select {
		case got <- err:
		default:
		}
	}}))
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	select {
	case err := <-got:
		if !errors.Is(err, ErrHeartbeat) {
			t.Fatalf("disconnect error %v, want ErrHeartbeat", err)
		}
	case <-ctx.Done():
		t.Fatal("silent publisher not noticed")
	}
}

// TestAbsurdHeartbeatFromPublisher: a heartbeat interval whose timeout
// overflows a time.Duration is refused, not a panic (a non-positive ticker
// interval) or an instant timeout.
func TestAbsurdHeartbeatFromPublisher(t *testing.T) {
	for _, hb := range []int64{1 << 53, 1<<63 - 1} {
		t.Run(fmt.Sprint(hb), func(t *testing.T) {
			addr := fakePublisher(t, func(c *wire.Conn, sub *message) {
				b, _ := appendControlFrame(nil, &control{T: msgSync, Epoch: 1, Mode: modeSnapshot, HeartbeatMS: hb})
				c.Write(b)
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				io.Copy(io.Discard, c)
			})
			s := must2(NewSubscriber(addr, "s", SubscriberOptions{MinBackoff: time.Hour, MaxBackoff: time.Hour}))
			defer s.Close()
			waitFor(t, "the connection to fail", func() bool { _, err := s.State(); return err != nil })
			if _, err := s.State(); !errors.Is(err, ErrBadMessage) {
				t.Fatalf("error %v, want ErrBadMessage", err)
			}
		})
	}
}

// TestSlowSnapshotNotHeartbeat: a subscriber is not dropped for silence
// while the publisher is still encoding its snapshot — it cannot ping
// before the sync message tells it the interval. (A 100 MB snapshot under
// -race on a loaded 2-core machine took longer than the 6 s timeout.)
func TestSlowSnapshotNotHeartbeat(t *testing.T) {
	const timeout = 500 * time.Millisecond
	testHookBeforeSnapshot = func() { time.Sleep(timeout + 2*closeGrace) } // past the timeout and the close grace
	t.Cleanup(func() { testHookBeforeSnapshot = nil })
	n := mustNotifier(t, map[string]any{"a": 1}, NotifierOptions{})
	p := NewPublisher(map[string]*Notifier{"s": n}, PublisherOptions{HeartbeatInterval: 100 * time.Millisecond, HeartbeatTimeout: timeout})
	ep := serve(t, p, "tcp")
	s := subscribe(t, ep, "s", SubscriberOptions{})
	waitSynced(t, s)
	testHookBeforeSnapshot = nil
	must(t, n.Set("after", true))
	waitReplica(t, s, n)
	if st := p.Stats(); st.Snapshots != 1 {
		t.Errorf("%d snapshots, want 1 (the first session was dropped)", st.Snapshots)
	}
}

// TestSlowSnapshotWithinSubscriberTimeout: a snapshot that takes longer to
// encode than the subscriber's handshake timeout still reaches it (the
// publisher pings while encoding); before, the subscriber gave up,
// reconnected and had the snapshot encoded again, for ever.
func TestSlowSnapshotWithinSubscriberTimeout(t *testing.T) {
	const subTimeout = 400 * time.Millisecond
	testHookBeforeSnapshot = func() { time.Sleep(3 * subTimeout) }
	t.Cleanup(func() { testHookBeforeSnapshot = nil })
	for _, tr := range []string{"tcp", "ws"} {
		t.Run(tr, func(t *testing.T) {
			n := mustNotifier(t, map[string]any{"a": 1}, NotifierOptions{})
			p := NewPublisher(map[string]*Notifier{"s": n}, PublisherOptions{})
			ep := serve(t, p, tr)
			s := subscribe(t, ep, "s", SubscriberOptions{HandshakeTimeout: subTimeout})
			waitSynced(t, s)
			if got := p.Stats().Snapshots; got != 1 {
				t.Errorf("%d snapshots sent, want 1 (the subscriber gave up and came back)", got)
			}
		})
	}
}
