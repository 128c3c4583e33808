package syncstruct

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Replay tests of the recorded SiPyCo sync_struct sessions
// (testdata/sipyco_sync_struct.jsonl, sipyco_sync_struct_replicas.jsonl).
// docs/sipyco.md, "Replaying the sync_struct and logging recordings",
// says what each compares.

// syncReplayDivergent lists the recorded cases ("session/case") a replay
// cannot match by nature, with the reason; the "subscriber" and
// "publisher" keys say which replay. Every other recorded case must be
// replayed and match, and a listed case that does match fails the test
// (the entry is stale).
var syncReplayDivergent = map[string]map[string]string{
	"subscriber": {},
	"publisher": {
		"sync_dict_mods/dict_pop_str_key": "Node.PopKey publishes dict.pop(key) as a delitem (the same change on every replica, SiPyCo's included), where SiPyCo's Notifier sends action pop with the key in \"i\"; the replica it makes is still checked. (dict_pop_int_key matches: Node.Pop(101) on a dict is dict.pop(101), sent as SiPyCo sends it)",
	},
}

// replayTally counts what a replay compared, for the table check.
type replayTally struct {
	mu       sync.Mutex
	cases    map[string]bool // every recorded session/case
	matched  map[string]bool // cases that matched exactly
	diverged map[string]bool // cases that did not
}

func newReplayTally() *replayTally {
	return &replayTally{cases: map[string]bool{}, matched: map[string]bool{}, diverged: map[string]bool{}}
}

func (rt *replayTally) result(key string, ok bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if ok {
		if !rt.diverged[key] {
			rt.matched[key] = true
		}
	} else {
		rt.diverged[key] = true
		delete(rt.matched, key)
	}
}

// check fails t for every recorded case neither matched nor in table, and
// for every table entry that matched or names no recorded case.
func (rt *replayTally) check(t *testing.T, table map[string]string) {
	t.Helper()
	if t.Failed() {
		return // the cases that failed already said why
	}
	for key := range rt.cases {
		_, listed := table[key]
		switch {
		case rt.matched[key] && listed:
			t.Errorf("%s matches: remove it from the table (%s)", key, table[key])
		case !rt.matched[key] && !listed:
			t.Errorf("%s was not replayed to a match and is not in the table", key)
		}
	}
	for key := range table {
		if !rt.cases[key] {
			t.Errorf("table entry %s is not a recorded case", key)
		}
	}
	t.Logf("%d recorded cases: %d matched, %d in the table", len(rt.cases), len(rt.matched), len(rt.cases)-len(rt.matched))
}

// replicasOf returns a session's recorded replicas by case.
func replicasOf(all []syncReplica, session string) map[string][]syncReplica {
	out := map[string][]syncReplica{}
	for _, r := range all {
		if r.Session == session {
			out[r.Case] = append(out[r.Case], r)
		}
	}
	return out
}

// TestSiPyCoReplaySubscriber feeds the Go Subscriber each recorded
// session: a fake publisher checks the subscriber's handshake against the
// recorded client bytes and replays the recorded server chunks, as they
// were chunked; after every case the replica must equal the one SiPyCo's
// own subscriber had (sipyco_sync_struct_replicas.jsonl). A recorded
// server EOF right after the handshake (an unknown notifier) must leave
// the subscriber without a replica, reporting why.
func TestSiPyCoReplaySubscriber(t *testing.T) {
	replicas := readSyncReplicas(t)
	tally := newReplayTally()
	for _, sess := range syncSessions(readSyncRecording(t)) {
		for _, c := range sess.cases {
			tally.cases[sess.name+"/"+c] = true
		}
		t.Run(sess.name, func(t *testing.T) {
			replaySubscriber(t, sess, replicasOf(replicas, sess.name), tally, syncReplayDivergent["subscriber"])
		})
	}
	tally.check(t, syncReplayDivergent["subscriber"])
}

// replayedSub is one recorded connection replayed to a Go Subscriber.
type replayedSub struct {
	s       *Subscriber
	server  net.Conn // the fake publisher's end
	applied atomic.Int64
	written int64 // lines written to it
	closed  bool
}

