package wirekeys_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sigoco/sigoco/logfwd"
	"github.com/sigoco/sigoco/memo"
	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/syncstruct"
	"github.com/sigoco/sigoco/track/dashboard"
	"github.com/sigoco/sigoco/wire"
)

// Sample has a field of each kind the struct-key rule names: untagged
// (snake_case), json-tagged, msgpack-tagged, pyon-tagged, left out; and a
// nested struct, a pointer to one, bytes and a map, whose keys stay as
// they are.
type Sample struct {
	OmegaRate float64
	JSONName  int    `json:"json_name"`
	MsgName   string `msgpack:"msg_name"`
	PyonName  bool   `pyon:"pyon_name" json:"not_this"`
	Skipped   int    `msgpack:"-"`
	Nested    Inner
	NestedPtr *Inner `json:"ptr"`
	RawBytes  []byte
	GainsByCh map[string]float64
}

type Inner struct {
	RateHz float64
	Label  string `json:"name"`
}

var (
	sample = Sample{
		OmegaRate: 1.5, JSONName: 2, MsgName: "m", PyonName: true, Skipped: 9,
		Nested: Inner{RateHz: 3, Label: "x"}, NestedPtr: &Inner{RateHz: 4}, RawBytes: []byte{0, 1, 0xff},
		GainsByCh: map[string]float64{"ChA": 0.5, "ch_b": 1},
	}
	wantKeys = "{gains_by_ch:{ChA,ch_b},json_name,msg_name,nested:{name,rate_hz},omega_rate,ptr:{name,rate_hz},pyon_name,raw_bytes}"
)

type source struct{}

func (source) Get() Sample { return sample }

func keys(t *testing.T, where string, v any) {
	t.Helper()
	if _, ok := v.(map[string]any); !ok {
		t.Errorf("%s: got %T %v, want a map", where, v, v)
		return
	}
	if got := shape(v); got != wantKeys {
		t.Errorf("%s: keys\n %s, want\n %s", where, got, wantKeys)
	}
	// And the values arrive as they went, bytes as bytes.
	m := v.(map[string]any)
	if b, ok := m["raw_bytes"].([]byte); !ok || !bytes.Equal(b, sample.RawBytes) {
		t.Errorf("%s: raw_bytes %T %v, want %v", where, m["raw_bytes"], m["raw_bytes"], sample.RawBytes)
	}
	if m["omega_rate"] != sample.OmegaRate {
		t.Errorf("%s: omega_rate %T %v", where, m["omega_rate"], m["omega_rate"])
	}
	if g, _ := m["gains_by_ch"].(map[string]any); g["ChA"] != 0.5 {
		t.Errorf("%s: gains_by_ch %v", where, m["gains_by_ch"])
	}
}

