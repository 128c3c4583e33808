package simsvc_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sigoco/sigoco/simsvc"
)

// TestBeginningStep: current_step starts at Options.BeginningStep and
// the progress counts the steps from there.
func TestBeginningStep(t *testing.T) {
	_, addr := serve(t, newCounter(), simsvc.Options{BeginningStep: 10, Steps: 4})
	p := dial(t, addr, simsvc.DialOptions{})
	ctx := testCtx(t)
	if n, err := p.BeginningStep(ctx); err != nil || n != 10 {
		t.Fatalf("beginning_step: %v %v", n, err)
	}
	if n, err := p.CurrentStep(ctx); err != nil || n != 10 {
		t.Fatalf("current_step before stepping: %v %v", n, err)
	}
	must(t, p.Run(ctx))
	p.Init(ctx)
	p.Init(ctx)
	p.Start(ctx)
	must(t, p.Step(ctx))
	must(t, p.Step(ctx))
	if n, _ := p.CurrentStep(ctx); n != 12 {
		t.Fatalf("current_step after 2 steps: %d, want 12", n)
	}
	if pr, _ := p.Progress(ctx); pr != 50 {
		t.Fatalf("progress after 2 of 4 steps: %v", pr)
	}
	if u, err := p.WaitFor(ctx, func(u simsvc.Update) bool { return u.Step == 12 }); err != nil || u.Progress != 50 {
		t.Fatalf("live: %+v %v", u, err)
	}
}

// TestInsideRunBeginningStep: the inside run does Steps steps from
// BeginningStep.
func TestInsideRunBeginningStep(t *testing.T) {
	_, addr := serve(t, newCounter(), simsvc.Options{InsideRun: true, Steps: 3, BeginningStep: 5})
	p := dial(t, addr, simsvc.DialOptions{})
	ctx := testCtx(t)
	must(t, p.Run(ctx))
	if _, err := p.WaitFor(ctx, func(u simsvc.Update) bool { return u.Progress == 100 }); err != nil {
		t.Fatal(err)
	}
	must(t, p.Finish(ctx))
	if n, _ := p.CurrentStep(ctx); n != 8 {
		t.Fatalf("current_step %d, want 8", n)
	}
}

// TestSetSimName: the simulation's name changes after construction (from
// the server, the Host and the wire); the target keeps its name.
func TestSetSimName(t *testing.T) {
	s, addr := serve(t, newCounter(), simsvc.Options{Name: "counter"})
	p := dial(t, addr, simsvc.DialOptions{})
	ctx := testCtx(t)
	if n, err := p.SimName(ctx); err != nil || n != "counter" {
		t.Fatalf("sim_name: %q %v", n, err)
	}
	must(t, s.Host().SetSimName("diffusion A"))
	if n, _ := p.SimName(ctx); n != "diffusion A" {
		t.Fatalf("sim_name after SetSimName: %q", n)
	}
	must(t, p.SetSimName(ctx, "diffusion B"))
	if s.SimName() != "diffusion B" || p.Name() != "counter" {
		t.Fatalf("SimName %q, target %q", s.SimName(), p.Name())
	}
	if u, err := p.WaitFor(ctx, func(u simsvc.Update) bool { return u.SimName == "diffusion B" }); err != nil || u.Name != "counter" {
		t.Fatalf("live: %+v %v", u, err)
	}
	if err := s.SetSimName(""); err == nil {
		t.Fatal("an empty sim name was accepted")
	}
}

// selfStarting turns the inside run on from its own Run.
type selfStarting struct{ *counter }

func (s selfStarting) Run(ctx context.Context) error {
	if err := simsvc.HostFrom(ctx).SetInsideRun(true); err != nil {
		return err
	}
	return s.counter.Run(ctx)
}

// TestSetInsideRun: the inside run can be turned on after construction
// (by the service's Run here) and not once the service is loaded.
func TestSetInsideRun(t *testing.T) {
	s, addr := serve(t, selfStarting{newCounter()}, simsvc.Options{Steps: 3})
	p := dial(t, addr, simsvc.DialOptions{})
	ctx := testCtx(t)
	must(t, p.Run(ctx))
	if _, err := p.WaitFor(ctx, func(u simsvc.Update) bool { return u.Step == 3 }); err != nil {
		t.Fatal(err)
	}
	var se *simsvc.StateError
	if err := s.SetInsideRun(false); !errors.As(err, &se) || se.Status != simsvc.StatusRunning {
		t.Fatalf("SetInsideRun while running: %v", err)
	}
	must(t, p.Finish(ctx))

	// Turned off before run: the client drives.
	s2, addr2 := serve(t, newCounter(), simsvc.Options{InsideRun: true})
	must(t, s2.SetInsideRun(false))
	p2 := dial(t, addr2, simsvc.DialOptions{})
	must(t, p2.Run(ctx))
	p2.Init(ctx)
	if ok, err := p2.Init(ctx); !ok || err != nil {
		t.Fatalf("init with the inside run turned off: %v %v", ok, err)
	}
}
