package syncstruct

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Mods made under Hold are shown to readers only on release, as one whole
// group; holds nest; a snapshot taken meanwhile includes them, and a
// reader continuing from it waits for what follows.
func TestHoldGroupsMods(t *testing.T) {
	n := mustNotifier(t, map[string]any{}, NotifierOptions{})
	must(t, n.Set("a", 1))
	read := func(cursor uint64) ([]*entry, bool, readStatus) {
		es, whole, _, st := n.hist.read(cursor, 1<<20, 1<<20, nil)
		return es, whole, st
	}
	if es, whole, st := read(0); st != readOK || len(es) != 1 || !whole {
		t.Fatalf("a mod alone: %d entries, whole %v, status %v", len(es), whole, st)
	}
	release := n.Hold()
	inner := n.Hold()
	must(t, n.Set("b", 2))
	must(t, n.Set("c", 3))
	inner()
	inner() // a second call does nothing
	must(t, n.Set("d", 4))
	if _, _, st := read(1); st != readWait {
		t.Fatalf("while held: status %v, want readWait", st)
	}
	pieces, seq, err := n.snapshot(encMsgpack, true)
	must(t, err)
	if seq != 4 || len(pieces) == 0 {
		t.Fatalf("snapshot while held at seq %d, want 4", seq)
	}
	if _, _, st := read(seq); st != readWait {
		t.Fatalf("after the snapshot: status %v, want readWait", st)
	}
	release()
	es, whole, st := read(1)
	if st != readOK || len(es) != 3 || !whole || es[0].seq != 2 {
		t.Fatalf("after release: %d entries from %d, whole %v, status %v", len(es), es[0].seq, whole, st)
	}
	if _, _, st := read(seq); st != readWait {
		t.Fatalf("from the snapshot after release: status %v, want readWait", st)
	}
	// Part of a group, or more than one, is not whole.
	if es, whole, _ := read(2); whole || len(es) != 2 {
		t.Fatalf("the end of a group: %d entries, whole %v", len(es), whole)
	}
	must(t, n.Set("e", 5))
	if es, whole, _ := read(1); whole || len(es) != 4 {
		t.Fatalf("two groups: %d entries, whole %v", len(es), whole)
	}
	// UpdateFrom's mods are one group.
	must(t, UpdateFrom(n, map[string]any{"a": 10, "b": 20, "f": 6}))
	if es, whole, _ := read(5); !whole || len(es) != 6 { // c, d, e deleted; a, b, f set
		t.Fatalf("UpdateFrom: %d entries, whole %v", len(es), whole)
	}
}

// rawViewer is a browser's WebSocket (JSON text) that records each
// WebSocket message as it came.
type rawViewer struct {
	ws   *websocket.Conn
	tree any
	seq  int64
}

func openRawViewer(t *testing.T, url string) *rawViewer {
	t.Helper()
	b := openBrowser(t, url, `{"t":"subscribe","notifier":"s"}`)
	b.follow(0) // to the snapshot (the notifier has no mods yet)
	if m := b.next(); m["t"] != msgSynced || len(b.pending) > 0 {
		t.Fatalf("viewer: %v after the snapshot, %d messages pending", m, len(b.pending))
	}
	return &rawViewer{ws: b.ws, tree: b.tree}
}

