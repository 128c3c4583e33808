package simsvc_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"

	"github.com/sigoco/sigoco/simsvc"
)

// TestInsideRun: a service that steps by itself after run, until stop;
// the client follows it through the live status and cannot step it.
func TestInsideRun(t *testing.T) {
	c := newCounter()
	_, addr := serve(t, c, simsvc.Options{InsideRun: true})
	p := dial(t, addr, simsvc.DialOptions{})
	ctx := testCtx(t)
	must(t, p.Run(ctx))
	u, err := p.WaitFor(ctx, func(u simsvc.Update) bool { return u.Step >= 20 })
	must(t, err)
	if u.Status != simsvc.StatusRunning {
		t.Fatalf("status %s while stepping by itself", u.Status)
	}
	wantState(t, p.Step(ctx), "step", simsvc.StatusRunning)
	must(t, p.Set(ctx, "rate", 0.0)) // properties and steering go between steps
	must(t, p.Steer(ctx))
	must(t, p.Stop(ctx, true))
	st, _ := p.Status(ctx)
	n1, _ := p.CurrentStep(ctx)
	if st != simsvc.StatusStopped {
		t.Fatalf("status %s after stop", st)
	}
	// It has stopped stepping.
	n2, _ := p.CurrentStep(ctx)
	if n1 != n2 {
		t.Fatalf("stepping went on after stop: %d then %d", n1, n2)
	}
}

// TestInsideRunSteps: with Options.Steps it stops stepping by itself
// after that many and waits for finish.
func TestInsideRunSteps(t *testing.T) {
	_, addr := serve(t, newCounter(), simsvc.Options{InsideRun: true, Steps: 5})
	p := dial(t, addr, simsvc.DialOptions{})
	ctx := testCtx(t)
	must(t, p.Run(ctx))
	if _, err := p.WaitFor(ctx, func(u simsvc.Update) bool { return u.Progress == 100 }); err != nil {
		t.Fatal(err)
	}
	must(t, p.Finish(ctx))
	if n, _ := p.CurrentStep(ctx); n != 5 {
		t.Fatalf("%d steps, want 5", n)
	}
}

// TestParallelServices: several services stepped concurrently from one
// client program.
func TestParallelServices(t *testing.T) {
	const n, steps = 4, 25
	var proxies []*simsvc.Proxy
	var counters []*counter
	for range n {
		c := newCounter()
		_, addr := serve(t, c, simsvc.Options{})
		proxies = append(proxies, dial(t, addr, simsvc.DialOptions{}))
		counters = append(counters, c)
	}
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, p := range proxies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = simsvc.Execute(ctx, p, simsvc.ExecOptions{Steps: steps}, func(int) error { return p.Step(ctx) })
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("service %d: %v", i, err)
		}
		counters[i].mu.Lock()
		if counters[i].steps != steps {
			t.Errorf("service %d did %d steps", i, counters[i].steps)
		}
		counters[i].mu.Unlock()
	}
}

// recorder records what a Server tells it, as a tracker would.
type recorder struct {
	mu        sync.Mutex
	statuses  []simsvc.Status
	msgs      []string
	steps     []int64
	progress  []float64
	exposed   []string
	artifacts map[string][]byte
}

func (r *recorder) SetStatus(s simsvc.Status, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statuses = append(r.statuses, s)
	r.msgs = append(r.msgs, msg)
}
func (r *recorder) SetStep(n int64) { r.mu.Lock(); r.steps = append(r.steps, n); r.mu.Unlock() }
func (r *recorder) SetProgress(p float64) {
	r.mu.Lock()
	r.progress = append(r.progress, p)
	r.mu.Unlock()
}
func (r *recorder) Expose(name string, obj any) error {
	r.mu.Lock()
	r.exposed = append(r.exposed, name)
	r.mu.Unlock()
	return nil
}
func (r *recorder) LogArtifactReader(name string, rd io.Reader) error {
	b, err := io.ReadAll(rd)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.artifacts == nil {
		r.artifacts = map[string][]byte{}
	}
	r.artifacts[name] = b
	return err
}

