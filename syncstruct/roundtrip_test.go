package syncstruct

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sigoco/sigoco/internal/sipycotest"
	"github.com/sigoco/sigoco/pyon"
)

// valueModel holds one value of every type of the value model
// (docs/protocol.md "Values"), keyed by what it is.
func valueModel() map[string]any {
	m := everyType().(map[string]any)
	negBig := new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), 100))
	extra := map[string]any{
		"inf": math.Inf(1), "-inf": math.Inf(-1), "-big": negBig, "-0.0": math.Copysign(0, -1),
		"int array":    pyon.NDArray{Shape: []int{3}, DType: "<i8", Data: make([]byte, 24)},
		"bool array":   pyon.FromBools([]bool{true, false}),
		"float array":  pyon.FromFloat64s([]float64{1.5, math.NaN()}),
		"empty array":  pyon.NDArray{Shape: []int{0, 2}, DType: "<f8", Data: []byte{}},
		"f64 scalar":   must2(pyon.ScalarOf(2.5)),
		"bool scalar":  must2(pyon.ScalarOf(true)),
		"tuple keys":   pyon.Dict{{Key: pyon.Tuple{int64(1), "a"}, Value: int64(1)}, {Key: 2.5, Value: "float key"}},
		"nested types": []any{pyon.Tuple{pyon.Set{Items: []any{pyon.Tuple{int64(1)}}, Frozen: true}}, pyon.OrderedDict{{Key: int64(3), Value: []byte("x")}}},
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// setEveryValue sets "mod <name>" to every value, so mods carry each
// type as well as the snapshot does.
func setEveryValue(t testing.TB, n *Notifier) {
	t.Helper()
	vals := valueModel()
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		must(t, n.Set("mod "+k, vals[k]))
	}
}

// TestValueModelRoundTrip: every value of the value model survives native
// sync (msgpack frames on TCP, TLS, a wire.Mux, binary WebSocket) and
// SiPyCo's PYON lines exactly, in the snapshot and in mods. Browser JSON
// and SiPyCo's Python Subscriber have their own tests below.
func TestValueModelRoundTrip(t *testing.T) {
	for _, kind := range append(append([]string{}, transports...), "sipyco lines") {
		t.Run(kind, func(t *testing.T) {
			n := mustNotifier(t, valueModel(), NotifierOptions{})
			p := NewPublisher(map[string]*Notifier{"v": n}, PublisherOptions{})
			var o SubscriberOptions
			ep := endpoint{}
			if kind == "sipyco lines" {
				ep = serve(t, p, "tcp")
				o.Protocol = ProtocolSiPyCo
			} else {
				ep = serve(t, p, kind)
			}
			s := subscribe(t, ep, "v", o)
			waitSynced(t, s)
			setEveryValue(t, n)
			if kind != "sipyco lines" {
				waitReplica(t, s, n) // Equal: NaN equals NaN, types must match exactly
				return
			}
			want := n.Seq()
			waitFor(t, "the replica to catch up", func() bool { _, seq := s.Position(); return seq == want })
			if got, want := s.Copy(), sipycoLinesView(n.Copy(), false); !Equal(got, want) {
				t.Fatalf("replica over SiPyCo lines\n got %s\nwant %s", pyonText(got), pyonText(want))
			}
		})
	}
}

// rewrite replaces, inside v, every value for which f returns true
// (containers are rewritten in place).
func rewrite(v any, f func(any) (any, bool)) any {
	if out, ok := f(v); ok {
		return out
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = rewrite(e, f)
		}
	case []any:
		for i, e := range x {
			x[i] = rewrite(e, f)
		}
	case pyon.Tuple:
		for i, e := range x {
			x[i] = rewrite(e, f)
		}
	case pyon.Dict:
		for i := range x {
			x[i].Value = rewrite(x[i].Value, f)
		}
	case pyon.OrderedDict:
		for i := range x {
			x[i].Value = rewrite(x[i].Value, f)
		}
	}
	return v
}

// jsonView is what a PYON reader makes of the browser JSON of v: strict
// JSON has no NaN or infinities, so they arrive as null; numpy arrays keep
// their NaN elements (their data travels as base64 bytes). Everything
// else arrives exactly (JavaScript's own numbers lose integers beyond
// 2^53).
func jsonView(v any) any {
	return rewrite(v, func(v any) (any, bool) {
		f, ok := v.(float64)
		return nil, ok && (math.IsNaN(f) || math.IsInf(f, 0))
	})
}