// readMessage reads one WebSocket message and applies its mods in order:
// it returns the raw message and the seqs it held.
func (v *rawViewer) readMessage(t *testing.T) ([]byte, []int64) {
	t.Helper()
	v.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	typ, data, err := v.ws.ReadMessage()
	if err != nil || typ != websocket.TextMessage {
		t.Fatalf("viewer: message type %d, %v", typ, err)
	}
	var raw []json.RawMessage
	if data[0] == '[' {
		must(t, json.Unmarshal(data, &raw))
	} else {
		raw = []json.RawMessage{data}
	}
	var seqs []int64
	for _, r := range raw {
		dec := json.NewDecoder(bytes.NewReader(r))
		dec.UseNumber()
		var m map[string]any
		must(t, dec.Decode(&m))
		for k, x := range m {
			m[k] = fromPYONJSON(x)
		}
		if m["action"] == nil {
			t.Fatalf("viewer: unexpected message %s", r)
		}
		mod := &Mod{Action: Action(m["action"].(string)), Path: asList(m["path"]), Key: m["key"], Value: m["value"], X: m["x"]}
		if i, ok := m["i"].(int64); ok {
			mod.I = int(i)
		}
		if m["seq"] != v.seq+1 {
			t.Fatalf("viewer at seq %d got the mod of seq %v", v.seq, m["seq"])
		}
		v.seq++
		v.tree, err = Apply(v.tree, mod)
		must(t, err)
		seqs = append(seqs, v.seq)
	}
	return data, seqs
}

// One publisher, many subscribers that keep up: every group made under
// Hold reaches each WebSocket (JSON) subscriber as one message — the same
// bytes for all, made once — with every mod in order, and the Go
// (msgpack) subscribers over WebSocket apply the same mods.
func TestHoldSharedGroupManySubscribers(t *testing.T) {
	const viewers, groups = 20, 60
	n := mustNotifier(t, map[string]any{"k": map[string]any{}, "l": []any{}}, NotifierOptions{})
	p := NewPublisher(map[string]*Notifier{"s": n}, PublisherOptions{HeartbeatInterval: time.Hour})
	ep := serve(t, p, "ws")
	vs := make([]*rawViewer, viewers)
	for i := range vs {
		vs[i] = openRawViewer(t, ep.addr)
	}
	subs := []*Subscriber{subscribe(t, ep, "s", SubscriberOptions{}), subscribe(t, ep, "s", SubscriberOptions{})}
	for _, s := range subs {
		waitSynced(t, s)
	}
	for g := range groups {
		release := n.Hold()
		first := n.Seq() + 1
		for i := range g%7 + 1 {
			must(t, n.At("k").Set(fmt.Sprint(i), strings.Repeat("v", g)))
			must(t, n.At("l").Append(int64(g)))
			if g > 10 {
				_, err := n.At("l").Pop(0)
				must(t, err)
			}
		}
		release()
		var want []byte
		for i, v := range vs {
			data, seqs := v.readMessage(t)
			if len(seqs) == 0 || uint64(seqs[0]) != first || uint64(seqs[len(seqs)-1]) != n.Seq() {
				t.Fatalf("group %d (mods %d to %d): viewer %d got one message with mods %v", g, first, n.Seq(), i, seqs)
			}
			if want == nil {
				want = data
			} else if !bytes.Equal(data, want) {
				t.Fatalf("group %d: viewer %d got %q, viewer 0 %q", g, i, data, want)
			}
		}
		n.hist.mu.Lock()
		e := n.hist.entries[n.hist.start+int(n.hist.head-n.hist.first())]
		n.hist.mu.Unlock()
		e.sharedMu.Lock()
		shared := len(e.shared)
		e.sharedMu.Unlock()
		if shared == 0 || shared > 2 { // JSON, and msgpack if a Go subscriber read it whole
			t.Fatalf("group %d: %d shared messages on its last mod, want one per encoding", g, shared)
		}
	}
	want := asJSON(t, n.Copy())
	for i, v := range vs {
		if !Equal(v.tree, want) {
			t.Fatalf("viewer %d: replica %#v\nwant %#v", i, v.tree, want)
		}
	}
	for _, s := range subs {
		waitReplica(t, s, n)
	}
	if st := p.Stats(); st.Resyncs != 0 {
		t.Fatalf("%d resyncs", st.Resyncs)
	}
}

