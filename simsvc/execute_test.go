package simsvc_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/sigoco/sigoco/simsvc"
)

// TestExecutePhases runs Execute with each phase on and off: the skipped
// leading phases are done by hand first, as a caller would.
func TestExecutePhases(t *testing.T) {
	for skipLead := 0; skipLead <= 3; skipLead++ {
		for _, skipFinish := range []bool{false, true} {
			for _, skipClose := range []bool{false, true} {
				name := fmt.Sprintf("skip%d/finish=%v/close=%v", skipLead, !skipFinish, !skipClose)
				t.Run(name, func(t *testing.T) {
					c := newCounter()
					_, addr := serve(t, c, simsvc.Options{})
					p := dial(t, addr, simsvc.DialOptions{})
					ctx := testCtx(t)
					lead := []func() error{
						func() error { return p.Run(ctx) },
						func() error { p.Init(ctx); _, err := p.Init(ctx); return err },
						func() error { _, err := p.Start(ctx); return err },
					}
					for _, f := range lead[:skipLead] {
						must(t, f())
					}
					opts := simsvc.ExecOptions{SkipRun: skipLead > 0, SkipInit: skipLead > 1, SkipStart: skipLead > 2,
						SkipFinish: skipFinish, SkipClose: skipClose}
					var steps []int
					err := simsvc.Execute(ctx, p, opts, func(step int) error {
						if step == 3 {
							return simsvc.ErrDone
						}
						steps = append(steps, step)
						return p.Step(ctx)
					})
					must(t, err)
					if !slices.Equal(steps, []int{0, 1, 2}) {
						t.Fatalf("body saw steps %v", steps)
					}
					want := []string{"run", "init", "init", "start"}
					if !skipFinish {
						want = append(want, "finish")
					}
					if got := c.Calls(); !slices.Equal(got, want) {
						t.Fatalf("calls %v, want %v", got, want)
					}
					st, err := p.Status(ctx)
					if !skipClose {
						if !errors.Is(err, simsvc.ErrClosed) {
							t.Fatalf("the proxy is still open: %v", err)
						}
						return
					}
					must(t, err)
					want1 := simsvc.StatusFinished
					if skipFinish {
						want1 = simsvc.StatusRunning
					}
					if st != want1 {
						t.Fatalf("status %s, want %s", st, want1)
					}
				})
			}
		}
	}
}

// TestExecuteFailures: the service is stopped and closed on every way
// out: a body error, a phase refused, a cancelled context.
func TestExecuteFailures(t *testing.T) {
	bodyErr := errors.New("analysis failed")
	for _, tc := range []struct {
		name   string
		opts   simsvc.ExecOptions
		body   func(p *simsvc.Proxy, cancel context.CancelFunc) func(int) error
		want   error
		status simsvc.Status // before the close
	}{
		{"body error", simsvc.ExecOptions{}, func(p *simsvc.Proxy, _ context.CancelFunc) func(int) error {
			return func(int) error { return bodyErr }
		}, bodyErr, simsvc.StatusStopped},
		{"init skipped", simsvc.ExecOptions{SkipInit: true}, nil, simsvc.ErrState, simsvc.StatusStopped},
		{"cancelled", simsvc.ExecOptions{}, func(p *simsvc.Proxy, cancel context.CancelFunc) func(int) error {
			return func(int) error { cancel(); return nil }
		}, context.Canceled, simsvc.StatusStopped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCounter()
			s, addr := serve(t, c, simsvc.Options{})
			p := dial(t, addr, simsvc.DialOptions{})
			ctx, cancel := context.WithCancel(testCtx(t))
			defer cancel()
			var body func(int) error
			if tc.body != nil {
				body = tc.body(p, cancel)
			}
			err := simsvc.Execute(ctx, p, tc.opts, body)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Execute: %v, want %v", err, tc.want)
			}
			if st := s.Status(); st != tc.status {
				t.Fatalf("status %s, want %s", st, tc.status)
			}
			if _, err := p.Status(context.Background()); !errors.Is(err, simsvc.ErrClosed) {
				t.Fatalf("the proxy is still open: %v", err)
			}
		})
	}
}

// TestExecuteNilBody: with Steps and no body, Execute steps by itself.
func TestExecuteNilBody(t *testing.T) {
	c := newCounter()
	_, addr := serve(t, c, simsvc.Options{})
	p := dial(t, addr, simsvc.DialOptions{})
	must(t, simsvc.Execute(testCtx(t), p, simsvc.ExecOptions{Steps: 5}, nil))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.steps != 5 {
		t.Fatalf("%d steps, want 5", c.steps)
	}
}
