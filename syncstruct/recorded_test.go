package syncstruct

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/wire"
)

var update = flag.Bool("update", false, "rewrite testdata/native_session.jsonl from the current implementation")

// exchangeLine is one line of testdata/native_session.jsonl: bytes one side
// sent, in hex, and for reading, the message they decode to.
type exchangeLine struct {
	Conn int    `json:"conn"` // which connection of the session
	Dir  string `json:"dir"`  // "client" or "server"
	Note string `json:"note,omitempty"`
	Msg  any    `json:"msg,omitempty"` // the decoded message (documentation only)
	Hex  string `json:"hex"`
}

// session is the scripted session the recording holds: a subscribe, a
// snapshot, mods, a disconnect, a resume.
type sessionStep struct {
	conn   int
	client []byte       // bytes the client sends (nil: none)
	mutate func() error // then, mutations on the publisher
	read   int          // then, frames to read from the server
	note   string
}

func TestRecordedNativeSession(t *testing.T) {
	n := mustNotifier(t, map[string]any{"runs": map[string]any{}, "counts": []any{}, "status": "idle"}, NotifierOptions{Epoch: 42})
	p := NewPublisher(map[string]*Notifier{"state": n}, PublisherOptions{HeartbeatInterval: time.Hour})
	ep := serve(t, p, "tcp")

	frame := func(c *control) []byte { b, _ := appendControlFrame(nil, c); return b }
	steps := []sessionStep{
		{conn: 1, client: append([]byte(wire.BannerSync+"\n"), frame(&control{T: msgSubscribe, Notifier: "state"})...),
			read: 3, note: "banner and subscribe without a replica: sync (snapshot), init in one chunk, synced"},
		{conn: 1, mutate: func() error {
			if err := n.Set("status", "running"); err != nil {
				return err
			}
			return n.At("counts").Append(42)
		}, read: 2, note: "two mods"},
		{conn: 1, client: frame(&control{T: msgPing}), note: "the subscriber's heartbeat (no answer)"},
		{conn: 2, mutate: func() error {
			if err := n.At("runs").Set(pyon.Tuple{1, 2}, "tuple key"); err != nil {
				return err
			}
			if _, err := n.At("counts").Pop(-1); err != nil {
				return err
			}
			return n.At("runs").Delete(pyon.Tuple{1, 2})
		}, note: "three mods while no one is connected"},
		{conn: 2, client: append([]byte(wire.BannerSync+"\n"), frame(&control{T: msgSubscribe, Notifier: "state", Epoch: 42, Seq: 2})...),
			read: 5, note: "reconnect with epoch 42, seq 2: sync (resume), the three missed mods, synced"},
	}

	var lines []exchangeLine
	conns := map[int]*rawClient{}
	for _, st := range steps {
		rc := conns[st.conn]
		if rc == nil {
			if prev := conns[st.conn-1]; prev != nil {
				prev.c.Close()
				waitFor(t, "the old session to end", func() bool { return p.Stats().Subscribers == 0 })
			}
			rc = dialRaw(t, ep.addr)
			conns[st.conn] = rc
		}
		if st.client != nil {
			rc.send(st.client)
			lines = append(lines, exchangeLine{Conn: st.conn, Dir: "client", Note: st.note, Msg: describe(t, st.client), Hex: hex.EncodeToString(st.client)})
		}
		if st.mutate != nil {
			must(t, st.mutate())
			if st.client == nil {
				lines = append(lines, exchangeLine{Conn: st.conn, Dir: "publisher", Note: st.note})
			}
		}
		for range st.read {
			b, err := rc.fr.Next()
			must(t, err)
			f := wire.AppendFrame(nil, b)
			lines = append(lines, exchangeLine{Conn: st.conn, Dir: "server", Msg: describe(t, f), Hex: hex.EncodeToString(f)})
		}
	}

	const path = "testdata/native_session.jsonl"
	if *update {
		var buf bytes.Buffer
		for _, l := range lines {
			b, err := json.Marshal(l)
			must(t, err)
			buf.Write(b)
			buf.WriteByte('\n')
		}
		must(t, os.WriteFile(path, buf.Bytes(), 0o644))
	}
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	i := 0
	for sc.Scan() {
		var want exchangeLine
		must(t, json.Unmarshal(sc.Bytes(), &want))
		if i >= len(lines) {
			t.Fatalf("recording has more lines than the session")
		}
		if got := lines[i]; got.Dir != want.Dir || got.Hex != want.Hex {
			t.Errorf("line %d (%s, %s):\n got %s\nwant %s", i+1, want.Dir, want.Note, got.Hex, want.Hex)
		}
		i++
	}
	if i != len(lines) {
		t.Fatalf("recording has %d lines, session %d", i, len(lines))
	}
}

