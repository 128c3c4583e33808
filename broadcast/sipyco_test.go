package broadcast

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/sipycotest"
	"github.com/sigoco/sigoco/wire/auth"
)

// recordingFile is real SiPyCo's broadcast traffic (testdata/README.md):
// a SiPyCo Receiver of channel "ccb" connected to a SiPyCo Broadcaster
// through a recording proxy, one case per message of messages, then a
// message on another channel (not seen by the receiver) and one more.
const recordingFile = "testdata/sipyco_broadcast.jsonl"

// chunk is one line of a recording (../shared/sipyco-wire/README.md's
// format).
type chunk struct {
	Session string `json:"session"`
	Conn    int    `json:"conn"`
	Case    string `json:"case"`
	Dir     string `json:"dir"`
	Data    string `json:"data"`
	EOF     bool   `json:"eof,omitempty"`
}

// recorded returns the bytes of one direction of connection 0 of the
// recording, and the server's lines by case.
func recorded(t *testing.T) (client string, serverLines map[string][]string) {
	t.Helper()
	b, err := os.ReadFile(recordingFile)
	if err != nil {
		t.Fatal(err)
	}
	serverLines = map[string][]string{}
	var cl strings.Builder
	srv := map[string]*strings.Builder{}
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var c chunk
		if err := json.Unmarshal(line, &c); err != nil {
			t.Fatalf("%s: %v", recordingFile, err)
		}
		if c.Conn != 0 {
			continue
		}
		switch c.Dir {
		case "client":
			cl.WriteString(c.Data)
		case "server":
			if srv[c.Case] == nil {
				srv[c.Case] = &strings.Builder{}
			}
			srv[c.Case].WriteString(c.Data)
		}
	}
	for k, sb := range srv {
		serverLines[k] = strings.Split(strings.TrimSuffix(sb.String(), "\n"), "\n")
	}
	return cl.String(), serverLines
}

// Replayed: the Go Receiver reads what SiPyCo's Broadcaster sent (its
// chunks, as recorded) and decodes every message to the value SiPyCo
// encoded; its own handshake is the bytes SiPyCo's Receiver sent.
func TestReplaySiPyCoBroadcasterToGoReceiver(t *testing.T) {
	t.Setenv(auth.EnvToken, "")
	client, lines := recorded(t)
	var raw strings.Builder
	for _, m := range messages {
		if len(lines[m.name]) != 1 {
			t.Fatalf("recording: case %s has %d server lines, want 1", m.name, len(lines[m.name]))
		}
		raw.WriteString(lines[m.name][0] + "\n")
	}
	addr := fakeBroadcaster(t, client, raw.String())
	r := dial(t, addr, "ccb", ReceiverOptions{})
	for _, m := range messages {
		want := canonical(t, decode(t, m.pyon))
		if got := canonical(t, receive(t, r)); got != want {
			t.Errorf("%s: received %s, want %s", m.name, got, want)
		}
	}
}

