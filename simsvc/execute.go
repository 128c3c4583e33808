package simsvc

import (
	"context"
	"errors"
	"time"
)

// ErrDone, returned by the body of Execute, ends the stepping normally.
var ErrDone = errors.New("simsvc: done stepping")

// ExecOptions selects the phases of Execute (SimService's
// ExecutionContext flags). The zero value runs every phase.
type ExecOptions struct {
	SkipRun    bool // the service is already loaded
	SkipInit   bool // … already initialized
	SkipStart  bool // … already started
	SkipFinish bool // leave it running (or let the body end it)
	SkipClose  bool // keep the proxy (and a spawned process) open
	// Steps, if > 0, is how many times body is called (a nil body: how
	// many times Execute calls Step); otherwise body is called until it
	// returns ErrDone (a nil body: no stepping).
	Steps int
	// RetryDelay is the pause before init or start is called again after
	// "not yet" (false). Default 1 ms.
	RetryDelay time.Duration
}

// Execute runs a service's lifecycle: run, init (again until it says
// true), start (likewise), then body(0), body(1), … (the caller's
// stepping: usually p.Step, maybe steering or reading properties), then
// finish, then Proxy.Close — each phase but the body optional. The proxy
// is closed on every path out (unless SkipClose): when a phase or the
// body fails, or ctx ends, Execute stops the simulation (stop,
// terminate_sim=True) if it is under way, closes, and returns the error
// (joined with any error of stopping or closing).
func Execute(ctx context.Context, p *Proxy, opts ExecOptions, body func(step int) error) (err error) {
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = time.Millisecond
	}
	started := false // the simulation is under way: stop it on failure
	defer func() {
		if err != nil && started {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if st, serr := p.Status(sctx); serr == nil && (st == StatusFailed || st != StatusRegistered && !st.Ended()) {
				if serr := p.Stop(sctx, true); serr != nil {
					err = errors.Join(err, serr)
				}
			}
			cancel()
		}
		if !opts.SkipClose {
			if cerr := p.Close(); cerr != nil {
				err = errors.Join(err, cerr)
			}
		}
	}()
	if !opts.SkipRun {
		if err := p.Run(ctx); err != nil {
			return err
		}
	}
	started = true
	for _, phase := range []struct {
		skip bool
		call func(context.Context) (bool, error)
	}{{opts.SkipInit, p.Init}, {opts.SkipStart, p.Start}} {
		if phase.skip {
			continue
		}
		for {
			ok, err := phase.call(ctx)
			if err != nil {
				return err
			}
			if ok {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(opts.RetryDelay):
			}
		}
	}
	for step := 0; opts.Steps <= 0 || step < opts.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if body == nil {
			if opts.Steps <= 0 {
				break
			}
			if err := p.Step(ctx); err != nil {
				return err
			}
			continue
		}
		if err := body(step); errors.Is(err, ErrDone) {
			break
		} else if err != nil {
			return err
		}
	}
	if !opts.SkipFinish {
		if err := p.Finish(ctx); err != nil {
			return err
		}
	}
	return nil
}
