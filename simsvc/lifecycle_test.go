package simsvc_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/simsvc"
)

// TestLifecycle drives the whole lifecycle over loopback and follows the
// live status.
func TestLifecycle(t *testing.T) {
	c := newCounter()
	_, addr := serve(t, c, simsvc.Options{Name: "counter", Steps: 4})
	var mu sync.Mutex
	var seen []simsvc.Status
	p := dial(t, addr, simsvc.DialOptions{OnUpdate: func(u simsvc.Update) {
		mu.Lock()
		if len(seen) == 0 || seen[len(seen)-1] != u.Status {
			seen = append(seen, u.Status)
		}
		mu.Unlock()
	}})
	ctx := testCtx(t)
	if p.Name() != "counter" {
		t.Fatalf("Name = %q", p.Name())
	}
	status := func(want simsvc.Status) {
		t.Helper()
		st, err := p.Status(ctx)
		must(t, err)
		if st != want {
			t.Fatalf("status %s, want %s", st, want)
		}
		// Wait for the live status to show it too, so that OnUpdate sees
		// every status.
		if _, err := p.WaitFor(ctx, func(u simsvc.Update) bool { return u.Status == want }); err != nil {
			t.Fatal(err)
		}
	}
	status(simsvc.StatusRegistered)
	must(t, p.Run(ctx))
	status(simsvc.StatusLoaded)
	ok, err := p.Init(ctx)
	must(t, err)
	if ok {
		t.Fatal("first init said true; the counter says not yet")
	}
	status(simsvc.StatusLoaded)
	if ok, err = p.Init(ctx); err != nil || !ok {
		t.Fatalf("second init: %v %v", ok, err)
	}
	status(simsvc.StatusInitialized)
	if ok, err = p.Start(ctx); err != nil || !ok {
		t.Fatalf("start: %v %v", ok, err)
	}
	status(simsvc.StatusStarted)
	for i := 1; i <= 4; i++ {
		must(t, p.Step(ctx))
		n, err := p.CurrentStep(ctx)
		must(t, err)
		if n != i {
			t.Fatalf("current_step %d, want %d", n, i)
		}
	}
	status(simsvc.StatusRunning)
	must(t, p.Steer(ctx))
	u, err := p.WaitFor(ctx, func(u simsvc.Update) bool { return u.Step == 4 && u.Progress == 100 })
	must(t, err)
	if u.Name != "counter" || u.ErrorMessage != "" || !slices.Equal(u.Functions, []string{"add"}) || !slices.Equal(u.Properties, []string{"label", "rate"}) {
		t.Fatalf("live status %+v", u)
	}
	if pr, err := p.Progress(ctx); err != nil || pr != 100 {
		t.Fatalf("progress %v %v", pr, err)
	}
	must(t, p.Finish(ctx))
	status(simsvc.StatusFinished)
	if msg, err := p.ErrorMessage(ctx); err != nil || msg != "" {
		t.Fatalf("error_message %q %v", msg, err)
	}
	want := []string{"run", "init", "init", "start", "finish"}
	if got := c.Calls(); !slices.Equal(got, want) {
		t.Fatalf("calls %v, want %v", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	wantSeen := []simsvc.Status{simsvc.StatusRegistered, simsvc.StatusLoaded, simsvc.StatusInitialized,
		simsvc.StatusStarted, simsvc.StatusRunning, simsvc.StatusFinished}
	if !slices.Equal(seen, wantSeen) {
		t.Fatalf("OnUpdate saw %v, want %v", seen, wantSeen)
	}
}

// TestStop: stop ends in SIM_STOPPED, stop(terminate_sim=False) in
// SIM_FINISHED, as the seed says.
func TestStop(t *testing.T) {
	for _, terminate := range []bool{true, false} {
		c := newCounter()
		_, addr := serve(t, c, simsvc.Options{})
		p := dial(t, addr, simsvc.DialOptions{})
		ctx := testCtx(t)
		must(t, p.Run(ctx))
		must(t, p.Stop(ctx, terminate))
		st, err := p.Status(ctx)
		must(t, err)
		want := simsvc.StatusStopped
		if !terminate {
			want = simsvc.StatusFinished
		}
		if st != want {
			t.Errorf("stop(%v): %s, want %s", terminate, st, want)
		}
		if calls := c.Calls(); calls[len(calls)-1] != "stop("+map[bool]string{true: "true", false: "false"}[terminate]+")" {
			t.Errorf("calls %v", calls)
		}
	}
}

// TestStopDefaultTerminates: stop without keyword arguments (a SiPyCo or
// rpctool caller) terminates.
func TestStopDefaultTerminates(t *testing.T) {
	_, addr := serve(t, newCounter(), simsvc.Options{})
	p := dial(t, addr, simsvc.DialOptions{})
	ctx := testCtx(t)
	must(t, p.Run(ctx))
	if _, err := p.Client().Call(ctx, "stop"); err != nil {
		t.Fatal(err)
	}
	if st, _ := p.Status(ctx); st != simsvc.StatusStopped {
		t.Fatalf("status %s", st)
	}
}

// TestOutOfOrder makes every call in every status that does not allow it:
// each is a StateError naming the status, and the status stays.
func TestOutOfOrder(t *testing.T) {
	ops := []string{"run", "init", "start", "step", "steer", "finish", "stop"}
	allowed := map[simsvc.Status][]string{
		simsvc.StatusRegistered:  {"run"},
		simsvc.StatusLoaded:      {"init", "steer", "stop"},
		simsvc.StatusInitialized: {"start", "steer", "stop"},
		simsvc.StatusStarted:     {"step", "steer", "finish", "stop"},
		simsvc.StatusRunning:     {"step", "steer", "finish", "stop"},
		simsvc.StatusFinished:    {},
		simsvc.StatusStopped:     {},
		simsvc.StatusFailed:      {"stop"},
	}
	// reach drives a fresh service to st.
	reach := func(t *testing.T, p *simsvc.Proxy, st simsvc.Status) {
		ctx := testCtx(t)
		path := map[simsvc.Status][]string{
			simsvc.StatusRegistered:  {},
			simsvc.StatusLoaded:      {"run"},
			simsvc.StatusInitialized: {"run", "init", "init"},
			simsvc.StatusStarted:     {"run", "init", "init", "start"},
			simsvc.StatusRunning:     {"run", "init", "init", "start", "step"},
			simsvc.StatusFinished:    {"run", "init", "init", "start", "step", "finish"},
			simsvc.StatusStopped:     {"run", "stop"},
			simsvc.StatusFailed:      {"run", "init", "init", "start", "step", "step"},
		}[st]
		for _, op := range path {
			err := p.Client().CallInto(ctx, nil, op)
			if err != nil && !(st == simsvc.StatusFailed && op == "step") {
				t.Fatalf("reaching %s: %s: %v", st, op, err)
			}
		}
		if got, _ := p.Status(ctx); got != st {
			t.Fatalf("reached %s, not %s", got, st)
		}
	}
	for st, ok := range allowed {
		t.Run(string(st), func(t *testing.T) {
			c := newCounter()
			c.failAt = 2
			_, addr := serve(t, c, simsvc.Options{})
			p := dial(t, addr, simsvc.DialOptions{})
			ctx := testCtx(t)
			reach(t, p, st)
			for _, op := range ops {
				if slices.Contains(ok, op) {
					continue
				}
				var err error
				switch op {
				case "run":
					err = p.Run(ctx)
				case "init":
					_, err = p.Init(ctx)
				case "start":
					_, err = p.Start(ctx)
				case "step":
					err = p.Step(ctx)
				case "steer":
					err = p.Steer(ctx)
				case "finish":
					err = p.Finish(ctx)
				case "stop":
					err = p.Stop(ctx, true)
				}
				wantState(t, err, op, st)
				if !strings.Contains(err.Error(), string(st)) {
					t.Errorf("%s: the message does not name the status: %v", op, err)
				}
				if got, _ := p.Status(ctx); got != st {
					t.Fatalf("%s in %s moved the status to %s", op, st, got)
				}
			}
		})
	}
}

// TestFailingStep: a step that fails records the error and the status.
func TestFailingStep(t *testing.T) {
	c := newCounter()
	c.failAt = 3
	_, addr := serve(t, c, simsvc.Options{})
	p := dial(t, addr, simsvc.DialOptions{})
	ctx := testCtx(t)
	err := simsvc.Execute(ctx, p, simsvc.ExecOptions{SkipClose: true}, func(int) error { return p.Step(ctx) })
	var re *rpc.RemoteError
	if !errors.As(err, &re) || !strings.Contains(re.Message, "diverged at step 3") {
		t.Fatalf("Execute: %v, want the step's error", err)
	}
	// Execute stopped the failed simulation.
	if st, _ := p.Status(ctx); st != simsvc.StatusStopped {
		t.Fatalf("status %s after Execute", st)
	}
	msg, err := p.ErrorMessage(ctx)
	must(t, err)
	if msg != "step: diverged at step 3" {
		t.Fatalf("error_message %q", msg)
	}
	if n, _ := p.CurrentStep(ctx); n != 2 {
		t.Fatalf("current_step %d, want 2 (the failed step does not count)", n)
	}
}

// TestFailedStatusLive: SIM_FAILED and error_message are published.
func TestFailedStatusLive(t *testing.T) {
	c := newCounter()
	c.failAt = 1
	_, addr := serve(t, c, simsvc.Options{})
	p := dial(t, addr, simsvc.DialOptions{})
	ctx := testCtx(t)
	must(t, p.Run(ctx))
	p.Init(ctx)
	p.Init(ctx)
	p.Start(ctx)
	if err := p.Step(ctx); err == nil {
		t.Fatal("step 1 should fail")
	}
	u, err := p.WaitFor(ctx, func(u simsvc.Update) bool { return u.Status == simsvc.StatusFailed })
	must(t, err)
	if u.ErrorMessage != "step: diverged at step 1" {
		t.Fatalf("live error_message %q", u.ErrorMessage)
	}
}

// TestCancelWhileWaiting: a lifecycle call waiting for a step in progress
// gives up when its context ends, and status is answered meanwhile.
func TestCancelWhileWaiting(t *testing.T) {
	c := newCounter()
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	c.onStep = func(int) { entered <- struct{}{}; <-release }
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	_, addr := serve(t, c, simsvc.Options{})
	p := dial(t, addr, simsvc.DialOptions{})
	ctx := testCtx(t)
	must(t, p.Run(ctx))
	p.Init(ctx)
	p.Init(ctx)
	p.Start(ctx)
	stepDone := make(chan error, 1)
	go func() { stepDone <- p.Step(ctx) }()
	<-entered
	if st, err := p.Status(ctx); err != nil || st != simsvc.StatusStarted {
		t.Fatalf("status during a step: %s %v", st, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	go cancel()
	if err := p.Steer(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("steer while a step runs, cancelled: %v", err)
	}
	once.Do(func() { close(release) })
	must(t, <-stepDone)
}

// TestPanickingStep: a panic in the service fails the call and the
// simulation; the server serves on.
func TestPanickingStep(t *testing.T) {
	c := newCounter()
	c.onStep = func(n int) {
		if n == 2 {
			panic("index out of range")
		}
	}
	_, addr := serve(t, c, simsvc.Options{})
	p := dial(t, addr, simsvc.DialOptions{})
	ctx := testCtx(t)
	err := simsvc.Execute(ctx, p, simsvc.ExecOptions{Steps: 3, SkipClose: true}, func(int) error { return p.Step(ctx) })
	if err == nil || !strings.Contains(err.Error(), "panic: index out of range") {
		t.Fatalf("Execute: %v", err)
	}
	if msg, _ := p.ErrorMessage(ctx); msg != "step: panic: index out of range" {
		t.Fatalf("error_message %q", msg)
	}
	if st, _ := p.Status(ctx); st != simsvc.StatusStopped {
		t.Fatalf("status %s", st)
	}
}
