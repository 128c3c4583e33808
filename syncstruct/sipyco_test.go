package syncstruct

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/wire"
)

// sipycoFinal is the replica the old scenario (makeDirectRecordedMods,
// then update_from_dict) ends with; the real-SiPyCo tests still drive it.
var sipycoFinal = map[string]any{"runs": map[string]any{}, "counts": []any{int64(42)}, "status": "done", "extra": 1.5}

// sipycoClient is a SiPyCo Subscriber done by hand.
type sipycoClient struct {
	t  testing.TB
	c  net.Conn
	lr *lineReader
}

func dialSiPyCo(t testing.TB, addr, raw string) *sipycoClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	return &sipycoClient{t: t, c: c, lr: &lineReader{r: bufio.NewReader(c), limit: 16 << 20}}
}

// line returns the next line, newline included.
func (sc *sipycoClient) line() string {
	sc.t.Helper()
	l, err := sc.lr.next()
	if err != nil {
		sc.t.Fatalf("reading a line: %v", err)
	}
	return string(l) + "\n"
}

// sipycoExotic is a tree with every kind of PYON value.
func sipycoExotic() map[string]any {
	big70 := new(big.Int).Lsh(big.NewInt(1), 70)
	return map[string]any{
		"tuple":   pyon.Tuple{int64(1), "a", 2.5},
		"bytes":   []byte{0, 1, 2, 255},
		"complex": complex(1, -2),
		"frac":    pyon.NewFraction(1, 3),
		"big":     big70,
		"u64":     uint64(1<<63 + 5),
		"set":     pyon.Set{Items: []any{int64(1), "two"}},
		"keys":    pyon.Dict{{Key: int64(1), Value: "one"}, {Key: pyon.Tuple{int64(1), int64(2)}, Value: "pair"}, {Key: "s", Value: nil}},
		"ordered": pyon.OrderedDict{{Key: "b", Value: int64(1)}, {Key: "a", Value: int64(2)}},
		"array":   pyon.FromFloat64s([]float64{1.5, -2.5}),
		"scalar":  must2(pyon.ScalarOf(int32(7))),
		"inf":     math.Inf(-1),
		"nan":     math.NaN(),
		"float":   1.0,
		"text":    "héllo ✓ \u2028 \"q\"",
		"slice":   pyon.Slice{Start: int64(1), Step: int64(2)},
		"nested":  map[string]any{"l": []any{map[string]any{}, []any{}, nil, true}},
	}
}

func must2[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// exoticMods changes n (holding sipycoExotic) with every action and every
// kind of value, UpdateFrom included.
func exoticMods(t testing.TB, n *Notifier) {
	t.Helper()
	must(t, n.At("keys").Set(pyon.Tuple{int64(3), "x"}, []byte("v")))
	must(t, n.At("keys").Delete(int64(1)))
	must(t, n.At("nested", "l").Insert(-1, complex(0, 1)))
	must(t, n.At("nested", "l").Append(pyon.Set{Items: []any{pyon.Tuple{int64(1)}}}))
	_, err := n.At("nested", "l").Pop(0)
	must(t, err)
	must(t, n.Set(pyon.Tuple{true, nil}, "odd key at the root"))
	must(t, n.Delete(pyon.Tuple{true, nil}))
	src := sipycoExotic()
	src["text"] = "changed"
	src["array"] = pyon.FromInt64s([]int64{1, 2, 3})
	src["nested"] = map[string]any{"l": []any{int64(1)}, "new": math.Inf(1)}
	delete(src, "slice")
	must(t, UpdateFrom(n, src))
}

// TestSiPyCoGoPublisherGoSubscriber: the Go Subscriber speaking SiPyCo's
// protocol to the Go Publisher keeps an exact replica of every kind of
// value, over TCP, TLS and a Mux, and follows a notifier removed and
// added again.
func TestSiPyCoGoPublisherGoSubscriber(t *testing.T) {
	for _, kind := range []string{"tcp", "tls", "mux"} {
		t.Run(kind, func(t *testing.T) {
			n := mustNotifier(t, sipycoExotic(), NotifierOptions{})
			p := NewPublisher(map[string]*Notifier{"x": n}, PublisherOptions{})
			ep := serve(t, p, kind)
			var rc recorder
			o := rc.opts()
			o.Protocol = ProtocolSiPyCo
			s := subscribe(t, ep, "x", o)
			waitSynced(t, s)
			if !Equal(s.Copy(), n.Copy()) {
				t.Fatalf("snapshot differs:\n got %#v\nwant %#v", s.Copy(), n.Copy())
			}
			exoticMods(t, n)
			waitFor(t, "the replica to follow", func() bool { return Equal(s.Copy(), n.Copy()) })
			if _, seq := s.Position(); seq != n.Seq() {
				t.Errorf("replica counted %d mods, notifier made %d", seq, n.Seq())
			}

			// Removed: the SiPyCo subscriber is just disconnected; it
			// retries until the name is back, and resyncs.
			p.Remove("x")
			waitFor(t, "the disconnection", func() bool { st, _ := s.State(); return st == StateReconnecting })
			n2 := mustNotifier(t, []any{"again"}, NotifierOptions{})
			must(t, p.Add("x", n2))
			waitFor(t, "the resync", func() bool { return Equal(s.Copy(), n2.Copy()) })
			rc.mu.Lock()
			defer rc.mu.Unlock()
			if len(rc.resyncs) != 1 || rc.resyncs[0].Reason != ReasonSiPyCo {
				t.Errorf("resyncs %+v", rc.resyncs)
			}
		})
	}
}

// TestSiPyCoAutoPrefersNative: ProtocolAuto against a sigoco publisher
// speaks the native protocol (and so resumes).
func TestSiPyCoAutoPrefersNative(t *testing.T) {
	n := mustNotifier(t, nil, NotifierOptions{})
	p := NewPublisher(map[string]*Notifier{"x": n}, PublisherOptions{})
	ep := serve(t, p, "tcp")
	var rc recorder
	s := subscribe(t, ep, "x", rc.opts())
	waitSynced(t, s)
	if e, _ := s.Position(); e != n.Epoch() {
		t.Fatalf("epoch %d: not the native protocol", e)
	}
}

// logRecorder is a slog.Handler keeping records' messages by level.
type logRecorder struct {
	mu   sync.Mutex
	recs []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Level.String()+" "+r.Message)
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

func (l *logRecorder) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.recs {
		if strings.Contains(r, s) {
			return true
		}
	}
	return false
}

