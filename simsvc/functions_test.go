package simsvc_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/simsvc"
)

// TestServiceFunctionAfterInit: add is not available before init, then
// is listed (with its signature and doc) and callable at once.
func TestServiceFunctionAfterInit(t *testing.T) {
	c := newCounter()
	_, addr := serve(t, c, simsvc.Options{Name: "counter"})
	p := dial(t, addr, simsvc.DialOptions{})
	ctx := testCtx(t)
	must(t, p.Run(ctx))
	if _, err := p.Call(ctx, "add", 2.0); !errors.Is(err, simsvc.ErrNotAvailable) || !errors.Is(err, rpc.ErrUnknownMethod) {
		t.Fatalf("add before init: %v, want ErrNotAvailable", err)
	}
	fns, err := p.Functions(ctx)
	must(t, err)
	if len(fns) != 0 {
		t.Fatalf("functions before init: %+v", fns)
	}
	p.Init(ctx) // not yet
	if ok, err := p.Init(ctx); !ok || err != nil {
		t.Fatal(ok, err)
	}
	fns, err = p.Functions(ctx)
	must(t, err)
	if len(fns) != 1 || fns[0].Name != "add" || fns[0].Doc == "" || len(fns[0].Params) != 1 ||
		fns[0].Params[0] != (rpc.Param{Name: "x", Type: "float64"}) || !slices.Equal(fns[0].Results, []string{"float64"}) {
		t.Fatalf("functions after init: %+v", fns)
	}
	// The plain rpc listing has it too.
	info, err := p.Client().ListMethods(ctx)
	must(t, err)
	if !slices.ContainsFunc(info.Methods, func(m rpc.MethodInfo) bool { return m.Name == "add" }) {
		t.Fatal("add missing from list-methods")
	}
	var v float64
	must(t, p.CallInto(ctx, &v, "add", 2.5))
	if v != 2.5 {
		t.Fatalf("add(2.5) = %v", v)
	}
	if res, err := p.Call(ctx, "add", rpc.Kwargs{"x": 1.0}); err != nil || res != 3.5 {
		t.Fatalf("add(x=1) = %v, %v", res, err)
	}
	if _, err := p.Call(ctx, "add", "two"); !errors.Is(err, rpc.ErrBadArguments) {
		t.Fatalf("add(\"two\"): %v", err)
	}
}

// TestRegisterAnyStage: a service function can be registered and
// unregistered from outside a call, through the kept Host, while clients
// are connected; it takes turns with steps.
func TestRegisterAnyStage(t *testing.T) {
	c := newCounter()
	s, addr := serve(t, c, simsvc.Options{})
	p := dial(t, addr, simsvc.DialOptions{})
	ctx := testCtx(t)
	h := s.Host()
	must(t, h.Register("Hello", func(name string) string { return "hello " + name }))
	if res, err := p.Call(ctx, "hello", "world"); err != nil || res != "hello world" {
		t.Fatalf("hello: %v %v", res, err)
	}
	if err := h.Register("hello", func() {}); err == nil {
		t.Fatal("registered hello twice")
	}
	if err := h.Register("step", func() {}); err == nil {
		t.Fatal("a service function shadowed step")
	}
	if err := h.Register("bad name", func() {}); err == nil {
		t.Fatal("registered an invalid name")
	}
	if err := h.Register("ch", func(chan int) {}); err == nil {
		t.Fatal("registered a func that cannot be served")
	}
	u, err := p.WaitFor(ctx, func(u simsvc.Update) bool { return len(u.Functions) == 1 })
	must(t, err)
	if u.Functions[0] != "hello" {
		t.Fatalf("live functions %v", u.Functions)
	}
	must(t, h.Unregister("hello"))
	if _, err := p.Call(ctx, "hello", "x"); !errors.Is(err, simsvc.ErrNotAvailable) {
		t.Fatalf("hello after Unregister: %v", err)
	}
	if _, err := p.WaitFor(ctx, func(u simsvc.Update) bool { return len(u.Functions) == 0 }); err != nil {
		t.Fatal(err)
	}
	if err := simsvc.Register(ctx, "x", func() {}); err == nil {
		t.Fatal("Register without a host in ctx succeeded")
	}
}

// TestServiceFunctionTakesTurns: a service function never runs during a
// step.
func TestServiceFunctionTakesTurns(t *testing.T) {
	c := newCounter()
	var mu sync.Mutex
	inStep := false
	overlap := false
	c.onStep = func(int) {
		mu.Lock()
		inStep = true
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		inStep = false
		mu.Unlock()
	}
	s, addr := serve(t, c, simsvc.Options{})
	must(t, s.Host().Register("probe", func() {
		mu.Lock()
		overlap = overlap || inStep
		mu.Unlock()
	}))
	p := dial(t, addr, simsvc.DialOptions{})
	ctx := testCtx(t)
	must(t, simsvc.Execute(ctx, p, simsvc.ExecOptions{SkipFinish: true, SkipClose: true}, nil))
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for range 20 {
			p.Step(ctx)
		}
	}()
	go func() {
		defer wg.Done()
		for range 20 {
			p.Call(ctx, "probe")
		}
	}()
	wg.Wait()
	if overlap {
		t.Fatal("a service function ran during a step")
	}
}