// sipycoLinesView is v as it arrives over SiPyCo's PYON lines: SiPyCo
// has no frozenset class, so a frozenset arrives as a set (pyon writes
// "frozenset" only where Python needs a hashable value: inside a set or a
// key; v has none there). python: as SiPyCo's Python replica holds it,
// where a numpy float64 scalar is a float (numpy.float64 subclasses float,
// and SiPyCo's encoder writes it as one).
func sipycoLinesView(v any, python bool) any {
	return rewrite(v, func(v any) (any, bool) {
		switch x := v.(type) {
		case pyon.Set:
			x.Frozen = false
			return x, true
		case pyon.NPScalar:
			if f, err := x.Float64(); python && x.DType == "<f8" && err == nil {
				return f, true
			}
		}
		return nil, false
	})
}

// TestValueModelBrowserJSON: the JSON text a browser gets, read by a PYON
// reader, gives back every value but NaN and ±inf floats (null).
func TestValueModelBrowserJSON(t *testing.T) {
	n := mustNotifier(t, valueModel(), NotifierOptions{})
	p := NewPublisher(map[string]*Notifier{"v": n}, PublisherOptions{})
	ep := serve(t, p, "ws")
	ws, _, err := websocket.DefaultDialer.Dial(ep.addr, nil)
	must(t, err)
	t.Cleanup(func() { ws.Close() })
	ws.SetReadDeadline(time.Now().Add(10 * time.Second)) // fails rather than hangs
	must(t, ws.WriteMessage(websocket.TextMessage, []byte(`{"t":"subscribe","notifier":"v"}`)))
	must(t, n.Set("end", false)) // the marker before the mods, so the snapshot may include it
	var tree any
	ended := false
	for !ended {
		typ, data, err := ws.ReadMessage()
		must(t, err)
		if typ != websocket.TextMessage {
			t.Fatalf("message type %d", typ)
		}
		msgs := []json.RawMessage{data}
		if data[0] == '[' { // a batch
			must(t, json.Unmarshal(data, &msgs))
		}
		for _, data := range msgs {
			m, err := decodeSiPyCoMod(data) // a mod is a PYON line with "seq"
			if err != nil {
				continue // a control message
			}
			if m.Action == ActInit {
				tree = m.Struct
				setEveryValue(t, n)
				must(t, n.Set("end", true))
				continue
			}
			if tree, err = Apply(tree, m); err != nil {
				t.Fatal(err)
			}
			ended = m.Key == "end" && m.Value == true
		}
	}
	if want := jsonView(n.Copy()); !Equal(tree, want) {
		t.Fatalf("browser JSON replica\n got %s\nwant %s", pyonText(tree), pyonText(want))
	}
}

// TestValueModelSiPyCoPythonSubscriber: SiPyCo's own Python Subscriber
// gets every value of the value model from the Go Publisher, in the
// snapshot and in mods.
func TestValueModelSiPyCoPythonSubscriber(t *testing.T) {
	env := sipycotest.Python(t)
	scratch := mustNotifier(t, valueModel(), NotifierOptions{})
	setEveryValue(t, scratch)
	n := mustNotifier(t, valueModel(), NotifierOptions{})
	p := NewPublisher(map[string]*Notifier{"v": n}, PublisherOptions{})
	ep := serve(t, p, "tcp")
	h, port := hostPort(t, ep.addr)
	sub := env.Start(t, sipycotest.SyncSubscriber, h, port, "v", "--mods", fmt.Sprint(scratch.Seq()))
	sub.Expect(t, `{"event": "init"`)
	setEveryValue(t, n)
	r := sub.Wait(t)
	var done pySubEvent
	r.JSON(t, &done)
	if r.Err != nil || done.Event != "done" || done.Reason != "mods" {
		t.Fatalf("%s", r)
	}
	if got, want := done.Replica.tree(t), pyonView(sipycoLinesView(n.Copy(), true)); !Equal(got, want) {
		t.Fatalf("Python replica\n%s\ngot  %s\nwant %s", done.Replica.PYON, pyonText(got), pyonText(want))
	}
}