// A WebSocket subscriber that stops reading falls behind and is resynced
// with a snapshot (counted), without holding up the others, which get
// every group in order while it is stalled.
func TestHoldSlowSubscriberResynced(t *testing.T) {
	const queueBytes = 64 << 10
	n := mustNotifier(t, map[string]any{"k": map[string]any{}}, NotifierOptions{})
	p := NewPublisher(map[string]*Notifier{"s": n}, PublisherOptions{QueueBytes: queueBytes, HeartbeatInterval: time.Hour})
	ep := serve(t, p, "ws")
	px, pep := newProxy(t, ep)
	stuck := openBrowser(t, pep.addr, `{"t":"subscribe","notifier":"s"}`)
	stuck.follow(0)
	if m := stuck.next(); m["t"] != msgSynced {
		t.Fatalf("stalled subscriber: %v after the snapshot", m)
	}
	others := make([]*rawViewer, 3)
	for i := range others {
		others[i] = openRawViewer(t, ep.addr)
	}
	px.stall()
	value := strings.Repeat("v", 1000)
	// Far more than the queue bound and every buffer between (the proxy's
	// and the sockets'): the stalled session's writer blocks, then finds
	// itself behind.
	for g := range 1000 {
		release := n.Hold()
		for i := range 8 {
			must(t, n.At("k").Set(fmt.Sprint((g*8+i)%300), value))
		}
		release()
		for _, v := range others {
			for v.seq < int64(n.Seq()) {
				v.readMessage(t)
			}
		}
	}
	want := asJSON(t, n.Copy())
	for i, v := range others {
		if !Equal(v.tree, want) {
			t.Fatalf("subscriber %d: replica differs", i)
		}
	}
	if p.Stats().Subscribers != 4 {
		t.Fatalf("%d sessions, want 4: the stalled subscriber must not be dropped", p.Stats().Subscribers)
	}
	px.unstall()
	stuck.ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	// It reads what was in flight, then a sync for the resync, the
	// snapshot, and then only what follows.
	stuck.sync = nil
	for stuck.sync == nil {
		m := stuck.next()
		if m["t"] == msgSync {
			stuck.sync = m
		}
	}
	if stuck.sync["mode"] != modeSnapshot || stuck.sync["reason"] != ReasonBehind {
		t.Fatalf("the stalled subscriber got %v, want a snapshot for reason %q", stuck.sync, ReasonBehind)
	}
	stuck.follow(int64(n.Seq()))
	if !Equal(stuck.tree, want) {
		t.Fatal("the stalled subscriber's replica differs after its resync")
	}
	if p.Stats().Resyncs == 0 {
		t.Fatal("publisher counted no resync")
	}
}

// A group larger than a batch may be is not shared: it goes out as the
// batches any queue would, every mod still in order.
func TestHoldLargeGroupNotShared(t *testing.T) {
	n := mustNotifier(t, map[string]any{"k": map[string]any{}}, NotifierOptions{})
	p := NewPublisher(map[string]*Notifier{"s": n}, PublisherOptions{HeartbeatInterval: time.Hour})
	ep := serve(t, p, "ws")
	v := openRawViewer(t, ep.addr)
	release := n.Hold()
	for i := range 100 {
		must(t, n.At("k").Set(fmt.Sprint(i), strings.Repeat("v", 2000)))
	}
	release()
	msgs := 0
	for v.seq < int64(n.Seq()) {
		data, _ := v.readMessage(t)
		if len(data) > maxWSBatch+4096 {
			t.Fatalf("a message of %d bytes", len(data))
		}
		msgs++
	}
	if msgs < 2 {
		t.Fatalf("200 KB of mods in %d message", msgs)
	}
	if !Equal(v.tree, asJSON(t, n.Copy())) {
		t.Fatal("replica differs")
	}
	n.hist.mu.Lock()
	e := n.hist.entries[n.hist.start+int(n.hist.head-n.hist.first())]
	n.hist.mu.Unlock()
	e.sharedMu.Lock()
	defer e.sharedMu.Unlock()
	if len(e.shared) > 0 && e.shared[0].pm != nil {
		t.Fatal("a group over the batch size was shared")
	}
}
