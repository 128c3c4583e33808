package fireforget

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/snake"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// device is a local target whose Set blocks until the test lets it go.
type device struct {
	mu      sync.Mutex
	values  []int
	started chan int      // receives the value of each Set as it starts
	gate    chan struct{} // Set returns once it can receive from gate
}

func newDevice() *device {
	return &device{started: make(chan int, 100), gate: make(chan struct{})}
}

func (d *device) SetAttenuation(v int) {
	d.started <- v
	<-d.gate
	d.mu.Lock()
	d.values = append(d.values, v)
	d.mu.Unlock()
}

func (d *device) Fail(msg string) error { return errors.New(msg) }

func (d *device) Explode() { panic("kaboom") }

func (d *device) Wait(ctx context.Context) error {
	d.started <- -1
	<-ctx.Done()
	return ctx.Err()
}

func (d *device) Sum(scale float64, xs ...int) (float64, error) {
	return 0, nil
}

func (d *device) got() []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]int(nil), d.values...)
}

// records is a slog.Handler that keeps messages, for checking warnings.
type records struct {
	mu   sync.Mutex
	msgs []string
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *records) WithGroup(string) slog.Handler            { return r }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	s := rec.Level.String() + " " + rec.Message
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key != "stack" {
			s += " " + a.Key + "=" + a.Value.String()
		}
		return true
	})
	r.mu.Lock()
	r.msgs = append(r.msgs, s)
	r.mu.Unlock()
	return nil
}

func (r *records) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

func newProxy(t *testing.T, target any, opts Options) (*Proxy, *records) {
	t.Helper()
	logs := &records{}
	opts.Logger = slog.New(logs)
	p, err := New(target, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, logs
}

func join(t *testing.T, p *Proxy) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Join(ctx); err != nil {
		t.Fatalf("Join: %v", err)
	}
}