// TestSiPyCoUnknownNotifier: as SiPyCo does, the publisher closes the
// connection without a word, and logs a warning.
func TestSiPyCoUnknownNotifier(t *testing.T) {
	var logs logRecorder
	n := mustNotifier(t, nil, NotifierOptions{})
	p := NewPublisher(map[string]*Notifier{"x": n}, PublisherOptions{Logger: slog.New(&logs)})
	ep := serve(t, p, "tcp")
	sc := dialSiPyCo(t, ep.addr, wire.BannerSiPyCoSync+"\nnope\n")
	if b, err := io.ReadAll(sc.c); err != nil || len(b) != 0 {
		t.Fatalf("got %q, %v; want a silent close", b, err)
	}
	waitFor(t, "the warning", func() bool { return logs.has("WARN syncstruct: SiPyCo subscriber asked for an unknown notifier") })
}

// TestSiPyCoFallsBehind: a SiPyCo subscriber that stops reading costs the
// publisher no more than QueueBytes of lag; when it reads again it gets a
// fresh init line on the same connection instead of its backlog, and its
// replica is exact. A mod over MaxModSize also comes as a fresh init.
func TestSiPyCoFallsBehind(t *testing.T) {
	n := mustNotifier(t, map[string]any{"k": map[string]any{}}, NotifierOptions{MaxModSize: 64 << 10})
	p := NewPublisher(map[string]*Notifier{"s": n}, PublisherOptions{QueueBytes: 128 << 10})
	ep := serve(t, p, "tcp") // 256 KiB send buffer
	sc := dialSiPyCo(t, ep.addr, wire.BannerSiPyCoSync+"\ns\n")
	sc.c.(*net.TCPConn).SetReadBuffer(64 << 10)
	sc.c.SetDeadline(time.Now().Add(30 * time.Second))

	var tree any
	inits := 0
	apply := func() *Mod {
		t.Helper()
		m, err := decodeSiPyCoMod([]byte(sc.line()))
		must(t, err)
		if m.Action == ActInit {
			inits++
		}
		tree, err = Apply(tree, m)
		must(t, err)
		return m
	}
	apply()
	value := strings.Repeat("v", 10000) // 4 MB in all: far past the buffers and the queue
	for i := range 400 {
		must(t, n.At("k").Set(string(rune('a'+i%20)), value))
	}
	// The last change is unique: once the replica has it, the session
	// has sent everything and nothing more is on its way.
	must(t, n.Set("caught up", true))
	for !Equal(tree, n.Copy()) {
		apply()
	}
	resyncs := p.Stats().Resyncs
	if inits < 2 || resyncs < 1 || int(resyncs) != inits-1 {
		// (It may take several: each fresh init it can still write lags
		// behind the next mods again.)
		t.Fatalf("%d inits, stats %+v; want fresh inits after falling behind", inits, p.Stats())
	}
	before := inits
	must(t, n.Set("big", strings.Repeat("b", 100<<10))) // over MaxModSize
	must(t, n.Set("end", true))
	for !Equal(tree, n.Copy()) {
		apply()
	}
	if inits != before+1 || p.Stats().Resyncs != resyncs+1 {
		t.Fatalf("%d inits, stats %+v; want one fresh init in place of the large mod", inits-before, p.Stats())
	}
}

