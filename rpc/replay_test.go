package rpc

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/wire"
)

// testdata/exchange.jsonl is a recorded session of the native protocol,
// one message per line: {"dir": "client"|"server", "what": ..., "hex": ...}
// (the banner line, then whole frames, length prefix included).
// TestReplayServer plays the client's side to a real server and checks
// every byte the server answers; TestReplayClient plays the server's side
// to a real client. go test -run TestReplay -update records it afresh.
var update = flag.Bool("update", false, "record testdata/exchange.jsonl afresh")

const exchangeFile = "testdata/exchange.jsonl"

type record struct {
	Dir  string `json:"dir"`
	What string `json:"what"`
	Hex  string `json:"hex"`
}

// Lda is the target of the recorded exchange.
type Lda struct{ db float64 }

func (l *Lda) SetAttenuation(db float64) error {
	if db < 0 || db > 63 {
		return &RangeError{db}
	}
	l.db = db
	return nil
}
func (l *Lda) GetAttenuation() float64                     { return l.db }
func (l *Lda) Add(a, b int) int                            { return a + b }
func (l *Lda) Echo(x any) any                              { return x }
func (l *Lda) Greet(name string, opts GreetOptions) string { return (&Attenuator{}).Greet(name, opts) }

func init() {
	RegisterDoc((*Lda)(nil), TargetDoc{
		Doc: "Lda is a simulated attenuator.",
		Methods: map[string]MethodDoc{
			"SetAttenuation": {Params: []string{"db"}, Doc: "SetAttenuation sets the attenuation (0-63 dB)."},
			"GetAttenuation": {Params: []string{}, Doc: "GetAttenuation returns the attenuation in dB."},
			"Add":            {Params: []string{"a", "b"}, Doc: "Add returns a+b."},
			"Echo":           {Params: []string{"x"}, Doc: "Echo returns x."},
			"Greet":          {Params: []string{"name", "opts"}, Doc: "Greet greets name."},
		},
	})
}

func replayServer(t testing.TB) *testServer {
	return startServer(t, transports[0], map[string]any{"lda": &Lda{}}, ServerOptions{Description: "recorded exchange", BuiltinTerminate: true})
}

// exchangeScript is what the client does, in order, after the handshake.
var exchangeScript = []struct {
	what    string
	method  string // "" lists the methods
	args    []any
	want    any
	wantErr string
}{
	{"call add(1, 2)", "add", []any{1, 2}, int64(3), ""},
	{"call set_attenuation(5.5)", "set_attenuation", []any{5.5}, nil, ""},
	{"call get_attenuation()", "get_attenuation", nil, 5.5, ""},
	{"call echo(every msgpack type)", "echo", []any{[]any{nil, true, -1, 300, 1.5, "s", []byte{1}, []any{1}, map[string]any{"a": 1}}},
		[]any{nil, true, int64(-1), int64(300), 1.5, "s", []byte{1}, []any{int64(1)}, map[string]any{"a": int64(1)}}, ""},
	{"call echo(value model types)", "echo", []any{[]any{pyon.Tuple{1, "a"}, pyon.Set{Items: []any{2}}, hugeInt(), complex(1, -2), pyon.Dict{{Key: 1, Value: "x"}}}},
		[]any{pyon.Tuple{int64(1), "a"}, pyon.Set{Items: []any{int64(2)}}, hugeInt(), complex(1, -2), pyon.Dict{{Key: int64(1), Value: "x"}}}, ""},
	{"call greet with keyword arguments", "greet", []any{"bob", Kwargs{"greeting": "hi", "times": 2}}, "hi bob bob", ""},
	{"bad argument", "set_attenuation", []any{"x"}, nil, `rpc.BadArguments: set_attenuation: argument 1: cannot use string "x" as float64`},
	{"method error", "set_attenuation", []any{99}, nil, "rpc.RangeError: 99 dB out of range 0-63"},
	{"unknown method", "get_atenuation", nil, nil, `rpc.UnknownMethod: unknown method "get_atenuation" of target "lda"; did you mean one of: get_attenuation, set_attenuation?`},
	{"list methods", "", nil, nil, ""},
	{"built-in terminate", "terminate", nil, nil, ""},
}

