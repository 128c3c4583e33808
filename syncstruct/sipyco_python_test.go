package syncstruct

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/sipycotest"
	"github.com/sigoco/sigoco/internal/testcert"
	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/wire"
)

// Optional tests against real SiPyCo (skipped, saying why, when python3
// with SiPyCo and numpy is not available; see internal/sipycotest).

// pyDescribed is sipycotest_common.describe's view of a Python value.
type pyDescribed struct {
	Type string `json:"type"`
	JSON any    `json:"json"`
	PYON string `json:"pyon"`
}

// tree decodes the exact PYON text of the value into normal form.
func (d pyDescribed) tree(t testing.TB) any {
	t.Helper()
	m, err := decodeSiPyCoMod([]byte(`{"action":"init","struct":` + d.PYON + `}`))
	if err != nil {
		t.Fatalf("Python value %s: %v", d.PYON, err)
	}
	return m.Struct
}

// pySubEvent is one line of sync_subscriber.py.
type pySubEvent struct {
	Event   string      `json:"event"`
	Reason  string      `json:"reason"`
	Mods    int         `json:"mods"`
	Replica pyDescribed `json:"replica"`
}

func hostPort(t testing.TB, addr string) (string, string) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}

// SiPyCo's Python Subscriber against the Go Publisher keeps an exact
// replica: the recorded changes (the last ones made with UpdateFrom),
// every kind of PYON value, a fresh init in place of a mod too large to
// send, over TCP and TLS; an unknown notifier name gets it disconnected.
func TestSiPyCoPythonSubscriber(t *testing.T) {
	env := sipycotest.Python(t)
	start := func(t *testing.T, tls bool, trees map[string]any, o NotifierOptions) (map[string]*Notifier, []string) {
		notifiers := map[string]*Notifier{}
		for name, tree := range trees {
			notifiers[name] = mustNotifier(t, tree, o)
		}
		p := NewPublisher(notifiers, PublisherOptions{})
		var sslArgs []string
		if tls {
			srv, cli := testcert.New(t, "server"), testcert.New(t, "client")
			cfg, err := wire.TLSConfig{CertFile: srv.CertFile, KeyFile: srv.KeyFile, PeerCertFile: cli.CertFile}.Server()
			must(t, err)
			p.opts.TLS = cfg
			p.loop = p.newAcceptLoop()
			sslArgs = []string{"--ssl", cli.CertFile, cli.KeyFile, srv.CertFile}
		}
		ep := serve(t, p, "tcp")
		h, port := hostPort(t, ep.addr)
		return notifiers, append([]string{h, port}, sslArgs...)
	}
	initial := func() map[string]any {
		return map[string]any{"runs": map[string]any{}, "counts": []any{}, "status": "idle"}
	}
	// run starts sync_subscriber.py, waits for its init event, calls
	// change and returns the final event.
	run := func(t *testing.T, args []string, name string, opts []string, change func()) pySubEvent {
		sub := env.Start(t, sipycotest.SyncSubscriber, append(append([]string{args[0], args[1], name}, opts...), args[2:]...)...)
		sub.Expect(t, `{"event": "init"`)
		change()
		r := sub.Wait(t)
		var done pySubEvent
		r.JSON(t, &done)
		if r.Err != nil || done.Event != "done" {
			t.Fatalf("%s", r)
		}
		return done
	}

	for _, tls := range []bool{false, true} {
		t.Run(fmt.Sprintf("recorded/tls=%v", tls), func(t *testing.T) {
			ns, args := start(t, tls, map[string]any{"state": initial()}, NotifierOptions{})
			n := ns["state"]
			final, _ := json.Marshal(sipycoFinal)
			done := run(t, args, "state", []string{"--until", string(final)}, func() {
				makeDirectRecordedMods(t, n)
				must(t, UpdateFrom(n, sipycoFinal))
			})
			if done.Reason != "until" || !Equal(done.Replica.tree(t), n.Copy()) {
				t.Fatalf("Python replica %+v; want %v", done, n.Copy())
			}
		})
	}

	t.Run("every PYON value", func(t *testing.T) {
		scratch := mustNotifier(t, sipycoExotic(), NotifierOptions{})
		exoticMods(t, scratch)
		ns, args := start(t, false, map[string]any{"x": sipycoExotic()}, NotifierOptions{})
		n := ns["x"]
		done := run(t, args, "x", []string{"--mods", fmt.Sprint(scratch.Seq())}, func() { exoticMods(t, n) })
		if done.Reason != "mods" || done.Mods != int(n.Seq()) {
			t.Fatalf("Python subscriber stopped: %+v", done)
		}
		want := pyonView(n.Copy())
		if got := done.Replica.tree(t); !Equal(got, want) {
			t.Fatalf("Python replica\n%s\ngot  %#v\nwant %#v", done.Replica.PYON, got, want)
		}
	})

	// SiPyCo's Subscriber takes a second init on the same connection as a
	// new replica: what a subscriber that fell behind, or a mod too large
	// to send, gets.
	t.Run("fresh init", func(t *testing.T) {
		ns, args := start(t, false, map[string]any{"x": map[string]any{}}, NotifierOptions{MaxModSize: 1024})
		n := ns["x"]
		big := strings.Repeat("b", 4096)
		sub := env.Start(t, sipycotest.SyncSubscriber, args[0], args[1], "x", "--until", `{"big": "`+big+`", "after": 1}`)
		sub.Expect(t, `{"event": "init"`)
		must(t, n.Set("big", big))
		sub.Expect(t, `{"event": "init"`)
		must(t, n.Set("after", 1))
		r := sub.Wait(t)
		var done pySubEvent
		r.JSON(t, &done)
		if r.Err != nil || done.Reason != "until" || !Equal(done.Replica.tree(t), n.Copy()) {
			t.Fatalf("%s", r)
		}
	})

	t.Run("unknown notifier", func(t *testing.T) {
		_, args := start(t, false, map[string]any{"x": map[string]any{}}, NotifierOptions{})
		r := env.Run(t, sipycotest.SyncSubscriber, args[0], args[1], "nope")
		var done pySubEvent
		r.JSON(t, &done)
		if r.Err != nil || done.Reason != "disconnected" || done.Replica.Type != "NoneType" {
			t.Fatalf("%s", r)
		}
	})
}