func replaySubscriber(t *testing.T, sess *syncSession, replicas map[string][]syncReplica, tally *replayTally, table map[string]string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 4)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case accepted <- c:
			default:
				c.Close() // a reconnection no case expects
			}
		}
	}()
	subs := map[int]*replayedSub{}
	defer func() {
		for _, rs := range subs {
			rs.s.Close()
			if rs.server != nil {
				rs.server.Close()
			}
		}
		ln.Close()
		wg.Wait()
		for c := range accepted {
			c.Close()
		}
	}()

	for _, cs := range sess.cases {
		key := sess.name + "/" + cs
		ok := true
		fail := func(format string, args ...any) {
			t.Helper()
			ok = false
			if why, listed := table[key]; listed {
				t.Logf("%s (divergent: %s): %s", cs, why, fmt.Sprintf(format, args...))
				return
			}
			t.Errorf("%s: %s", cs, fmt.Sprintf(format, args...))
		}
		for _, ch := range sess.chunks[cs] {
			rs := subs[ch.Conn]
			switch {
			case ch.Dir == "client" && !ch.EOF:
				if rs != nil {
					t.Fatalf("%s: conn %d sends again; the recording's clients send only their handshake", cs, ch.Conn)
				}
				rs = &replayedSub{}
				subs[ch.Conn] = rs
				o := SubscriberOptions{
					Protocol:   ProtocolSiPyCo,
					MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
					HandshakeTimeout: 10 * time.Second,
					OnMod:            []func(any, *Mod){func(any, *Mod) { rs.applied.Add(1) }},
				}
				rs.s = must2(NewSubscriber(ln.Addr().String(), notifierName(t, ch.bytes(t)), o))
				select {
				case rs.server = <-accepted:
				case <-time.After(10 * time.Second):
					t.Fatalf("%s: the subscriber did not connect", cs)
				}
				want := ch.bytes(t)
				got := make([]byte, len(want))
				rs.server.SetReadDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.ReadFull(rs.server, got); err != nil || !bytes.Equal(got, want) {
					t.Fatalf("%s: subscriber sent %q (%v); recorded %q", cs, got, err, want)
				}
			case rs == nil:
				t.Fatalf("%s: conn %d has a %s chunk before its handshake", cs, ch.Conn, ch.Dir)
			case ch.Dir == "server" && !ch.EOF:
				b := ch.bytes(t)
				rs.server.SetWriteDeadline(time.Now().Add(10 * time.Second))
				if _, err := rs.server.Write(b); err != nil {
					t.Fatalf("%s: writing to the subscriber: %v", cs, err)
				}
				rs.written += int64(bytes.Count(b, []byte("\n")))
			case ch.Dir == "server": // the publisher closed
				rs.server.Close()
				if rs.written == 0 && !rs.closed {
					// Closed without a word (an unknown notifier): no
					// replica, and a state that says so.
					waitFor(t, "the subscriber to report the close", func() bool {
						st, err := rs.s.State()
						return st != StateSynced && err != nil && strings.Contains(err.Error(), "closed the connection before sending")
					})
					if rs.s.Copy() != nil || rs.applied.Load() != 0 {
						fail("a replica from a publisher that sent nothing: %v", rs.s.Copy())
					}
				}
			default: // the client closed
				if err := rs.s.Close(); err != nil {
					fail("closing the subscriber: %v", err)
				}
				rs.closed = true
			}
		}
		for _, r := range replicas[cs] {
			rs := subs[r.Conn]
			if rs == nil {
				t.Fatalf("%s: a replica for conn %d, which never connected", cs, r.Conn)
			}
			waitFor(t, fmt.Sprintf("%s: conn %d to apply %d lines", cs, r.Conn, rs.written), func() bool {
				return rs.applied.Load() >= rs.written
			})
			if n := rs.applied.Load(); n != rs.written {
				fail("conn %d applied %d lines, %d were sent", r.Conn, n, rs.written)
			}
			if st, err := rs.s.State(); st != StateSynced {
				fail("conn %d: state %v, %v", r.Conn, st, err)
			}
			if got, want := rs.s.Copy(), decodeReplica(t, r); !sameTree(got, want) {
				fail("conn %d replica\n got %#v\nwant %#v", r.Conn, got, want)
			}
		}
		tally.result(key, ok)
	}
}

