package syncstruct

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/wire"
)

// Tests of the Go Subscriber against fake SiPyCo publishers.

// fakeSiPyCoPublisher serves connections like SiPyCo's Publisher: a
// connection whose first line is not SiPyCo's banner is closed without a
// word; otherwise script gets the connection (numbered from 1) and the
// notifier name, and the connection is closed when it returns.
func fakeSiPyCoPublisher(t *testing.T, script func(conn int, c net.Conn, name string)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		conns := 0
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wc := wire.NewConn(c)
			if b, err := wc.ReadBanner(); err != nil || b != wire.BannerSiPyCoSync {
				c.Close()
				continue
			}
			name, err := wire.ReadLine(wc.R, 4096)
			if err != nil {
				c.Close()
				continue
			}
			conns++
			wg.Add(1)
			go func(conn int) {
				defer wg.Done()
				defer c.Close()
				script(conn, wc, name)
			}(conns)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// holdOpen keeps a fake publisher's connection open until the subscriber
// leaves (or 10 s pass).
func holdOpen(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.Copy(io.Discard, c)
}

// TestSiPyCoSubscriberResyncs: every reconnection to a SiPyCo publisher is
// a full resync, and so is a further init on the same connection; both
// are reported as such.
func TestSiPyCoSubscriberResyncs(t *testing.T) {
	second := make(chan struct{})
	addr := fakeSiPyCoPublisher(t, func(conn int, c net.Conn, name string) {
		switch conn {
		case 1:
			io.WriteString(c, `{"action":"init","struct":{"a":1}}`+"\n"+`{"action":"setitem","path":[],"key":"b","value":2}`+"\n")
			// and close: a publisher restart
		case 2:
			io.WriteString(c, `{"action":"init","struct":{"a":10}}`+"\n")
			<-second
			io.WriteString(c, `{"action":"init","struct":[1,2]}`+"\n"+`{"action":"append","path":[],"x":3}`+"\n")
			holdOpen(c)
		}
	})
	var rc recorder
	o := rc.opts()
	o.Protocol, o.MinBackoff, o.MaxBackoff = ProtocolSiPyCo, time.Millisecond, 5*time.Millisecond
	synced := make(chan SyncInfo, 3)
	o.OnSynced = func(i SyncInfo) { synced <- i }
	s := must2(NewSubscriber(addr, "x", o))
	defer s.Close()
	want := []string{ReasonNew, ReasonSiPyCo, ReasonReinit}
	for i, reason := range want {
		if i == 2 {
			close(second)
		}
		select {
		case info := <-synced:
			if info.Reason != reason || info.First != (i == 0) || info.Epoch != 0 || info.Seq != 0 || info.Resumed {
				t.Fatalf("sync %d: %+v, want reason %q", i, info, reason)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no sync %d", i)
		}
	}
	waitFor(t, "the mod after the second init", func() bool { return Equal(s.Copy(), []any{int64(1), int64(2), int64(3)}) })
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.resyncs) != 2 || rc.resyncs[0].Reason != ReasonSiPyCo || rc.resyncs[1].Reason != ReasonReinit {
		t.Errorf("resyncs %+v", rc.resyncs)
	}
	if rc.disconnects != 1 {
		t.Errorf("%d disconnects, want 1", rc.disconnects)
	}
}

// TestSiPyCoBadLines: a line that is not a SiPyCo mod, or does not apply,
// ends the connection with an error saying why; the subscriber starts over
// from a fresh init.
func TestSiPyCoBadLines(t *testing.T) {
	tests := []struct {
		name, lines, want string
	}{
		{"not JSON", "{\"action\n", "bad message"},
		{"PYON v1", "{'action': 'init', 'struct': (1, 2)}\n", "PYON v1"},
		{"mod before init", `{"action":"append","path":[],"x":1}` + "\n", "before the init"},
		{"mod that does not apply", `{"action":"init","struct":{}}` + "\n" + `{"action":"append","path":["x"],"x":1}` + "\n", "out of step"},
		{"line too long", `{"action":"init","struct":"` + strings.Repeat("x", 2000) + `"}` + "\n", "over 1024 bytes"},
		{"unknown notifier (closed at once)", "", "unknown notifier"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := fakeSiPyCoPublisher(t, func(conn int, c net.Conn, name string) {
				if conn == 1 {
					io.WriteString(c, tc.lines)
					if tc.lines == "" {
						return
					}
				} else {
					io.WriteString(c, `{"action":"init","struct":{"ok":true}}`+"\n")
				}
				holdOpen(c)
			})
			s := must2(NewSubscriber(addr, "x", SubscriberOptions{Protocol: ProtocolSiPyCo, MaxFrameSize: 1024,
				MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}))
			defer s.Close()
			waitFor(t, "the sync on the second connection", func() bool { return Equal(s.Copy(), map[string]any{"ok": true}) })
			st, err := s.State() // err: the last connection error, the first connection's
			if st != StateSynced || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("state %v, error %v; want it to mention %q", st, err, tc.want)
			}
		})
	}
}