// pyonView is a tree as SiPyCo's pyon.encode writes it back: its wrap()
// turns every dict subclass into a plain dict before the OrderedDict class
// can apply, so an OrderedDict (which the Python replica does hold) comes
// back as a dict.
func pyonView(v any) any {
	switch x := v.(type) {
	case pyon.OrderedDict:
		d := make(pyon.Dict, len(x))
		for i, it := range x {
			d[i] = pyon.Item{Key: it.Key, Value: pyonView(it.Value)}
		}
		return dictOf(d)
	case pyon.Dict:
		for i := range x {
			x[i].Value = pyonView(x[i].Value)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = pyonView(e)
		}
	case []any:
		for i, e := range x {
			x[i] = pyonView(e)
		}
	case pyon.Tuple:
		for i, e := range x {
			x[i] = pyonView(e)
		}
	}
	return v
}

// makeDirectRecordedMods makes the recorded changes that precede
// update_from_dict.
func makeDirectRecordedMods(t testing.TB, n *Notifier) {
	t.Helper()
	must(t, n.Set("status", "running"))
	must(t, n.At("runs").Set("r1", map[string]any{"params": map[string]any{"v": 100}, "step": 0}))
	must(t, n.At("runs", "r1").Set("step", 1))
	must(t, n.At("counts").Append(42))
	must(t, n.At("counts").Append([]any{1, 2}))
	must(t, n.At("counts", 1).Append(3))
	must(t, n.At("counts").Insert(0, 7))
	_, err := n.At("counts").Pop(0)
	must(t, err)
	_, err = n.At("counts").Pop(-1)
	must(t, err)
	must(t, n.At("runs").Set(pyon.Tuple{1, 2}, "tuple key"))
	must(t, n.At("runs").Delete(pyon.Tuple{1, 2}))
	must(t, n.At("runs", "r1").Delete("params"))
}

// pyDump asks sync_publisher.py for a notifier's value.
func pyDump(t testing.TB, pub *sipycotest.Proc, name string) any {
	t.Helper()
	pub.Send(t, "dump "+name)
	line := pub.Expect(t, "dump ")
	var d pyDescribed
	if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "dump ")), &d); err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	return d.tree(t)
}

// pyCommand sends a command to sync_publisher.py and checks its answer.
func pyCommand(t testing.TB, pub *sipycotest.Proc, cmd string) {
	t.Helper()
	pub.Send(t, cmd)
	verb, _, _ := strings.Cut(cmd, " ")
	if l := pub.Line(t); l != "ok "+verb {
		t.Fatalf("%s: %s", cmd, l)
	}
}

// waitPyReplica waits for s's replica to equal want.
func waitPyReplica(t testing.TB, s *Subscriber, want any) {
	t.Helper()
	waitFor(t, "the replica", func() bool { return Equal(s.Copy(), want) })
}