// TestRecorder: status, step and progress follow the lifecycle; the
// service is exposed; the profiler report is stored at finish.
func TestRecorder(t *testing.T) {
	rec := &recorder{}
	_, addr := serve(t, newCounter(), simsvc.Options{Name: "counter", Steps: 2, Recorder: rec})
	p := dial(t, addr, simsvc.DialOptions{})
	ctx := testCtx(t)
	must(t, simsvc.Execute(ctx, p, simsvc.ExecOptions{Steps: 2, SkipClose: true}, func(int) error { return p.Step(ctx) }))
	rec.mu.Lock()
	defer rec.mu.Unlock()
	want := []simsvc.Status{simsvc.StatusRegistered, simsvc.StatusLoaded, simsvc.StatusInitialized,
		simsvc.StatusStarted, simsvc.StatusRunning, simsvc.StatusFinished}
	if !slices.Equal(rec.statuses, want) || !slices.Equal(rec.steps, []int64{1, 2}) ||
		!slices.Equal(rec.progress, []float64{50, 100}) || !slices.Equal(rec.exposed, []string{"counter"}) {
		t.Fatalf("recorded %+v", rec)
	}
	if len(rec.artifacts["profiler_report.txt"]) == 0 || len(rec.artifacts["cpu.pprof"]) == 0 {
		t.Fatalf("artifacts %v", slices.Collect(func(yield func(string) bool) {
			for k := range rec.artifacts {
				yield(k)
			}
		}))
	}
}

// trackStatus and trackRun stand in for track.Status and *track.Run (the
// same method set), to test TrackRun's adapter without importing track.
type trackStatus string

type trackRun struct{ recorder }

func (r *trackRun) SetStatus(s trackStatus, msg ...string) {
	m := ""
	if len(msg) > 0 {
		m = msg[0]
	}
	r.recorder.SetStatus(simsvc.Status(s), m)
}

func TestTrackRun(t *testing.T) {
	run := &trackRun{}
	rec := simsvc.TrackRun(run) // S inferred from the method set
	c := newCounter()
	c.failAt = 1
	_, addr := serve(t, c, simsvc.Options{Recorder: rec})
	p := dial(t, addr, simsvc.DialOptions{})
	ctx := testCtx(t)
	err := simsvc.Execute(ctx, p, simsvc.ExecOptions{Steps: 1, SkipClose: true}, func(int) error { return p.Step(ctx) })
	if err == nil {
		t.Fatal("the step should fail")
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	// Execute stops the failed simulation (SIM_STOPPED), but a failed run
	// stays failed: the recorder is not told.
	want := []simsvc.Status{"registered", "loaded", "initialized", "started", "failed"}
	if !slices.Equal(run.statuses, want) {
		t.Fatalf("track statuses %v, want %v", run.statuses, want)
	}
	if run.msgs[4] != "step: diverged at step 1" {
		t.Fatalf("failure message %q", run.msgs[4])
	}
}

// TestClosedProxy: calls on a closed proxy fail, WaitFor included.
func TestClosedProxy(t *testing.T) {
	_, addr := serve(t, newCounter(), simsvc.Options{})
	p := dial(t, addr, simsvc.DialOptions{})
	ctx := testCtx(t)
	done := make(chan error, 1)
	go func() {
		_, err := p.WaitFor(ctx, func(simsvc.Update) bool { return false })
		done <- err
	}()
	if _, err := p.WaitFor(ctx, func(u simsvc.Update) bool { return u.Status != "" }); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if err := <-done; !errors.Is(err, simsvc.ErrClosed) {
		t.Fatalf("WaitFor across Close: %v", err)
	}
	if err := p.Run(ctx); !errors.Is(err, simsvc.ErrClosed) {
		t.Fatalf("Run after Close: %v", err)
	}
	_ = context.Background
}