// Replayed: the Go Broadcaster, given the bytes SiPyCo's Receiver sent,
// sends each message with the value SiPyCo's Broadcaster sent for it, and
// nothing of another channel.
func TestReplaySiPyCoReceiverToGoBroadcaster(t *testing.T) {
	client, lines := recorded(t)
	b, addr := start(t, Options{}, false, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, client)
	waitReceivers(t, b, "ccb", 1)
	for _, m := range messages {
		b.Broadcast("ccb", decode(t, lines[m.name][0]))
	}
	b.Broadcast("log", "not for ccb")
	b.Broadcast("ccb", decode(t, lines["after_other_channel"][0]))
	if len(lines["other_channel"]) != 1 || lines["other_channel"][0] != "" {
		t.Errorf("recording: SiPyCo sent %q to a receiver of another channel", lines["other_channel"])
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := strings.Split(readLines(t, c, len(messages)+1), "\n")
	for i, m := range messages {
		if g, w := canonical(t, decode(t, got[i])), canonical(t, decode(t, lines[m.name][0])); g != w {
			t.Errorf("%s: Go sent %s (%s), SiPyCo %s", m.name, got[i], g, w)
		}
	}
	if got[len(messages)] != lines["after_other_channel"][0] {
		t.Errorf("after the other channel's message: %q, want %q", got[len(messages)], lines["after_other_channel"][0])
	}
}

// readLines reads n lines from c.
func readLines(t *testing.T, c net.Conn, n int) string {
	t.Helper()
	var buf []byte
	one := make([]byte, 64<<10)
	for bytes.Count(buf, []byte("\n")) < n {
		k, err := c.Read(one)
		buf = append(buf, one[:k]...)
		if err != nil {
			t.Fatalf("after %q: %v", buf, err)
		}
	}
	return strings.TrimSuffix(string(buf), "\n")
}

// Optional: real SiPyCo. SiPyCo's Broadcaster sends every message to a Go
// Receiver, which gets each as SiPyCo encoded it.
func TestSiPyCoBroadcasterToGoReceiver(t *testing.T) {
	env := sipycotest.Python(t)
	t.Setenv(auth.EnvToken, "")
	srv := env.Serve(t, sipycotest.BroadcastServer)
	r := dial(t, srv.Addr, "ccb", ReceiverOptions{})
	srv.Send(t, "wait ccb 1")
	srv.Expect(t, "ok wait")
	for _, m := range messages {
		srv.Send(t, "send ccb "+m.pyon)
		srv.Expect(t, "ok send")
		want := canonical(t, decode(t, m.pyon))
		if got := canonical(t, receive(t, r)); got != want {
			t.Errorf("%s: received %s, want %s", m.name, got, want)
		}
	}
}

// Optional: real SiPyCo. SiPyCo's Receiver gets every message of a Go
// Broadcaster (directly and behind a Mux) with the value it was sent.
func TestGoBroadcasterToSiPyCoReceiver(t *testing.T) {
	env := sipycotest.Python(t)
	for _, mux := range []bool{false, true} {
		t.Run(map[bool]string{false: "tcp", true: "mux"}[mux], func(t *testing.T) {
			b, addr := start(t, Options{}, mux, nil)
			host, port, _ := strings.Cut(addr, ":")
			rcv := env.Start(t, sipycotest.BroadcastReceiver, host, port, "ccb")
			rcv.Expect(t, "connected")
			waitReceivers(t, b, "ccb", 1)
			for _, m := range messages {
				b.Broadcast("ccb", decode(t, m.pyon))
				line := rcv.Expect(t, "msg ")
				want := canonical(t, decode(t, m.pyon))
				if got := canonical(t, decode(t, strings.TrimPrefix(line, "msg "))); got != want {
					t.Errorf("%s: SiPyCo received %s, want %s", m.name, got, want)
				}
			}
			b.Close()
			rcv.Expect(t, "disconnected")
		})
	}
}

// TestRecordSiPyCoBroadcast writes recordingFile from real SiPyCo when
// SIGOCO_RECORD_BROADCAST=1 (and SiPyCo is available): SiPyCo's Receiver
// and Broadcaster through a proxy that records every chunk.
func TestRecordSiPyCoBroadcast(t *testing.T) {
	if os.Getenv("SIGOCO_RECORD_BROADCAST") != "1" {
		t.Skip("set SIGOCO_RECORD_BROADCAST=1 (with SIGOCO_SIPYCO_PATH) to record " + recordingFile)
	}
	env := sipycotest.Python(t)
	srv := env.Serve(t, sipycotest.BroadcastServer)
	rec := newRecorder(t, srv.Addr)
	host, port, _ := strings.Cut(rec.addr, ":")
	rec.setCase("connect")
	rcv := env.Start(t, sipycotest.BroadcastReceiver, host, port, "ccb")
	rcv.Expect(t, "connected")
	srv.Send(t, "wait ccb 1")
	srv.Expect(t, "ok wait")
	send := func(name, channel, text string, answered bool) {
		rec.setCase(name)
		srv.Send(t, "send "+channel+" "+text)
		srv.Expect(t, "ok send")
		if answered {
			rcv.Expect(t, "msg ")
		}
	}
	for _, m := range messages {
		send(m.name, "ccb", m.pyon, true)
	}
	send("other_channel", "log", `"not for ccb"`, false)
	send("after_other_channel", "ccb", `"after"`, true)
	rcv.Stop()
	rec.close(t)
	var out bytes.Buffer
	for _, c := range rec.chunks {
		b, _ := json.Marshal(c)
		out.Write(b)
		out.WriteByte('\n')
	}
	// An "other_channel" case with no server bytes is recorded as one
	// empty server chunk, so that readers see the case existed.
	out.WriteString(`{"session":"broadcast","conn":0,"case":"other_channel","dir":"server","data":""}` + "\n")
	if err := os.WriteFile(recordingFile, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// recorder is a one-connection TCP proxy recording chunks.
type recorder struct {
	addr   string
	ln     net.Listener
	mu     sync.Mutex
	cs     string
	chunks []chunk
	wg     sync.WaitGroup
}

func newRecorder(t *testing.T, target string) *recorder {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{addr: ln.Addr().String(), ln: ln}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", target)
		if err != nil {
			c.Close()
			return
		}
		r.wg.Add(2)
		go r.pipe(c, s, "client")
		go r.pipe(s, c, "server")
	}()
	return r
}

func (r *recorder) setCase(name string) {
	r.mu.Lock()
	r.cs = name
	r.mu.Unlock()
}

func (r *recorder) pipe(from, to net.Conn, dir string) {
	defer r.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, err := from.Read(buf)
		if n > 0 {
			r.mu.Lock()
			r.chunks = append(r.chunks, chunk{Session: "broadcast", Case: r.cs, Dir: dir, Data: string(buf[:n])})
			r.mu.Unlock()
			to.Write(buf[:n])
		}
		if err != nil {
			to.Close()
			from.Close()
			return
		}
	}
}

func (r *recorder) close(t *testing.T) {
	r.ln.Close()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("recorder did not finish")
	}
	_ = context.Background
}
