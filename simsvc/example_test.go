package simsvc_test

import (
	"context"
	"fmt"
	"net"

	"github.com/sigoco/sigoco/simsvc"
)

// decay halves its value every step.
type decay struct{ v float64 }

func (d *decay) Run(ctx context.Context) error { d.v = 1; return nil }
func (d *decay) Init(ctx context.Context) (bool, error) {
	// A service function, available from now on.
	err := simsvc.Register(ctx, "value", func() float64 { return d.v })
	return err == nil, err
}
func (d *decay) Start(ctx context.Context) (bool, error)   { return true, nil }
func (d *decay) Step(ctx context.Context) error            { d.v /= 2; return nil }
func (d *decay) Finish(ctx context.Context) error          { return nil }
func (d *decay) Stop(ctx context.Context, term bool) error { return nil }

// A service served on a loopback port and driven through its lifecycle
// by Execute. In a real program the service runs in its own process:
// Spawn starts it, ServeChild serves it there.
func Example() {
	ctx := context.Background()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv, _ := simsvc.NewServer(&decay{}, simsvc.Options{Name: "decay"})
	go srv.Serve(ctx, ln)
	defer srv.Close()

	p, err := simsvc.Dial(ctx, ln.Addr().String(), simsvc.DialOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = simsvc.Execute(ctx, p, simsvc.ExecOptions{Steps: 3, SkipClose: true}, func(step int) error {
		if err := p.Step(ctx); err != nil {
			return err
		}
		v, err := p.Call(ctx, "value")
		fmt.Println("step", step+1, "value", v)
		return err
	})
	st, _ := p.Status(ctx)
	fmt.Println(st, err)
	// A lifecycle call out of order:
	fmt.Println(p.Step(ctx))
	p.Close()
	// Output:
	// step 1 value 0.5
	// step 2 value 0.25
	// step 3 value 0.125
	// SIM_FINISHED <nil>
	// simsvc: step not allowed in state SIM_FINISHED (the simulation has ended)
}
