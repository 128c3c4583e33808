package syncstruct

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
)

// dropFirstProxy forwards connections to target, except the first, which
// it closes at once without a word: a publisher restarting, or a proxy.
func dropFirstProxy(t *testing.T, target string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if i == 0 {
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, up)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(up, c); up.Close() }()
			go func() { defer wg.Done(); io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// TestAutoNoDowngradeAfterSilentClose: one connection closed before any
// answer must not leave a ProtocolAuto subscriber on SiPyCo's protocol
// against a sigoco publisher (no epoch, no resume, no heartbeats).
func TestAutoNoDowngradeAfterSilentClose(t *testing.T) {
	n := mustNotifier(t, map[string]any{"a": int64(1)}, NotifierOptions{})
	p := NewPublisher(map[string]*Notifier{"x": n}, PublisherOptions{})
	ep := serve(t, p, "tcp")
	ep.addr = dropFirstProxy(t, ep.addr)
	s := subscribe(t, ep, "x", SubscriberOptions{})
	waitFor(t, "the subscriber to speak the native protocol", func() bool {
		e, _ := s.Position()
		st, _ := s.State()
		return st == StateSynced && e == n.Epoch()
	})
	// And it stays native: a mod arrives with its sequence number.
	must(t, n.Set("b", int64(2)))
	waitFor(t, "the mod", func() bool { e, q := s.Position(); return e == n.Epoch() && q == n.Seq() })
}

// TestNewSubscriberBadAddress: an address no connection can use is an
// error from NewSubscriber, not a reconnection loop for ever.
func TestNewSubscriberBadAddress(t *testing.T) {
	for _, tc := range []struct {
		addr, name string
		proto      Protocol
	}{
		{"localhost", "x", ProtocolAuto},
		{"localhost:", "x", ProtocolAuto},
		{"ws://", "x", ProtocolAuto},
		{"127.0.0.1:1", "", ProtocolAuto},
		{"ws://127.0.0.1:1/sync", "x", ProtocolSiPyCo},
		{"127.0.0.1:1", "a\nb", ProtocolSiPyCo},
	} {
		s, err := NewSubscriber(tc.addr, tc.name, SubscriberOptions{Protocol: tc.proto})
		if !errors.Is(err, ErrBadAddress) {
			if s != nil {
				s.Close()
			}
			t.Errorf("NewSubscriber(%q, %q): %v, want ErrBadAddress", tc.addr, tc.name, err)
		}
	}
}
