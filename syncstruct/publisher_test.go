package syncstruct

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sigoco/sigoco/wire"
)

func TestSubscribeAndFollow(t *testing.T) {
	for _, kind := range transports {
		t.Run(kind, func(t *testing.T) {
			n := mustNotifier(t, map[string]any{"runs": map[string]any{}, "counts": []any{}, "status": "idle"}, NotifierOptions{})
			p := NewPublisher(map[string]*Notifier{"state": n}, PublisherOptions{})
			ep := serve(t, p, kind)

			var mu sync.Mutex
			var got []Mod
			s := subscribe(t, ep, "state", SubscriberOptions{OnMod: []func(any, *Mod){func(_ any, m *Mod) {
				mu.Lock()
				got = append(got, *m)
				mu.Unlock()
			}}})
			waitSynced(t, s)

			must(t, n.Set("status", "running"))
			must(t, n.At("runs").Set("r1", map[string]any{"params": map[string]any{"v": 100}, "step": 0}))
			must(t, n.At("runs", "r1").Set("step", 1))
			must(t, n.At("counts").Append(42))
			must(t, n.At("counts").Append([]any{1, 2}))
			must(t, n.At("counts", 1).Append(3))
			must(t, n.At("counts").Insert(0, 7))
			if v, err := n.At("counts").Pop(0); err != nil || !Equal(v, int64(7)) {
				t.Fatalf("pop = %v, %v", v, err)
			}
			must(t, n.At("runs").Delete("r1"))
			waitReplica(t, s, n)

			mu.Lock()
			defer mu.Unlock()
			if len(got) != 10 || got[0].Action != ActInit {
				t.Fatalf("callbacks saw %d mods, first %v", len(got), got[0].Action)
			}
			for i, m := range got[1:] {
				if m.Seq != uint64(i+1) {
					t.Errorf("mod %d has seq %d", i, m.Seq)
				}
			}
		})
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestEmptyTreeGetsSyncedMarker(t *testing.T) {
	for _, tree := range []any{map[string]any{}, []any{}} {
		n := mustNotifier(t, tree, NotifierOptions{})
		p := NewPublisher(map[string]*Notifier{"e": n}, PublisherOptions{})
		ep := serve(t, p, "tcp")
		var infos []SyncInfo
		var mu sync.Mutex
		s := subscribe(t, ep, "e", SubscriberOptions{OnSynced: func(i SyncInfo) {
			mu.Lock()
			infos = append(infos, i)
			mu.Unlock()
		}})
		waitSynced(t, s)
		mu.Lock()
		if len(infos) != 1 || !infos[0].First || infos[0].Resumed || infos[0].Reason != ReasonNew {
			t.Errorf("sync infos %+v", infos)
		}
		mu.Unlock()
		if !Equal(s.Copy(), tree) {
			t.Errorf("replica %#v", s.Copy())
		}
	}
}

func TestUnknownNotifier(t *testing.T) {
	for _, kind := range transports {
		t.Run(kind, func(t *testing.T) {
			p := NewPublisher(nil, PublisherOptions{})
			ep := serve(t, p, kind)
			s := subscribe(t, ep, "nope", SubscriberOptions{})
			waitFor(t, "a connection error", func() bool { _, err := s.State(); return err != nil })
			st, err := s.State()
			var re *RemoteError
			if st != StateConnecting || !errors.As(err, &re) || !errors.Is(err, ErrUnknownNotifier) {
				t.Fatalf("state %v, last error %v; want connecting with a RemoteError for an unknown notifier", st, err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			if err := s.WaitSynced(ctx); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "unknown_notifier") {
				t.Fatalf("WaitSynced = %v", err)
			}
			// Added later, it is found by the retrying subscriber.
			must(t, p.Add("nope", mustNotifier(t, map[string]any{"x": 1}, NotifierOptions{})))
			waitSynced(t, s)
		})
	}
}

// TestTargetBuilder: the builder sees every snapshot and its result is
// the replica mods are applied to.
func TestTargetBuilder(t *testing.T) {
	n := mustNotifier(t, map[string]any{"v": 1}, NotifierOptions{})
	p := NewPublisher(map[string]*Notifier{"s": n}, PublisherOptions{})
	ep := serve(t, p, "tcp")
	var mu sync.Mutex
	var built []any
	s := subscribe(t, ep, "s", SubscriberOptions{TargetBuilder: func(snapshot any) any {
		mu.Lock()
		built = append(built, Copy(snapshot))
		mu.Unlock()
		m := snapshot.(map[string]any)
		m["local"] = true // the replica may carry what the builder adds
		return m
	}})
	waitSynced(t, s)
	must(t, n.Set("v", 2))
	waitFor(t, "the mod", func() bool { _, seq := s.Position(); return seq == 1 })
	if got := s.Copy(); !Equal(got, map[string]any{"v": int64(2), "local": true}) {
		t.Fatalf("replica %#v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(built) != 1 || !Equal(built[0], map[string]any{"v": int64(1)}) {
		t.Fatalf("builder saw %#v", built)
	}
}

// acceptSignal reports each accepted connection on ch.
type acceptSignal struct {
	net.Listener
	ch chan struct{}
}

func (l acceptSignal) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.ch <- struct{}{}
	}
	return c, err
}

// TestCloseDuringHandshake: a peer that connects and then says nothing
// (no banner, or no subscribe) must not hold Close for the handshake
// timeout.
func TestCloseDuringHandshake(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write string // what the peer sends before falling silent
		ws    bool
	}{
		{name: "no banner"},
		{name: "no subscribe", write: wire.BannerSync + "\n"},
		{name: "no SiPyCo name", write: wire.BannerSiPyCoSync + "\n"},
		{name: "websocket no subscribe", ws: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := mustNotifier(t, nil, NotifierOptions{})
			p := NewPublisher(map[string]*Notifier{"s": n}, PublisherOptions{HandshakeTimeout: time.Hour})
			if tc.ws {
				srv := httptest.NewServer(p)
				t.Cleanup(srv.Close)
				ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ws.Close() })
			} else {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				accepted := make(chan struct{}, 1)
				served := make(chan struct{})
				go func() { defer close(served); p.Serve(context.Background(), acceptSignal{ln, accepted}) }()
				t.Cleanup(func() { <-served })
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				if _, err := io.WriteString(c, tc.write); err != nil {
					t.Fatal(err)
				}
				<-accepted
			}
			closed := make(chan struct{})
			go func() { p.Close(); close(closed) }()
			select {
			case <-closed:
			case <-time.After(5 * time.Second):
				t.Fatal("Close waits for a silent peer's handshake")
			}
		})
	}
}
