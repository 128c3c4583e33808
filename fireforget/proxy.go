package fireforget

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Caller is a target that dispatches calls by name itself, such as
// *rpc.Client and *rpc.BestEffortClient.
type Caller interface {
	Call(ctx context.Context, method string, args ...any) (any, error)
}

// Policy decides what becomes of a call made while another one runs.
type Policy int

const (
	// DropWhileBusy runs a call only if nothing is running; otherwise the
	// call is dropped with a warning (SiPyCo's FFProxy).
	DropWhileBusy Policy = iota
	// Coalesce keeps the latest call made while one runs and runs it
	// next; a pending call it replaces is dropped (logged at debug level,
	// since replacing is the point).
	Coalesce
	// Queue keeps up to Options.QueueSize calls made while one runs and
	// runs them in order; a call beyond that is dropped with a warning.
	Queue
)

func (p Policy) String() string {
	switch p {
	case DropWhileBusy:
		return "drop-while-busy"
	case Coalesce:
		return "coalesce"
	case Queue:
		return "queue"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// Options configures a Proxy. The zero value works.
type Options struct {
	// Policy for calls made while one runs. Default DropWhileBusy.
	Policy Policy
	// QueueSize bounds the pending calls of the Queue policy. Default 16.
	QueueSize int
	// Timeout, if positive, is the deadline of each call's context,
	// counted from when it starts running. Default: none.
	Timeout time.Duration
	// Logger receives a warning per dropped call, per error returned by
	// the target and per panic in it. Default: discards.
	Logger *slog.Logger
}

// Stats is a snapshot of a Proxy's counters.
type Stats struct {
	Accepted  uint64 // calls accepted by Call (run or pending)
	Succeeded uint64 // calls that returned without error
	Failed    uint64 // calls that returned an error or panicked
	Dropped   uint64 // calls dropped by the policy or by Close
}

// Proxy runs a target's methods in the background. See the package
// documentation.
type Proxy struct {
	caller  Caller             // set for Caller targets
	methods map[string]*method // set for the others
	opts    Options

	life context.Context // ends at Close; internal, not a caller's context
	stop context.CancelFunc
	wg   sync.WaitGroup
	wake chan struct{}

	accepted, succeeded, failed, dropped atomic.Uint64

	// mu guards pending, busy, idle and closed: the calls waiting, whether
	// one runs, the channel Join waits on and the end of the Proxy.
	// Nothing blocking happens under it (the target runs outside it).
	mu      sync.Mutex
	pending []call
	busy    bool
	idle    chan struct{} // closed when the last call finishes; nil when idle
	closed  bool
}

// call is one accepted call.
type call struct {
	name string
	m    *method         // nil for a Caller target
	in   []reflect.Value // bound arguments (local target)
	args []any           // arguments as given (Caller target)
}

// New returns a Proxy for target and starts its goroutine; Close stops it.
func New(target any, opts Options) (*Proxy, error) {
	if opts.Policy < DropWhileBusy || opts.Policy > Queue {
		return nil, fmt.Errorf("fireforget: unknown policy %d", opts.Policy)
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 16
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{opts: opts, wake: make(chan struct{}, 1)}
	if c, ok := target.(Caller); ok && target != nil {
		p.caller = c
	} else {
		if target == nil {
			return nil, ErrNoTarget
		}
		p.methods = methodTable(reflect.ValueOf(target))
		if len(p.methods) == 0 {
			return nil, fmt.Errorf("%w: %T", ErrNoTarget, target)
		}
	}
	p.life, p.stop = context.WithCancel(context.Background())
	p.wg.Add(1)
	go p.run()
	return p, nil
}

// Call submits a call of method with args and returns at once. It returns
// an error only when the call cannot be made at all: an unknown method,
// arguments that do not fit, or a closed proxy. A call the policy drops
// returns nil; it is logged and counted.
func (p *Proxy) Call(method string, args ...any) error {
	c := call{name: method}
	if p.caller != nil {
		c.args = args
	} else {
		m, ok := p.methods[method]
		if !ok {
			return fmt.Errorf("%w: %q", ErrUnknownMethod, method)
		}
		in, err := m.bind(args)
		if err != nil {
			return err
		}
		c.m, c.in = m, in
	}

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	free := !p.busy && len(p.pending) == 0
	var replaced string
	switch {
	case free:
		p.pending = append(p.pending, c)
		p.idle = make(chan struct{})
	case p.opts.Policy == Coalesce && len(p.pending) > 0:
		replaced = p.pending[0].name
		p.pending[0] = c
	case p.opts.Policy == Coalesce || p.opts.Policy == Queue && len(p.pending) < p.opts.QueueSize:
		p.pending = append(p.pending, c)
	default:
		p.mu.Unlock()
		p.dropped.Add(1)
		p.opts.Logger.Warn("fireforget: call dropped, previous call still running",
			"method", method, "policy", p.opts.Policy.String())
		return nil
	}
	p.mu.Unlock()
	p.accepted.Add(1)
	if replaced != "" {
		p.dropped.Add(1)
		p.opts.Logger.Debug("fireforget: pending call replaced by a newer one", "method", replaced, "by", method)
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return nil
}

// run is the proxy's goroutine.
func (p *Proxy) run() {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		for len(p.pending) == 0 {
			p.mu.Unlock()
			select {
			case <-p.wake:
			case <-p.life.Done():
				return
			}
			p.mu.Lock()
		}
		c := p.pending[0]
		p.pending[0] = call{}
		p.pending = p.pending[1:]
		p.busy = true
		p.mu.Unlock()

		p.execute(c)

		p.mu.Lock()
		p.busy = false
		if len(p.pending) == 0 && p.idle != nil {
			close(p.idle)
			p.idle = nil
		}
		p.mu.Unlock()
	}
}

// execute runs one call and reports its failure, if any.
func (p *Proxy) execute(c call) {
	ctx := p.life
	if p.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.opts.Timeout)
		defer cancel()
	}
	defer func() {
		if r := recover(); r != nil {
			p.failed.Add(1)
			p.opts.Logger.Warn("fireforget: call panicked", "method", c.name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	var err error
	if p.caller != nil {
		_, err = p.caller.Call(ctx, c.name, c.args...)
	} else {
		if c.m.ctx {
			c.in[0] = reflect.ValueOf(ctx)
		}
		out := c.m.fn.Call(c.in)
		if c.m.errOut >= 0 {
			err, _ = out[c.m.errOut].Interface().(error)
		}
	}
	if err != nil {
		p.failed.Add(1)
		p.opts.Logger.Warn("fireforget: call failed", "method", c.name, "err", err)
		return
	}
	p.succeeded.Add(1)
}

// Join waits until no call is running or pending. It returns ctx.Err()
// if ctx ends first (the calls go on).
func (p *Proxy) Join(ctx context.Context) error {
	p.mu.Lock()
	idle := p.idle
	p.mu.Unlock()
	if idle == nil {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close drops the pending calls, cancels the context of the running one,
// waits for it and stops the proxy's goroutine. It is idempotent and
// returns nil.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		p.dropped.Add(uint64(len(p.pending)))
		p.pending = nil
		p.stop()
	}
	p.mu.Unlock()
	p.wg.Wait()
	p.mu.Lock()
	if p.idle != nil { // the goroutine ended with calls dropped: release Join
		close(p.idle)
		p.idle = nil
	}
	p.mu.Unlock()
	return nil
}

// Stats returns the proxy's counters.
func (p *Proxy) Stats() Stats {
	return Stats{
		Accepted:  p.accepted.Load(),
		Succeeded: p.succeeded.Load(),
		Failed:    p.failed.Load(),
		Dropped:   p.dropped.Load(),
	}
}