// TestSiPyCoReplayPublisher drives a Go Publisher through each recorded
// session: its notifiers start as the recording's did, SiPyCo clients
// connect with the recorded handshakes when the recording's did, and each
// recorded mod is made through the Notifier's public API (Set, Delete,
// Append, Insert, Pop, PopKey). Every line the Go Publisher sends must
// equal the recorded line as a PYON value, and a SiPyCo subscriber
// applying them (Apply, as process_mod) must hold the recorded replica
// after every case. An unknown notifier is closed without a word.
func TestSiPyCoReplayPublisher(t *testing.T) {
	replicas := readSyncReplicas(t)
	tally := newReplayTally()
	for _, sess := range syncSessions(readSyncRecording(t)) {
		for _, c := range sess.cases {
			tally.cases[sess.name+"/"+c] = true
		}
		t.Run(sess.name, func(t *testing.T) {
			replayPublisher(t, sess, replicasOf(replicas, sess.name), tally, syncReplayDivergent["publisher"])
		})
	}
	tally.check(t, syncReplayDivergent["publisher"])
}

// replayedClient is one recorded connection replayed against the Go
// Publisher.
type replayedClient struct {
	sc     *sipycoClient
	name   string
	tree   any // what a SiPyCo subscriber holds, applying what it read
	closed bool
}

// driveMod makes m through n's public API.
func driveMod(n *Notifier, m *Mod) error {
	nd := n.At(m.Path...)
	switch m.Action {
	case ActSetItem:
		return nd.Set(m.Key, m.Value)
	case ActDelItem:
		return nd.Delete(m.Key)
	case ActAppend:
		return nd.Append(m.X)
	case ActInsert:
		return nd.Insert(m.I, m.X)
	case ActPop:
		var err error
		if m.Key != nil {
			_, err = nd.PopKey(m.Key)
		} else {
			_, err = nd.Pop(m.I)
		}
		return err
	}
	return fmt.Errorf("cannot drive a %s mod", m.Action)
}

