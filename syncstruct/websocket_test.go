package syncstruct

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// browser is what a JavaScript dashboard does, in Go: JSON text messages.
type browser struct {
	t    *testing.T
	ws   *websocket.Conn
	tree any
	sync map[string]any

	pending []map[string]any // the rest of a batch
	batches int              // batches (several messages in one) read
}

func openBrowser(t *testing.T, url string, subscribe string) *browser {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := ws.WriteMessage(websocket.TextMessage, []byte(subscribe)); err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, ws: ws}
}

// next reads one JSON message, converting numbers as a PYON reader would;
// a batch (an array of messages in one WebSocket message) is taken apart.
func (b *browser) next() map[string]any {
	b.t.Helper()
	for len(b.pending) == 0 {
		typ, data, err := b.ws.ReadMessage()
		if err != nil {
			b.t.Fatal(err)
		}
		if typ != websocket.TextMessage {
			b.t.Fatalf("message type %d, want text", typ)
		}
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.UseNumber()
		if strings.HasPrefix(string(data), "[") {
			var ms []map[string]any
			if err := dec.Decode(&ms); err != nil || len(ms) < 2 {
				b.t.Fatalf("batch of %d: %v in %s", len(ms), err, data)
			}
			b.batches++
			b.pending = ms
			continue
		}
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			b.t.Fatalf("%v in %s", err, data)
		}
		b.pending = []map[string]any{m}
	}
	m := b.pending[0]
	b.pending = b.pending[1:]
	for k, v := range m {
		m[k] = fromPYONJSON(v)
	}
	return m
}

// follow reads messages until the replica reaches seq, applying them.
func (b *browser) follow(seq int64) {
	b.t.Helper()
	for {
		m := b.next()
		switch {
		case m["t"] == msgSync:
			b.sync = m
		case m["action"] == "init":
			b.tree = m["struct"]
		case m["action"] != nil:
			mod := &Mod{Action: Action(m["action"].(string)), Path: asList(m["path"]), Key: m["key"], Value: m["value"], X: m["x"]}
			if i, ok := m["i"].(int64); ok {
				mod.I = int(i)
			}
			var err error
			if b.tree, err = Apply(b.tree, mod); err != nil {
				b.t.Fatal(err)
			}
		}
		if s, ok := m["seq"].(int64); ok && s == seq && (m["t"] == msgSynced || m["t"] == nil) {
			return
		}
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// asJSON renders a tree as a browser sees it.
func asJSON(t *testing.T, tree any) any {
	t.Helper()
	var j jsonBuf
	must(t, j.value(tree, 0))
	dec := json.NewDecoder(strings.NewReader(string(j.b)))
	dec.UseNumber()
	var v any
	must(t, dec.Decode(&v))
	return fromPYONJSON(v)
}

func TestBrowserJSON(t *testing.T) {
	n := mustNotifier(t, map[string]any{"att": 1.5, "last": []any{}}, NotifierOptions{})
	p := NewPublisher(map[string]*Notifier{"state": n}, PublisherOptions{HeartbeatInterval: time.Hour})
	ep := serve(t, p, "ws")

	b := openBrowser(t, ep.addr, `{"t":"subscribe","notifier":"state"}`)
	b.follow(0)
	if b.sync["mode"] != modeSnapshot || b.sync["reason"] != ReasonNew || b.sync["epoch"] != int64(n.Epoch()) {
		t.Fatalf("sync message %v", b.sync)
	}
	for i := range 20 {
		must(t, n.Set("att", float64(i)+0.25))
		must(t, n.At("last").Append(map[string]any{"db": float64(i), "by": "test"}))
		if i >= 5 {
			_, err := n.At("last").Pop(0)
			must(t, err)
		}
	}
	must(t, n.Delete("att"))
	b.follow(int64(n.Seq()))
	if !Equal(b.tree, asJSON(t, n.Copy())) {
		t.Fatalf("browser replica %#v\nwant %#v", b.tree, asJSON(t, n.Copy()))
	}

	// A browser that reconnects with the epoch and seq it had resumes.
	seq := n.Seq()
	b.ws.Close()
	must(t, n.Set("back", true))
	b2 := openBrowser(t, ep.addr, `{"t":"subscribe","notifier":"state","epoch":`+jsonNum(n.Epoch())+`,"seq":`+jsonNum(seq)+`}`)
	b2.tree = b.tree
	b2.follow(int64(n.Seq()))
	if b2.sync["mode"] != modeResume {
		t.Fatalf("reconnecting browser got %v", b2.sync)
	}
	if !Equal(b2.tree, asJSON(t, n.Copy())) {
		t.Fatalf("browser replica after resume %#v", b2.tree)
	}
	if err := b2.ws.WriteMessage(websocket.TextMessage, []byte(`{"t":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	// Binary after text on one connection is refused.
	if err := b2.ws.WriteMessage(websocket.BinaryMessage, []byte{0x80}); err != nil {
		t.Fatal(err)
	}
	m := b2.next()
	for m["t"] == msgSynced {
		m = b2.next()
	}
	if m["t"] != msgError || m["code"] != CodeBadRequest {
		t.Fatalf("after mixing message types: %v", m)
	}
}

func jsonNum(u uint64) string {
	b, _ := json.Marshal(u)
	return string(b)
}
