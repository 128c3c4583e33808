package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"time"

	"github.com/sigoco/sigoco/simsvc"
)

// The simsvc suite times one empty Step through the proxy of a spawned
// service process (simsvc.step.us) against one plain rpc call on the same
// connection to the same process, the status query (simsvc.rpc_call.us),
// in alternating rounds, medians of 5:
//
//	simsvc.step.us, simsvc.rpc_call.us
//	simsvc.step.vs_rpc   step time over the rpc call's (target ≤ 1.5)
//
// The child is this program, started with benchSimsvcChild set: init
// below serves the empty service and exits before main runs.
func init() {
	if os.Getenv(benchSimsvcChild) == "1" {
		err := simsvc.ServeChild(context.Background(), emptyService{}, simsvc.Options{Name: "empty"})
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench simsvc child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	register("simsvc", benchSimsvc)
}

const benchSimsvcChild = "SIGOCO_BENCH_SIMSVC_CHILD"

// emptyService does nothing in each phase.
type emptyService struct{}

func (emptyService) Run(context.Context) error           { return nil }
func (emptyService) Init(context.Context) (bool, error)  { return true, nil }
func (emptyService) Start(context.Context) (bool, error) { return true, nil }
func (emptyService) Step(context.Context) error          { return nil }
func (emptyService) Finish(context.Context) error        { return nil }
func (emptyService) Stop(context.Context, bool) error    { return nil }

func benchSimsvc(cfg config) ([]result, error) {
	n := 5000
	if cfg.quick {
		n = 1000
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), benchSimsvcChild+"=1")
	p, err := simsvc.Spawn(ctx, cmd, simsvc.SpawnOptions{})
	if err != nil {
		return nil, err
	}
	defer p.Close()
	if err := simsvc.Execute(ctx, p, simsvc.ExecOptions{SkipFinish: true, SkipClose: true}, nil); err != nil {
		return nil, err
	}
	step := func() error { return p.Step(ctx) }
	var st string
	call := func() error { return p.Client().CallInto(ctx, &st, "status") }
	timeIt := func(f func() error) (float64, error) {
		start := time.Now()
		for i := 0; i < n; i++ {
			if err := f(); err != nil {
				return 0, err
			}
		}
		return float64(time.Since(start).Microseconds()) / float64(n), nil
	}
	if _, err := timeIt(step); err != nil { // warm up
		return nil, err
	}
	var steps, calls []float64
	for range 5 {
		s, err := timeIt(step)
		if err != nil {
			return nil, err
		}
		c, err := timeIt(call)
		if err != nil {
			return nil, err
		}
		steps, calls = append(steps, s), append(calls, c)
	}
	sort.Float64s(steps)
	sort.Float64s(calls)
	s, c := steps[2], calls[2]
	return []result{
		{"simsvc.step.us", s, "us"},
		{"simsvc.rpc_call.us", c, "us"},
		{"simsvc.step.vs_rpc", s / c, "x"},
	}, nil
}