// TestSiPyCoEncodingRoundTrip: every mod encSiPyCo writes decodes to
// the same mod, and the init line carries no sigoco field.
func TestSiPyCoEncodingRoundTrip(t *testing.T) {
	tree, err := Normalize(sipycoExotic())
	must(t, err)
	var w strings.Builder
	must(t, encSiPyCo.WriteInit(&w, tree, 99))
	if strings.Count(w.String(), "\n") != 1 || !strings.HasSuffix(w.String(), "\n") || strings.Contains(w.String(), `"seq"`) {
		t.Fatalf("init line %q", w.String())
	}
	m, err := decodeSiPyCoMod([]byte(w.String()))
	must(t, err)
	if m.Action != ActInit || !Equal(m.Struct, tree) {
		t.Fatalf("init round trip:\n got %#v\nwant %#v", m.Struct, tree)
	}
	// A tree larger than one flush goes out in pieces, unchanged.
	large := map[string]any{"l": make([]any, 20000)}
	for i := range 20000 {
		large["l"].([]any)[i] = "item"
	}
	w.Reset()
	must(t, encSiPyCo.WriteInit(&w, large, 0))
	m, err = decodeSiPyCoMod([]byte(w.String()))
	must(t, err)
	if !Equal(m.Struct, large) {
		t.Fatal("large init round trip differs")
	}

	n := mustNotifier(t, sipycoExotic(), NotifierOptions{})
	exoticMods(t, n)
	for _, want := range historyMods(t, n) {
		b, err := encSiPyCo.AppendMod([]byte("prefix"), want)
		must(t, err)
		line := strings.TrimPrefix(string(b), "prefix")
		if !strings.HasSuffix(line, "}\n") || strings.Count(line, "\n") != 1 || strings.Contains(line, `"seq"`) {
			t.Fatalf("mod line %q", line)
		}
		got, err := decodeSiPyCoMod([]byte(line))
		must(t, err)
		got.Seq = want.Seq
		if !modsEqual(got, want) {
			t.Errorf("round trip of %s:\n got %+v\nwant %+v", line, got, want)
		}
	}
}

func TestSiPyCoDecodeErrors(t *testing.T) {
	tests := []struct {
		line string
		want error
	}{
		{`[1]`, ErrBadMessage},
		{`{"path":[]}`, ErrBadMod},
		{`{"action":"frobnicate","path":[]}`, ErrBadMod},
		{`{"action":"init"}`, ErrBadMod},
		{`{"action":"append","path":[]}`, ErrBadMod},
		{`{"action":"append","x":1}`, ErrBadMod},
		{`{"action":"append","path":"a","x":1}`, ErrBadMod},
		{`{"action":"append","path":[[1]],"x":1}`, ErrBadKey},
		{`{"action":"insert","path":[],"x":1}`, ErrBadMod},
		{`{"action":"insert","path":[],"i":1.5,"x":1}`, ErrBadMod},
		{`{"action":"pop","path":[],"i":99999999999}`, ErrBadMod},
		{`{"action":"setitem","path":[],"key":[1],"value":1}`, ErrBadKey},
		{`{"action":"setitem","path":[],"key":"k"}`, ErrBadMod},
		{`{"action":"delitem","path":[]}`, ErrBadMod},
		{`{"action":"init","struct":{"__jsonclass__":["nope",[]]}}`, pyon.ErrUnknownClass},
		{`{"action":"init","struct":1} 2`, pyon.ErrSyntax},
	}
	for _, tc := range tests {
		if _, err := decodeSiPyCoMod([]byte(tc.line)); !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.line, err, tc.want)
		}
	}
	// pop without i is pop(-1); a dict with repeated keys keeps the last.
	m, err := decodeSiPyCoMod([]byte(`{"action":"pop","path":[]}`))
	if err != nil || m.I != -1 {
		t.Errorf("pop without i: %+v, %v", m, err)
	}
	m, err = decodeSiPyCoMod([]byte(`{"action":"init","struct":{"__jsonclass__":["dict",[[[1,"a"],[1,"b"],[{"__jsonclass__":["Fraction",[1,2]]},"c"]]]]}}`))
	must(t, err)
	want := pyon.Dict{{Key: int64(1), Value: "b"}, {Key: *pyon.NewFraction(1, 2), Value: "c"}}
	if !Equal(m.Struct, want) {
		t.Errorf("dict %#v, want %#v", m.Struct, want)
	}
}