// describe decodes bytes on the wire for the recording's readers.
func describe(t *testing.T, b []byte) any {
	t.Helper()
	var out []any
	if s, ok := strings.CutPrefix(string(b), wire.BannerSync+"\n"); ok {
		out = append(out, "banner "+wire.BannerSync)
		b = []byte(s)
	}
	fr := wire.NewFrameReader(bufio.NewReader(bytes.NewReader(b)), 1<<20)
	for {
		f, err := fr.Next()
		if err != nil {
			break
		}
		var m message
		must(t, newMsgDecoder().decode(f, &m))
		if m.T == msgChunk {
			init, err := decodeMod(m.D)
			must(t, err)
			out = append(out, map[string]any{"t": "chunk", "d": fmt.Sprintf("<%d bytes: %s>", len(m.D), jsonText(t, init))})
			continue
		}
		if m.T == "" {
			out = append(out, json.RawMessage(jsonText(t, &m.Mod)))
			continue
		}
		c := map[string]any{"t": m.T}
		switch m.T {
		case msgSubscribe:
			c["notifier"], c["epoch"], c["seq"] = m.Notifier, m.Epoch, m.Seq
		case msgSync:
			c["epoch"], c["seq"], c["mode"], c["reason"], c["heartbeat_ms"] = m.Epoch, m.Seq, m.Mode, m.Reason, m.HeartbeatMS
		case msgSynced:
			c["seq"] = m.Seq
		}
		out = append(out, c)
	}
	return out
}

func jsonText(t *testing.T, m *Mod) string {
	b, err := encJSON.AppendMod(nil, m)
	must(t, err)
	return string(b)
}

// TestRecordedSessionDrivesSubscriber plays the publisher's side of the
// recording's first connection to a Subscriber.
func TestRecordedSessionDrivesSubscriber(t *testing.T) {
	data, err := os.ReadFile("testdata/native_session.jsonl")
	must(t, err)
	var server []byte
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var l exchangeLine
		must(t, json.Unmarshal([]byte(line), &l))
		if l.Conn == 1 && l.Dir == "server" {
			b, err := hex.DecodeString(l.Hex)
			must(t, err)
			server = append(server, b...)
		}
	}
	addr := fakePublisher(t, func(c *wire.Conn, sub *message) {
		if sub.Notifier != "state" || sub.Epoch != 0 {
			t.Errorf("subscribe %+v", sub)
		}
		c.Write(server)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.Copy(io.Discard, c)
	})
	s := must2(NewSubscriber(addr, "state", SubscriberOptions{}))
	defer s.Close()
	waitSynced(t, s)
	want := map[string]any{"counts": []any{int64(42)}, "runs": map[string]any{}, "status": "running"}
	waitFor(t, "the recorded mods", func() bool { _, seq := s.Position(); return seq == 2 })
	if got := s.Copy(); !Equal(got, want) {
		t.Fatalf("replica %#v", got)
	}
	if e, _ := s.Position(); e != 42 {
		t.Fatalf("epoch %d", e)
	}
}