func replayPublisher(t *testing.T, sess *syncSession, replicas map[string][]syncReplica, tally *replayTally, table map[string]string) {
	notifiers := map[string]*Notifier{}
	for name, tree := range sipycoInitialTrees() {
		notifiers[name] = mustNotifier(t, tree, NotifierOptions{})
	}
	p := NewPublisher(notifiers, PublisherOptions{})
	ep := serve(t, p, "tcp")
	clients := map[int]*replayedClient{}

	for _, cs := range sess.cases {
		key := sess.name + "/" + cs
		ok := true
		fail := func(format string, args ...any) {
			t.Helper()
			ok = false
			if why, listed := table[key]; listed {
				t.Logf("%s (divergent: %s): %s", cs, why, fmt.Sprintf(format, args...))
				return
			}
			t.Errorf("%s: %s", cs, fmt.Sprintf(format, args...))
		}
		// The recorded lines of this case, by connection.
		lines := map[int][]string{}
		var order []int
		for _, ch := range sess.chunks[cs] {
			if ch.Dir != "server" || ch.EOF {
				continue
			}
			if _, seen := lines[ch.Conn]; !seen {
				order = append(order, ch.Conn)
			}
			lines[ch.Conn] = append(lines[ch.Conn], strings.SplitAfter(string(ch.bytes(t)), "\n")...)
		}
		for c, ls := range lines {
			var keep []string
			for _, l := range ls {
				if l != "" {
					keep = append(keep, l)
				}
			}
			lines[c] = keep
		}
		// Handshakes and closes, in the recorded order; a new client
		// reads its init at once.
		for _, ch := range sess.chunks[cs] {
			rc := clients[ch.Conn]
			switch {
			case ch.Dir == "client" && !ch.EOF:
				hello := ch.bytes(t)
				rc = &replayedClient{name: notifierName(t, hello), sc: dialSiPyCo(t, ep.addr, string(hello))}
				clients[ch.Conn] = rc
				if len(lines[ch.Conn]) == 0 {
					continue // (an unknown notifier: checked at the server's EOF)
				}
				want := lines[ch.Conn][0]
				lines[ch.Conn] = lines[ch.Conn][1:]
				got := rc.sc.line()
				gm, err1 := decodeSiPyCoMod([]byte(got))
				wm, err2 := decodeSiPyCoMod([]byte(want))
				if err1 != nil || err2 != nil || gm.Action != ActInit || wm.Action != ActInit {
					t.Fatalf("%s: init %.200q (%v); recorded %.200q (%v)", cs, got, err1, want, err2)
				}
				if !sameTree(gm.Struct, wm.Struct) {
					fail("conn %d init\n got %.300s\nwant %.300s", ch.Conn, got, want)
				}
				rc.tree = gm.Struct
			case rc == nil:
				t.Fatalf("%s: conn %d has a %s chunk before its handshake", cs, ch.Conn, ch.Dir)
			case ch.Dir == "client":
				rc.sc.c.Close()
				rc.closed = true
			case !rc.closed && rc.tree == nil: // the publisher closed at once
				rc.sc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
				if b, err := io.ReadAll(rc.sc.c); err != nil || len(b) != 0 {
					fail("conn %d: got %q, %v; want a close without a word", ch.Conn, b, err)
				}
			}
		}
		// The mods: made once, through the notifier of the first
		// connection that received them; every open connection must get
		// the same lines.
		var driver []string
		var name string
		for _, c := range order {
			if rc := clients[c]; len(lines[c]) > 0 && rc != nil {
				driver, name = lines[c], rc.name
				break
			}
		}
		for _, l := range driver {
			m, err := decodeSiPyCoMod([]byte(l))
			if err != nil {
				t.Fatalf("%s: recorded line %.200q: %v", cs, l, err)
			}
			if err := driveMod(notifiers[name], m); err != nil {
				fail("making %v: %v", m, err)
			}
		}
		for c, rc := range clients {
			if rc.closed || rc.tree == nil {
				continue
			}
			if len(lines[c]) != len(driver) {
				t.Fatalf("%s: conn %d has %d recorded lines, conn driving %d", cs, c, len(lines[c]), len(driver))
			}
			for i, want := range lines[c] {
				got := rc.sc.line()
				gm, err := decodeSiPyCoMod([]byte(got))
				if err != nil {
					t.Fatalf("%s: conn %d sent %.200q: %v", cs, c, got, err)
				}
				wm, err := decodeSiPyCoMod([]byte(want))
				if err != nil {
					t.Fatal(err)
				}
				if !modsEqual(gm, wm) || !sameSigns(gm.Value, wm.Value) || !sameSigns(gm.X, wm.X) {
					fail("conn %d line %d\n got %.300s\nwant %.300s", c, i, got, want)
				}
				if rc.tree, err = Apply(rc.tree, gm); err != nil {
					fail("conn %d: applying %.200q: %v", c, got, err)
				}
			}
		}
		for _, r := range replicas[cs] {
			rc := clients[r.Conn]
			if rc == nil {
				t.Fatalf("%s: a replica for conn %d, which never connected", cs, r.Conn)
			}
			if want := decodeReplica(t, r); !sameTree(rc.tree, want) {
				// Divergent lines must still make the recorded replica.
				ok = false
				t.Errorf("%s: conn %d replica\n got %#v\nwant %#v", cs, r.Conn, rc.tree, want)
			}
		}
		tally.result(key, ok)
	}
}

// TestSiPyCoReplayUpdateFrom: the recording's update_from_dict case done
// with UpdateFrom instead of the recorded mods. Its mods differ by design
// (UpdateFrom goes down into nested containers and takes keys in sorted
// order; SiPyCo's replaces changed top-level values), but they must take
// the notifier, and a subscriber applying them to the replica it had
// before the case, to the replica SiPyCo's subscriber had after it.
func TestSiPyCoReplayUpdateFrom(t *testing.T) {
	var before, after any
	for _, r := range readSyncReplicas(t) {
		if r.Session == "sync_dict_mods" && r.Conn == 0 {
			switch r.Case {
			case "mods_seen_by_both":
				before = decodeReplica(t, r)
			case "update_from_dict":
				after = decodeReplica(t, r)
			}
		}
	}
	if before == nil || after == nil {
		t.Fatal("the recording has no update_from_dict case around mods_seen_by_both")
	}
	n := mustNotifier(t, Copy(before), NotifierOptions{})
	must(t, UpdateFrom(n, Copy(after)))
	if !sameTree(n.Copy(), after) {
		t.Fatalf("notifier\n%#v\nrecorded replica\n%#v", n.Copy(), after)
	}
	tree := Copy(before)
	for _, m := range historyMods(t, n) {
		var err error
		if tree, err = Apply(tree, m); err != nil {
			t.Fatalf("%v: %v", m, err)
		}
	}
	if !sameTree(tree, after) {
		t.Fatalf("replica\n%#v\nrecorded\n%#v", tree, after)
	}
}
