package simsvc_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/simsvc"
)

// counter is the test service: it adds rate to value every step. Init
// says "not yet" once, then registers the service function add; it has
// the properties rate (float64, >= 0) and label (string, read-only).
type counter struct {
	mu      sync.Mutex // guards the fields below
	calls   []string
	inits   int
	value   float64
	rate    float64
	label   string
	failAt  int // the step that fails; 0: none
	burn    time.Duration
	steered int
	onStep  func(n int)
	steps   int
	term    *bool // the terminate flag of the last Stop
}

func newCounter() *counter { return &counter{rate: 1, label: "counter"} }

func (c *counter) log(s string) {
	c.mu.Lock()
	c.calls = append(c.calls, s)
	c.mu.Unlock()
}

func (c *counter) Calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

func (c *counter) Run(ctx context.Context) error { c.log("run"); return nil }

func (c *counter) Init(ctx context.Context) (bool, error) {
	c.log("init")
	c.mu.Lock()
	c.inits++
	n := c.inits
	c.mu.Unlock()
	if n < 2 {
		return false, nil // call again
	}
	err := simsvc.HostFrom(ctx).RegisterDoc("add", func(x float64) float64 {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.value += x
		return c.value
	}, rpc.MethodDoc{Params: []string{"x"}, Doc: "Add x to the value; returns the new value."})
	return err == nil, err
}

func (c *counter) Start(ctx context.Context) (bool, error) { c.log("start"); return true, nil }

func (c *counter) Step(ctx context.Context) error {
	c.mu.Lock()
	c.steps++
	n, failAt, burn, onStep := c.steps, c.failAt, c.burn, c.onStep
	c.value += c.rate
	c.mu.Unlock()
	if onStep != nil {
		onStep(n)
	}
	if burn > 0 {
		burnCPU(burn)
	}
	if n == failAt {
		return fmt.Errorf("diverged at step %d", n)
	}
	return nil
}

func (c *counter) Steer(ctx context.Context) error {
	c.mu.Lock()
	c.steered++
	c.mu.Unlock()
	return nil
}

func (c *counter) Finish(ctx context.Context) error { c.log("finish"); return nil }

func (c *counter) Stop(ctx context.Context, terminate bool) error {
	c.log(fmt.Sprintf("stop(%v)", terminate))
	return nil
}

func (c *counter) Properties() []simsvc.Property {
	rate := simsvc.NewProperty("rate", func() float64 {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.rate
	}, func(v float64) error {
		if v < 0 {
			return fmt.Errorf("%w: rate %g < 0", rpc.ErrValue, v)
		}
		c.mu.Lock()
		c.rate = v
		c.mu.Unlock()
		return nil
	})
	rate.Doc = "what a step adds"
	label := simsvc.NewProperty[string]("label", func() string { return c.label }, nil)
	return []simsvc.Property{rate, label}
}

// burnCPU spins for d, for the profiler to see.
//
//go:noinline
func burnCPU(d time.Duration) {
	x := 1.0
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := 0; i < 1000; i++ {
			x = x*1.0000001 + 1e-9
		}
	}
	sink = x
}

var sink float64

// serve serves svc on a loopback port for the test's duration.
func serve(t *testing.T, svc simsvc.Service, opts simsvc.Options) (*simsvc.Server, string) {
	t.Helper()
	s, err := simsvc.NewServer(svc, opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, ln.Addr().String()
}

func dial(t *testing.T, addr string, opts simsvc.DialOptions) *simsvc.Proxy {
	t.Helper()
	p, err := simsvc.Dial(testCtx(t), addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// testCtx is cancelled at the test's end and bounded, so that a broken
// call fails the test instead of hanging it.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantState(t *testing.T, err error, op string, st simsvc.Status) {
	t.Helper()
	var se *simsvc.StateError
	if !errors.As(err, &se) {
		t.Fatalf("%s in %s: got %v, want a *StateError", op, st, err)
	}
	if se.Op != op || se.Status != st || !errors.Is(err, simsvc.ErrState) {
		t.Fatalf("%s in %s: got StateError{%q, %q} (%v)", op, st, se.Op, se.Status, err)
	}
	var re *rpc.RemoteError
	if !errors.As(err, &re) || re.Type != "simsvc.StateError" {
		t.Fatalf("%s in %s: the StateError does not unwrap to its RemoteError: %v", op, st, err)
	}
}
