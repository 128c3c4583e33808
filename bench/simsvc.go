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
// in 11 short alternating rounds, medians:
//
//	simsvc.step.us, simsvc.rpc_call.us
//	simsvc.step.vs_rpc   step time over the rpc call's, the median of the
//	                     rounds' ratios (target ≤ 1.5)
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
	n := 2000
	if cfg.quick {
		n = 300
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
	// Short alternating rounds; the ratio is the median of the rounds'
	// ratios, so a drift of the machine hits both sides alike.
	var steps, calls, ratios []float64
	for range 11 {
		s, err := timeIt(step)
		if err != nil {
			return nil, err
		}
		c, err := timeIt(call)
		if err != nil {
			return nil, err
		}
		steps, calls, ratios = append(steps, s), append(calls, c), append(ratios, s/c)
	}
	med := func(x []float64) float64 { sort.Float64s(x); return x[len(x)/2] }
	s, c, r := med(steps), med(calls), med(ratios)
	return []result{
		{"simsvc.step.us", s, "us"},
		{"simsvc.rpc_call.us", c, "us"},
		{"simsvc.step.vs_rpc", r, "x"},
	}, nil
}