// shape lists a map's keys, sorted, with the keys of the maps below.
func shape(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	for i, k := range ks {
		if s := shape(m[k]); s != "" {
			ks[i] = k + ":" + s
		}
	}
	return "{" + strings.Join(ks, ",") + "}"
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// TestSameKeysEverywhere: the same Go struct through every wire.
func TestSameKeysEverywhere(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	if n, err := pyon.Normalize(sample); err != nil {
		t.Fatal(err)
	} else {
		keys(t, "pyon.Normalize", n)
	}

	// rpc, native and SiPyCo's pc_rpc.
	srv, err := rpc.NewServer(map[string]any{"source": source{}}, rpc.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ln := listen(t)
	go srv.Serve(ctx, ln)
	defer srv.Close()
	var native *rpc.Client
	for _, p := range []wire.Protocol{wire.ProtocolNative, wire.ProtocolSiPyCo} {
		c, err := rpc.Dial(ctx, ln.Addr().String(), "source", rpc.ClientOptions{Protocol: p})
		if err != nil {
			t.Fatal(p, err)
		}
		defer c.Close()
		res, err := c.Call(ctx, "get")
		if err != nil {
			t.Fatal(p, err)
		}
		keys(t, "rpc "+p.String(), res)
		if p == wire.ProtocolNative {
			native = c
		}
	}

	// sync: a tree holding the struct, over TCP and as browser JSON.
	state, err := syncstruct.NewNotifier(map[string]any{"s": sample}, syncstruct.NotifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pub := syncstruct.NewPublisher(map[string]*syncstruct.Notifier{"state": state}, syncstruct.PublisherOptions{})
	defer pub.Close()
	sln := listen(t)
	go pub.Serve(ctx, sln)
	sub, err := syncstruct.NewSubscriber(sln.Addr().String(), "state", syncstruct.SubscriberOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := sub.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	sub.Read(func(tree any) { keys(t, "sync TCP", tree.(map[string]any)["s"]) })

	hs := httptest.NewServer(pub)
	defer hs.Close()
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, "ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"t":"subscribe","notifier":"state"}`)); err != nil {
		t.Fatal(err)
	}
	for init := false; !init; {
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var msgs []map[string]json.RawMessage
		if err := json.Unmarshal(data, &msgs); err != nil {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatalf("%v: %s", err, data)
			}
			msgs = []map[string]json.RawMessage{m}
		}
		for _, m := range msgs {
			if string(m["action"]) == `"init"` {
				tree, err := pyon.Decode(m["struct"]) // PYON JSON, as the browser replica reads it
				if err != nil {
					t.Fatal(err)
				}
				keys(t, "sync WebSocket JSON", tree.(map[string]any)["s"])
				init = true
			}
		}
	}

	// logs: a record with the struct as an attribute.
	got := &attrs{seen: make(chan struct{})}
	ls := logfwd.NewServer(got, logfwd.ServerOptions{})
	lln := listen(t)
	go ls.Serve(ctx, lln)
	defer ls.Close()
	fwd, err := logfwd.NewForwarder(lln.Addr().String(), logfwd.ForwarderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer fwd.Close()
	slog.New(fwd).Info("sample", "s", sample)
	select {
	case <-got.seen:
	case <-ctx.Done():
		t.Fatal("the log record did not arrive")
	}
	keys(t, "logfwd", got.value())

	// memo: stored on disk, read back by a cache that lost its memory.
	st, err := memo.OpenDir(t.TempDir(), memo.DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cache := memo.New(memo.Options{Storage: st})
	get := memo.Func0(cache, "sample", func(context.Context) (any, error) { return sample, nil })
	if _, err := get(ctx); err != nil {
		t.Fatal(err)
	}
	cache.Clear()
	stored, err := cache.Get(ctx, "sample")
	if err != nil {
		t.Fatal(err)
	}
	keys(t, "memo", stored)

	// The dashboard's POST /api/call, onto the native rpc client.
	dash := dashboard.New(dashboard.Options{Tracker: native})
	req := httptest.NewRequestWithContext(ctx, "POST", dashboard.CallPath, strings.NewReader(`{"method":"get","args":[]}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	dash.ServeHTTP(rec, req)
	var answer struct{ Result json.RawMessage }
	if err := json.Unmarshal(rec.Body.Bytes(), &answer); rec.Code != http.StatusOK || err != nil {
		t.Fatalf("/api/call: %d %s", rec.Code, rec.Body)
	}
	result, err := pyon.Decode(answer.Result)
	if err != nil {
		t.Fatal(err)
	}
	keys(t, "dashboard /api/call", result)
}

// attrs is a slog.Handler that keeps the attribute "s" of the first
// record carrying it.
type attrs struct {
	mu   sync.Mutex
	s    any
	once sync.Once
	seen chan struct{}
}

func (a *attrs) Enabled(context.Context, slog.Level) bool { return true }
func (a *attrs) WithAttrs([]slog.Attr) slog.Handler       { return a }
func (a *attrs) WithGroup(string) slog.Handler            { return a }
func (a *attrs) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(at slog.Attr) bool {
		if at.Key == "s" {
			a.mu.Lock()
			a.s = at.Value.Any()
			a.mu.Unlock()
			a.once.Do(func() { close(a.seen) })
		}
		return true
	})
	return nil
}

func (a *attrs) value() any {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.s
}