// The Go Subscriber keeps a replica of SiPyCo's Python Publisher: the
// recorded changes, every PYON value Python sends, a burst, and a full
// resync after the publisher restarts on the same port.
func TestSiPyCoPythonPublisher(t *testing.T) {
	env := sipycotest.Python(t)
	opts := func(o SubscriberOptions) SubscriberOptions {
		o.MinBackoff, o.MaxBackoff = 10*time.Millisecond, 100*time.Millisecond
		return o
	}
	for _, proto := range []Protocol{ProtocolAuto, ProtocolSiPyCo} {
		t.Run(proto.String(), func(t *testing.T) {
			pub := env.Serve(t, sipycotest.SyncPublisher)
			var logs logRecorder
			s := must2(NewSubscriber(pub.Addr, "state", opts(SubscriberOptions{Protocol: proto, Logger: slog.New(&logs)})))
			defer s.Close()
			waitSynced(t, s)
			if fellBack := logs.has("no answer to the native handshake"); fellBack != (proto == ProtocolAuto) {
				t.Errorf("fell back from the native protocol: %v", fellBack)
			}
			if !Equal(s.Copy(), pyDump(t, pub, "state")) {
				t.Fatalf("snapshot %#v", s.Copy())
			}
			pyCommand(t, pub, "mods")
			waitPyReplica(t, s, sipycoFinal)

			text, err := pyon.Encode(sipycoExotic())
			must(t, err)
			pyCommand(t, pub, "update state "+string(text))
			pyCommand(t, pub, `mod state {"action":"setitem","path":["keys"],"key":{"__jsonclass__":["tuple",[[9,"z"]]]},"value":{"__jsonclass__":["nparray",[[2,2],"<i4","AQAAAAIAAAADAAAABAAAAA=="]]}}`)
			pyCommand(t, pub, `mod state {"action":"insert","path":["nested","l"],"i":-1,"x":{"__jsonclass__":["Fraction",[3,4]]}}`)
			waitPyReplica(t, s, pyDump(t, pub, "state"))
		})
	}

	t.Run("tls", func(t *testing.T) {
		srv, cli := testcert.New(t, "server"), testcert.New(t, "client")
		cfg, err := wire.TLSConfig{CertFile: cli.CertFile, KeyFile: cli.KeyFile, PeerCertFile: srv.CertFile}.Client("")
		must(t, err)
		pub := env.Serve(t, sipycotest.SyncPublisher, "--ssl", srv.CertFile, srv.KeyFile, cli.CertFile)
		s := must2(NewSubscriber(pub.Addr, "state", opts(SubscriberOptions{TLS: cfg}))) // ProtocolAuto
		defer s.Close()
		waitSynced(t, s)
		pyCommand(t, pub, "mods")
		waitPyReplica(t, s, sipycoFinal)
	})

	t.Run("burst", func(t *testing.T) {
		pub := env.Serve(t, sipycotest.SyncPublisher)
		s := must2(NewSubscriber(pub.Addr, "other", opts(SubscriberOptions{Protocol: ProtocolSiPyCo})))
		defer s.Close()
		waitSynced(t, s)
		const n = 5000
		pyCommand(t, pub, fmt.Sprintf("burst other %d", n))
		want := make([]any, n)
		for i := range want {
			want[i] = int64(i)
		}
		waitPyReplica(t, s, want)
		if _, seq := s.Position(); seq != n {
			t.Fatalf("%d mods applied, want %d", seq, n)
		}
	})

	t.Run("restart", func(t *testing.T) {
		pub := env.Serve(t, sipycotest.SyncPublisher)
		var rc recorder
		s := must2(NewSubscriber(pub.Addr, "state", opts(rc.opts())))
		defer s.Close()
		waitSynced(t, s)
		pyCommand(t, pub, "mods")
		waitPyReplica(t, s, sipycoFinal)

		pub.Stop()
		waitFor(t, "the disconnection", func() bool { st, _ := s.State(); return st == StateReconnecting })
		pub = env.Serve(t, sipycotest.SyncPublisher, "--port", pub.PortArg())
		waitSynced(t, s)
		if !Equal(s.Copy(), pyDump(t, pub, "state")) {
			t.Fatalf("replica after the restart %#v", s.Copy())
		}
		pyCommand(t, pub, "mods")
		waitPyReplica(t, s, sipycoFinal)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if len(rc.resyncs) != 1 || rc.resyncs[0].Reason != ReasonSiPyCo || rc.disconnects != 1 {
			t.Fatalf("resyncs %+v, %d disconnects", rc.resyncs, rc.disconnects)
		}
	})
}