func TestPolicies(t *testing.T) {
	cases := []struct {
		policy  Policy
		size    int
		want    []int
		dropped uint64
		warned  int
	}{
		{DropWhileBusy, 0, []int{1}, 4, 4},
		{Coalesce, 0, []int{1, 5}, 3, 0},
		{Queue, 2, []int{1, 2, 3}, 2, 2},
	}
	for _, c := range cases {
		t.Run(c.policy.String(), func(t *testing.T) {
			d := newDevice()
			p, logs := newProxy(t, d, Options{Policy: c.policy, QueueSize: c.size})
			if err := p.Call("set_attenuation", 1); err != nil {
				t.Fatal(err)
			}
			<-d.started // 1 is running and holds the proxy busy
			for v := 2; v <= 5; v++ {
				if err := p.Call("SetAttenuation", v); err != nil {
					t.Fatal(err)
				}
			}
			close(d.gate)
			join(t, p)
			if got := d.got(); !equal(got, c.want) {
				t.Errorf("ran %v, want %v", got, c.want)
			}
			s := p.Stats()
			if s.Dropped != c.dropped || s.Succeeded != uint64(len(c.want)) || s.Failed != 0 {
				t.Errorf("stats %+v", s)
			}
			warnings := 0
			for _, m := range logs.all() {
				if strings.HasPrefix(m, "WARN fireforget: call dropped") {
					warnings++
				}
			}
			if warnings != c.warned {
				t.Errorf("%d drop warnings, want %d: %q", warnings, c.warned, logs.all())
			}
		})
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestErrorsAndPanicsBecomeWarnings(t *testing.T) {
	p, logs := newProxy(t, newDevice(), Options{Policy: Queue})
	if err := p.Call("fail", "out of range"); err != nil {
		t.Fatal(err)
	}
	if err := p.Call("explode"); err != nil {
		t.Fatal(err)
	}
	if err := p.Call("sum", 1.5); err != nil {
		t.Fatal(err)
	}
	join(t, p)
	got := logs.all()
	want := []string{
		"WARN fireforget: call failed method=fail err=out of range",
		"WARN fireforget: call panicked method=explode panic=kaboom",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("logged\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s := p.Stats(); s.Failed != 2 || s.Succeeded != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestCallErrors(t *testing.T) {
	p, _ := newProxy(t, newDevice(), Options{})
	cases := []struct {
		method string
		args   []any
		want   error
		text   string
	}{
		{"set_attenuaton", []any{1}, ErrUnknownMethod, `"set_attenuaton"`},
		{"got", nil, ErrUnknownMethod, `"got"`}, // unexported
		{"set_attenuation", nil, ErrBadArguments, "takes 1 arguments, got 0"},
		{"set_attenuation", []any{1, 2}, ErrBadArguments, "takes 1 arguments, got 2"},
		{"set_attenuation", []any{"x"}, ErrBadArguments, "argument 1: cannot use string as int"},
		{"set_attenuation", []any{1.5}, ErrBadArguments, "1.5 does not fit in int"},
		{"set_attenuation", []any{nil}, ErrBadArguments, "cannot use nil as int"},
		{"sum", nil, ErrBadArguments, "takes at least 1 arguments"},
		{"sum", []any{1, 2, "x"}, ErrBadArguments, "argument 3: cannot use string as int"},
	}
	for _, c := range cases {
		t.Run(c.method+c.text, func(t *testing.T) {
			err := p.Call(c.method, c.args...)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
				t.Errorf("Call = %v, want %v containing %q", err, c.want, c.text)
			}
		})
	}
	if s := p.Stats(); s.Accepted != 0 {
		t.Errorf("rejected calls were accepted: %+v", s)
	}
}

func TestConversions(t *testing.T) {
	p, logs := newProxy(t, newDevice(), Options{Policy: Queue})
	for _, args := range [][]any{{2}, {int8(2), 3, 4}, {float32(2.5)}, {2, uint16(7)}} {
		if err := p.Call("Sum", args...); err != nil {
			t.Errorf("Sum%v: %v", args, err)
		}
	}
	join(t, p)
	if s := p.Stats(); s.Succeeded != 4 || len(logs.all()) != 0 {
		t.Errorf("stats %+v, logs %q", s, logs.all())
	}
}

func TestNewRejects(t *testing.T) {
	if _, err := New(nil, Options{}); !errors.Is(err, ErrNoTarget) {
		t.Errorf("nil target: %v", err)
	}
	if _, err := New(42, Options{}); !errors.Is(err, ErrNoTarget) {
		t.Errorf("int target: %v", err)
	}
	if _, err := New(newDevice(), Options{Policy: 9}); err == nil {
		t.Error("unknown policy accepted")
	}
}

func TestJoinUnderCancellation(t *testing.T) {
	d := newDevice()
	p, _ := newProxy(t, d, Options{})
	if err := p.Join(context.Background()); err != nil {
		t.Fatalf("Join on an idle proxy: %v", err)
	}
	p.Call("set_attenuation", 1)
	<-d.started
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Join(ctx) }()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Join with a cancelled context = %v", err)
	}
	close(d.gate) // the call goes on and finishes
	join(t, p)
	if got := d.got(); !equal(got, []int{1}) {
		t.Errorf("ran %v", got)
	}
}

func TestCloseCancelsAndDrops(t *testing.T) {
	d := newDevice()
	p, _ := newProxy(t, d, Options{Policy: Queue})
	p.Call("wait") // blocks until its context is cancelled
	<-d.started
	p.Call("set_attenuation", 1)
	p.Call("set_attenuation", 2)
	joined := make(chan error, 1)
	go func() { joined <- p.Join(context.Background()) }()
	p.Close()
	p.Close() // idempotent
	if err := <-joined; err != nil {
		t.Errorf("Join across Close = %v", err)
	}
	s := p.Stats()
	if s.Dropped != 2 || s.Failed != 1 { // wait returned context.Canceled
		t.Errorf("stats %+v", s)
	}
	if err := p.Call("set_attenuation", 3); !errors.Is(err, ErrClosed) {
		t.Errorf("Call after Close = %v", err)
	}
	if len(d.got()) != 0 {
		t.Errorf("pending calls ran after Close: %v", d.got())
	}
}

func TestTimeout(t *testing.T) {
	p, logs := newProxy(t, newDevice(), Options{Timeout: time.Millisecond})
	p.Call("wait")
	join(t, p)
	if got := logs.all(); len(got) != 1 || !strings.Contains(got[0], "context deadline exceeded") {
		t.Errorf("logged %q", got)
	}
}

// fakeClient is a Caller, like *rpc.Client.
type fakeClient struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeClient) Call(ctx context.Context, method string, args ...any) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if method == "nope" {
		return nil, errors.New("unknown method nope")
	}
	f.calls = append(f.calls, method)
	return nil, nil
}

func TestCallerTarget(t *testing.T) {
	fc := &fakeClient{}
	p, logs := newProxy(t, fc, Options{Policy: Queue})
	p.Call("set_attenuation", 1.5)
	p.Call("nope")
	join(t, p)
	if len(fc.calls) != 1 || fc.calls[0] != "set_attenuation" {
		t.Errorf("calls %q", fc.calls)
	}
	if got := logs.all(); len(got) != 1 || !strings.Contains(got[0], "unknown method nope") {
		t.Errorf("logged %q", got)
	}
}

// wireNames has methods whose wire names need the one snake_case rule
// (internal/snake) that rpc and pyon use too.
type wireNames struct {
	mu    sync.Mutex // guards calls
	calls []string
}

func (w *wireNames) Set2DPosition(x int) { w.record("Set2DPosition") }
func (w *wireNames) GetHTTPStatus()      { w.record("GetHTTPStatus") }
func (w *wireNames) Sweep2DFast(n int)   { w.record("Sweep2DFast") }
func (w *wireNames) record(name string)  { w.mu.Lock(); w.calls = append(w.calls, name); w.mu.Unlock() }

func TestWireNames(t *testing.T) {
	w := &wireNames{}
	p, err := New(w, Options{Policy: Queue})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	for _, name := range []string{"Set2DPosition", "GetHTTPStatus", "Sweep2DFast"} {
		wire := snake.Case(name)
		var args []any
		if name != "GetHTTPStatus" {
			args = []any{1}
		}
		if err := p.Call(wire, args...); err != nil {
			t.Errorf("Call(%q): %v", wire, err)
		}
		join(t, p)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if got := strings.Join(w.calls, " "); got != "Set2DPosition GetHTTPStatus Sweep2DFast" {
		t.Errorf("calls %q", got)
	}
}