// runExchange dials addr and runs the script, checking every result.
func runExchange(t testing.TB, addr string, setWhat func(string)) {
	setWhat("handshake")
	c, err := Dial(testCtx(t), addr, "lda", ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background() // no deadline: the recording has timeout 0
	for _, s := range exchangeScript {
		setWhat(s.what)
		if s.method == "" {
			info, err := c.ListMethods(ctx)
			if err != nil || info.Name != "lda" || len(info.Methods) != 5 || info.Methods[0].Params[0].Name != "a" {
				t.Fatalf("%s: %+v, %v", s.what, info, err)
			}
			continue
		}
		got, err := c.Call(ctx, s.method, s.args...)
		if s.wantErr != "" {
			var re *RemoteError
			if !errors.As(err, &re) || err.Error() != s.wantErr {
				t.Fatalf("%s: err = %v, want %s", s.what, err, s.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, s.want) {
			t.Fatalf("%s = %#v, %v; want %#v", s.what, got, err, s.want)
		}
	}
}

func loadExchange(t testing.TB) []record {
	t.Helper()
	b, err := os.ReadFile(exchangeFile)
	if err != nil {
		t.Fatal(err)
	}
	var recs []record
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%s: %v", exchangeFile, err)
		}
		recs = append(recs, r)
	}
	return recs
}

func TestReplayServer(t *testing.T) {
	if *update {
		recordExchange(t)
	}
	ts := replayServer(t)
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	for i, rec := range loadExchange(t) {
		want, _ := hex.DecodeString(rec.Hex)
		if rec.Dir == "client" {
			conn.Write(want)
			continue
		}
		got := make([]byte, len(want))
		if _, err := io.ReadFull(r, got); err != nil {
			t.Fatalf("record %d (%s): %v", i, rec.What, err)
		}
		if string(got) != string(want) {
			t.Fatalf("record %d (%s):\n got %x\nwant %x", i, rec.What, got, want)
		}
	}
	if n, err := r.Read(make([]byte, 1)); err == nil {
		t.Fatalf("%d more bytes after terminate", n)
	}
}

func TestReplayClient(t *testing.T) {
	recs := loadExchange(t)
	ln := listen(t)
	errc := make(chan error, 1)
	go func() { // the recorded server
		errc <- func() error {
			defer ln.Close()
			conn, err := ln.Accept()
			if err != nil {
				return err
			}
			defer conn.Close()
			r := bufio.NewReader(conn)
			for i, rec := range recs {
				want, _ := hex.DecodeString(rec.Hex)
				if rec.Dir == "server" {
					conn.Write(want)
					continue
				}
				got := make([]byte, len(want))
				if _, err := io.ReadFull(r, got); err != nil {
					return fmt.Errorf("record %d (%s): %v", i, rec.What, err)
				}
				if string(got) != string(want) {
					return fmt.Errorf("record %d (%s):\n got %x\nwant %x", i, rec.What, got, want)
				}
			}
			return nil
		}()
	}()
	runExchange(t, ln.Addr().String(), func(string) {})
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// recordExchange runs the script through a proxy that writes down every
// message.
func recordExchange(t *testing.T) {
	ts := replayServer(t)
	ln := listen(t)
	var mu sync.Mutex
	var recs []record
	what := ""
	add := func(dir string, b []byte) {
		mu.Lock()
		recs = append(recs, record{Dir: dir, What: what, Hex: hex.EncodeToString(b)})
		mu.Unlock()
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer ln.Close()
		cc, err := ln.Accept()
		if err != nil {
			t.Error(err)
			return
		}
		defer cc.Close()
		sc, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Error(err)
			return
		}
		defer sc.Close()
		var pipes sync.WaitGroup
		pipes.Add(2)
		go func() { // client to server: the banner, then frames
			defer pipes.Done()
			r := bufio.NewReader(cc)
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			add("client", []byte(line))
			sc.Write([]byte(line))
			forwardFrames(r, sc, "client", add)
		}()
		go func() {
			defer pipes.Done()
			forwardFrames(bufio.NewReader(sc), cc, "server", add)
			cc.Close()
		}()
		pipes.Wait()
	}()
	runExchange(t, ln.Addr().String(), func(w string) {
		mu.Lock()
		what = w
		mu.Unlock()
	})
	wg.Wait()
	var b strings.Builder
	for _, r := range recs {
		line, _ := json.Marshal(r)
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(exchangeFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// forwardFrames copies frames from r to w, recording each before it goes.
func forwardFrames(r *bufio.Reader, w io.Writer, dir string, add func(string, []byte)) {
	for {
		payload, err := readFrame(r, 0)
		if err != nil {
			return
		}
		frame := wire.AppendFrame(nil, payload)
		add(dir, frame)
		if _, err := w.Write(frame); err != nil {
			return
		}
	}
}
