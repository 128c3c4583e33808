package wirekeys_test

import (
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
// (snake_case), json-tagged, msgpack-tagged, pyon-tagged, left out.
type Sample struct {
	OmegaRate float64
	JSONName  int    `json:"json_name"`
	MsgName   string `msgpack:"msg_name"`
	PyonName  bool   `pyon:"pyon_name" json:"not_this"`
	Skipped   int    `msgpack:"-"`
}

var (
	sample   = Sample{OmegaRate: 1.5, JSONName: 2, MsgName: "m", PyonName: true, Skipped: 9}
	wantKeys = []string{"json_name", "msg_name", "omega_rate", "pyon_name"}
)

type source struct{}

func (source) Get() Sample { return sample }

func keys(t *testing.T, where string, v any) {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Errorf("%s: got %T %v, want a map", where, v, v)
		return
	}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	if !slices.Equal(got, wantKeys) {
		t.Errorf("%s: keys %q, want %q", where, got, wantKeys)
	}
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
		var msgs []map[string]any
		if err := json.Unmarshal(data, &msgs); err != nil {
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatalf("%v: %s", err, data)
			}
			msgs = []map[string]any{m}
		}
		for _, m := range msgs {
			if m["action"] == "init" {
				keys(t, "sync WebSocket JSON", m["struct"].(map[string]any)["s"])
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
	var answer struct{ Result any }
	if err := json.Unmarshal(rec.Body.Bytes(), &answer); rec.Code != http.StatusOK || err != nil {
		t.Fatalf("/api/call: %d %s", rec.Code, rec.Body)
	}
	keys(t, "dashboard /api/call", answer.Result)
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