// TestProperties: get and set through the proxy, typed and listed.
func TestProperties(t *testing.T) {
	c := newCounter()
	s, addr := serve(t, c, simsvc.Options{})
	p := dial(t, addr, simsvc.DialOptions{})
	ctx := testCtx(t)
	props, err := p.Properties(ctx)
	must(t, err)
	want := []simsvc.PropertyInfo{
		{Name: "label", Type: "string", Writable: false},
		{Name: "rate", Type: "float64", Writable: true, Doc: "what a step adds"},
	}
	if !slices.Equal(props, want) {
		t.Fatalf("properties %+v, want %+v", props, want)
	}
	if v, err := p.Get(ctx, "rate"); err != nil || v != 1.0 {
		t.Fatalf("get rate: %v %v", v, err)
	}
	must(t, p.Set(ctx, "rate", 2.5))
	var r float64
	must(t, p.GetInto(ctx, "rate", &r))
	if r != 2.5 {
		t.Fatalf("rate %v after set", r)
	}
	if err := p.Set(ctx, "rate", -1.0); !errors.Is(err, rpc.ErrValue) {
		t.Fatalf("set rate -1: %v, want ErrValue", err)
	}
	if err := p.Set(ctx, "rate", "fast"); !errors.Is(err, rpc.ErrBadArguments) {
		t.Fatalf("set rate \"fast\": %v", err)
	}
	if err := p.Set(ctx, "label", "x"); !errors.Is(err, simsvc.ErrNotAvailable) {
		t.Fatalf("set of a read-only property: %v", err)
	}
	if _, err := p.Get(ctx, "nope"); !errors.Is(err, simsvc.ErrNotAvailable) {
		t.Fatalf("get of a missing property: %v", err)
	}
	// Added later, e.g. once the model is loaded.
	n := 7
	must(t, s.Host().AddProperty(simsvc.NewProperty("grid_size", func() int { return n }, nil)))
	if v, err := p.Get(ctx, "grid_size"); err != nil || v != int64(7) {
		t.Fatalf("grid_size: %v %v", v, err)
	}
	for _, bad := range []simsvc.Property{
		simsvc.NewProperty("rate", func() int { return 0 }, nil),
		simsvc.NewProperty("GridSize", func() int { return 0 }, nil),
		{Name: "empty"},
	} {
		if err := s.Host().AddProperty(bad); err == nil {
			t.Errorf("AddProperty(%q) succeeded", bad.Name)
		}
	}
	// The accessors are in the listing, typed.
	info, err := p.Client().ListMethods(ctx)
	must(t, err)
	i := slices.IndexFunc(info.Methods, func(m rpc.MethodInfo) bool { return m.Name == "set_rate" })
	if i < 0 || info.Methods[i].Params[0].Type != "float64" {
		t.Fatalf("set_rate listing: %+v", info.Methods)
	}
}

// TestProfilerReport: the report names the function the service burned
// CPU in, and the raw profile parses.
func TestProfilerReport(t *testing.T) {
	c := newCounter()
	c.burn = 30 * time.Millisecond
	_, addr := serve(t, c, simsvc.Options{Name: "burner"})
	p := dial(t, addr, simsvc.DialOptions{})
	ctx := testCtx(t)
	must(t, simsvc.Execute(ctx, p, simsvc.ExecOptions{Steps: 10, SkipClose: true}, func(int) error { return p.Step(ctx) }))
	rep, err := p.ProfilerReport(ctx)
	must(t, err)
	for _, want := range []string{`service "burner"`, "top", "flat", "cum", "burnCPU"} {
		if !strings.Contains(rep, want) {
			t.Fatalf("report lacks %q:\n%s", want, rep)
		}
	}
	raw, err := p.Profile(ctx)
	must(t, err)
	if len(raw) < 2 || raw[0] != 0x1f || raw[1] != 0x8b {
		t.Fatalf("raw profile is not gzipped pprof: % x", raw[:min(len(raw), 8)])
	}
	// A second report includes the first's samples.
	rep2, err := p.ProfilerReport(ctx)
	must(t, err)
	if !strings.Contains(rep2, "burnCPU") {
		t.Fatalf("second report lost the samples:\n%s", rep2)
	}
	t.Logf("report:\n%s", rep)
}

// TestProfilerDisabled: the report says the profiler is off.
func TestProfilerDisabled(t *testing.T) {
	_, addr := serve(t, newCounter(), simsvc.Options{DisableProfiler: true})
	p := dial(t, addr, simsvc.DialOptions{})
	if _, err := p.ProfilerReport(testCtx(t)); err == nil || !strings.Contains(err.Error(), "off") {
		t.Fatalf("report with the profiler off: %v", err)
	}
}

// TestCallFunction: the fixed entry point call_function (for a tracker's
// exposed object) reaches the service functions registered later.
func TestCallFunction(t *testing.T) {
	c := newCounter()
	_, addr := serve(t, c, simsvc.Options{})
	p := dial(t, addr, simsvc.DialOptions{})
	ctx := testCtx(t)
	if _, err := p.Client().Call(ctx, "call_function", "add", 1.0); err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Fatalf("call_function before init: %v", err)
	}
	must(t, simsvc.Execute(ctx, p, simsvc.ExecOptions{SkipFinish: true, SkipClose: true}, nil))
	if v, err := p.Client().Call(ctx, "call_function", "add", 2.5); err != nil || v != 2.5 {
		t.Fatalf("call_function add 2.5: %v %v", v, err)
	}
	if v, err := p.Client().Call(ctx, "call_function", "add", int64(2)); err != nil || v != 4.5 {
		t.Fatalf("call_function add 2 (an int for a float64): %v %v", v, err)
	}
	if _, err := p.Client().Call(ctx, "call_function", "add", "x"); !errors.Is(err, rpc.ErrValue) {
		t.Fatalf("call_function add \"x\": %v", err)
	}
	if _, err := p.Client().Call(ctx, "call_function", "add"); !errors.Is(err, rpc.ErrValue) {
		t.Fatalf("call_function add (no argument): %v", err)
	}
}
