package syncstruct

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// wsPair connects two wsTransports over a real WebSocket: srv as the
// publisher's side (upgraded as ServeHTTP does), cl as a subscriber's.
func wsPair(t *testing.T, text bool) (srv, cl *wsTransport, raw *websocket.Conn) {
	t.Helper()
	up := websocket.Upgrader{WriteBufferSize: maxWSBatch + 64}
	got := make(chan *websocket.Conn, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		got <- ws
	}))
	t.Cleanup(hs.Close)
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	sws := <-got
	t.Cleanup(func() { sws.Close() })
	sws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	return &wsTransport{ws: sws, text: text}, &wsTransport{ws: ws, text: text}, ws
}

// Several messages written at once travel as one WebSocket message and
// are read back one by one, in order; a single one travels as it is.
func TestWSBatchRoundTrip(t *testing.T) {
	for _, text := range []bool{false, true} {
		t.Run(fmt.Sprintf("text=%v", text), func(t *testing.T) {
			srv, cl, _ := wsPair(t, text)
			enc := srv.encoding()
			var msgs [][]byte
			for i := range 40 {
				m := &Mod{Action: ActSetItem, Path: []any{"runs", i}, Key: "k", Value: strings.Repeat("x", i*40), Seq: uint64(i + 1)}
				b, err := enc.AppendMod(nil, m)
				must(t, err)
				msgs = append(msgs, b)
				if i == 3 {
					msgs = append(msgs, nil) // skipped
				}
			}
			msgs = append(msgs, srv.control(&control{T: msgSynced, Seq: 40}))
			must(t, srv.writeMsgs(msgs))
			must(t, srv.writeMsgs(msgs[:1]))
			dec := newMsgDecoder()
			for i, want := range append(msgs, msgs[0]) {
				if want == nil {
					continue
				}
				got, err := cl.readMsg()
				must(t, err)
				if !bytes.Equal(got, srv.payload(want)) {
					t.Fatalf("message %d: %q, want %q", i, got, srv.payload(want))
				}
				if !text {
					var m message
					must(t, dec.decode(got, &m))
				}
			}
		})
	}
}

// A batch is one WebSocket message (one write), bounded by maxWSBatch.
func TestWSBatchIsOneMessage(t *testing.T) {
	srv, _, raw := wsPair(t, true)
	var msgs [][]byte
	for i := range 3 {
		msgs = append(msgs, []byte(fmt.Sprintf(`{"action":"setitem","path":[],"key":"k","value":%d,"seq":%d}`, i, i+1)))
	}
	big := []byte(`{"action":"setitem","path":[],"key":"k","value":"` + strings.Repeat("y", maxWSBatch) + `","seq":4}`)
	msgs = append(msgs, big, msgs[0], msgs[1])
	must(t, srv.writeMsgs(msgs))
	want := []string{
		"[" + string(msgs[0]) + "," + string(msgs[1]) + "," + string(msgs[2]) + "]",
		string(big),
		"[" + string(msgs[0]) + "," + string(msgs[1]) + "]",
	}
	for i, w := range want {
		_, b, err := raw.ReadMessage()
		must(t, err)
		if string(b) != w {
			t.Fatalf("WebSocket message %d: %.80q…, want %.80q…", i, b, w)
		}
	}
}

func TestWSBatchMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  []byte
		want []string // messages, then "ERR" for an error
	}{
		{"single map", []byte{0x80}, []string{"\x80"}},
		{"empty batch", []byte{0x90}, nil},
		{"two", []byte{0x92, 0xc4, 1, 0x80, 0xc4, 1, 0x81}, []string{"\x80", "\x81"}},
		{"short bin", []byte{0x92, 0xc4, 5, 0x80}, []string{"ERR"}},
		{"not a bin", []byte{0x91, 0x80}, []string{"ERR"}},
		{"trailing bytes", []byte{0x91, 0xc4, 1, 0x80, 0x80}, []string{"\x80", "ERR"}},
		{"bytes after an empty batch", []byte{0x90, 0x80}, []string{"ERR"}},
		{"nested", []byte{0x91, 0xc4, 1, 0x90}, []string{"ERR"}},
		{"huge count", []byte{0xdd, 0xff, 0xff, 0xff, 0xff, 0xc4}, []string{"\xdd\xff\xff\xff\xff\xc4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var wb wsBatch
			var got []string
			if !wb.start(tc.msg, false) {
				got = append(got, string(tc.msg))
			} else {
				for {
					m, ok, err := wb.next()
					if err != nil {
						if !errors.Is(err, ErrBadMessage) {
							t.Fatalf("error %v, want ErrBadMessage", err)
						}
						got = append(got, "ERR")
						break
					}
					if !ok {
						break
					}
					got = append(got, string(m))
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	var wb wsBatch
	if !wb.start([]byte(` [{"t":"ping"},[1]]`), true) {
		t.Fatal("JSON batch not seen")
	}
	if m, ok, err := wb.next(); !ok || err != nil || string(m) != `{"t":"ping"}` {
		t.Fatalf("first: %q %v %v", m, ok, err)
	}
	if _, _, err := wb.next(); !errors.Is(err, ErrBadMessage) {
		t.Fatalf("nested JSON batch: %v", err)
	}
}

// A Go subscriber over WebSocket (binary) and a browser (JSON) follow a
// burst of mods that the publisher sends in batches.
func TestWSBatchedBurst(t *testing.T) {
	n := mustNotifier(t, map[string]any{"n": 0}, NotifierOptions{})
	p := NewPublisher(map[string]*Notifier{"state": n}, PublisherOptions{HeartbeatInterval: time.Hour})
	ep := serve(t, p, "ws")
	b := openBrowser(t, ep.addr, `{"t":"subscribe","notifier":"state"}`)
	b.follow(0)
	sub := subscribe(t, ep, "state", SubscriberOptions{})
	waitSynced(t, sub)
	for i := range 2000 {
		must(t, n.Set("n", i))
		must(t, n.Set(fmt.Sprintf("k%d", i%50), strings.Repeat("z", i%100)))
	}
	b.follow(int64(n.Seq()))
	if !Equal(b.tree, asJSON(t, n.Copy())) {
		t.Fatalf("browser replica differs")
	}
	if b.batches == 0 {
		t.Errorf("4000 mods reached the browser without one batch")
	}
	waitFor(t, "the Go subscriber to catch up", func() bool { _, seq := sub.Position(); return seq == n.Seq() })
	if !Equal(sub.Copy(), n.Copy()) {
		t.Fatalf("Go subscriber's replica differs")
	}
}
