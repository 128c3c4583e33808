package simsvc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/syncstruct"
)

// DialOptions configures Dial (and the proxy Spawn returns). The zero value
// is valid.
type DialOptions struct {
	// Target is the service's name (Options.Name). Default: the server's
	// only target.
	Target string
	// TLS, if set, makes the connections TLS. Default: plain TCP.
	TLS *tls.Config
	// HandshakeTimeout bounds the handshake when the Dial context has no
	// deadline. Default wire.DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// MaxFrameSize bounds one rpc message. Default wire.DefaultMaxFrameSize.
	MaxFrameSize int
	// OnUpdate, if set, is called with the live status after every change
	// (status, step, progress, error message, functions, properties),
	// from the status subscription, one call at a time. Without it the
	// subscription starts with the first Watch or WaitFor.
	OnUpdate func(Update)
	// Logger receives the proxy's records (the subscription's, and a
	// spawned child's output). Default: records are discarded.
	Logger *slog.Logger
}

// Update is the live status of a service, as its status notifier
// publishes it.
type Update struct {
	Name         string
	SimName      string // Server.SetSimName; Name until then
	Status       Status
	Step         int
	Progress     float64
	ErrorMessage string
	Functions    []string
	Properties   []string
}

// Proxy drives a service over the network: SimService's client-side
// proxy. It is safe for concurrent use; lifecycle calls from several
// goroutines take turns on the service side.
type Proxy struct {
	c    *rpc.Client
	addr string
	name string
	opts DialOptions

	mu      sync.Mutex // guards sub, last, waiters and closed
	sub     *syncstruct.Subscriber
	last    Update
	synced  bool
	waiters map[chan struct{}]struct{}
	closed  bool

	child       *child // set by Spawn
	processName string // set by Manager.Spawn
	onClose     func() // set by Manager.Spawn
	closeOnce   sync.Once
	closeErr    error
}

// Dial connects to the service served at addr ("host:port").
func Dial(ctx context.Context, addr string, opts DialOptions) (*Proxy, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c, err := rpc.Dial(ctx, addr, opts.Target, rpc.ClientOptions{
		TLS: opts.TLS, MaxFrameSize: opts.MaxFrameSize, HandshakeTimeout: opts.HandshakeTimeout,
		Logger: opts.Logger, Protocol: rpc.ProtocolNative,
	})
	if err != nil {
		return nil, fmt.Errorf("simsvc: %w", err)
	}
	p := &Proxy{c: c, addr: addr, name: c.Target(), opts: opts, waiters: map[chan struct{}]struct{}{}}
	if opts.OnUpdate != nil {
		if err := p.watch(); err != nil {
			c.Close()
			return nil, err
		}
	}
	return p, nil
}

// Name returns the service's name (its rpc target).
func (p *Proxy) Name() string { return p.name }

// ProcessName returns the name a Manager gave the process ("heat-2"), or
// "" for a proxy that no Manager spawned.
func (p *Proxy) ProcessName() string { return p.processName }

// Pid returns the process id of a spawned service, or 0 for a proxy that
// Spawn did not start.
func (p *Proxy) Pid() int {
	if p.child == nil {
		return 0
	}
	return p.child.cmd.Process.Pid
}

// Client returns the rpc client the proxy calls through.
func (p *Proxy) Client() *rpc.Client { return p.c }

// call calls method and turns remote state errors back into *StateError
// and a lost connection to a dead child into its exit.
func (p *Proxy) call(ctx context.Context, result any, method string, args ...any) error {
	err := p.c.CallInto(ctx, result, method, args...)
	if err == nil {
		return nil
	}
	return p.explain(err)
}

func (p *Proxy) explain(err error) error {
	var re *rpc.RemoteError
	if errors.As(err, &re) {
		return fromRemote(err)
	}
	if p.child != nil && errors.Is(err, rpc.ErrClosed) {
		if exit := p.child.exitedWithin(time.Second); exit != nil {
			return fmt.Errorf("%w (%w)", exit, err)
		}
	}
	return err
}

// Run loads the simulation (REGISTERED → SIM_LOADED).
func (p *Proxy) Run(ctx context.Context) error { return p.call(ctx, nil, "run") }

// Init initializes it; false means "call Init again".
func (p *Proxy) Init(ctx context.Context) (bool, error) {
	var ok bool
	err := p.call(ctx, &ok, "init")
	return ok, err
}

// Start starts it; false means "call Start again".
func (p *Proxy) Start(ctx context.Context) (bool, error) {
	var ok bool
	err := p.call(ctx, &ok, "start")
	return ok, err
}

// Step executes one step.
func (p *Proxy) Step(ctx context.Context) error { return p.call(ctx, nil, "step") }

// Steer signals the service to apply steering.
func (p *Proxy) Steer(ctx context.Context) error { return p.call(ctx, nil, "steer") }

// Finish finishes the simulation (→ SIM_FINISHED).
func (p *Proxy) Finish(ctx context.Context) error { return p.call(ctx, nil, "finish") }

// Stop stops the simulation: SIM_STOPPED when terminate, SIM_FINISHED
// (SimService's stop(terminate_sim=False)) otherwise.
func (p *Proxy) Stop(ctx context.Context, terminate bool) error {
	return p.call(ctx, nil, "stop", rpc.Kwargs{"terminate_sim": terminate})
}

// Status returns the service's status, asked of the service.
func (p *Proxy) Status(ctx context.Context) (Status, error) {
	var s string
	err := p.call(ctx, &s, "status")
	return Status(s), err
}

// CurrentStep returns the current step: BeginningStep plus the steps done.
func (p *Proxy) CurrentStep(ctx context.Context) (int, error) {
	var n int
	err := p.call(ctx, &n, "current_step")
	return n, err
}

// BeginningStep returns the first step's number (Options.BeginningStep).
func (p *Proxy) BeginningStep(ctx context.Context) (int, error) {
	var n int
	err := p.call(ctx, &n, "beginning_step")
	return n, err
}

// SimName returns the simulation's name (Server.SetSimName).
func (p *Proxy) SimName(ctx context.Context) (string, error) {
	var s string
	err := p.call(ctx, &s, "sim_name")
	return s, err
}

// SetSimName names the simulation (Server.SetSimName).
func (p *Proxy) SetSimName(ctx context.Context, name string) error {
	return p.call(ctx, nil, "set_sim_name", name)
}

// ErrorMessage returns the error that failed the simulation, or "".
func (p *Proxy) ErrorMessage(ctx context.Context) (string, error) {
	var s string
	err := p.call(ctx, &s, "error_message")
	return s, err
}

// Progress returns the progress, 0-100.
func (p *Proxy) Progress(ctx context.Context) (float64, error) {
	var f float64
	err := p.call(ctx, &f, "progress")
	return f, err
}

// ProfilerReport returns the text report of where the service spent its
// CPU since it was served.
func (p *Proxy) ProfilerReport(ctx context.Context) (string, error) {
	var s string
	err := p.call(ctx, &s, "profiler_report")
	return s, err
}

// Profile returns the raw CPU profile of the service's process (pprof's
// format).
func (p *Proxy) Profile(ctx context.Context) ([]byte, error) {
	var b []byte
	err := p.call(ctx, &b, "profile")
	return b, err
}

// Call calls the service function name with args (a trailing rpc.Kwargs
// for keyword arguments); see rpc.Client.Call for the types of the
// result. A function the service has not registered (yet) fails with
// ErrNotAvailable.
func (p *Proxy) Call(ctx context.Context, name string, args ...any) (any, error) {
	res, err := p.c.Call(ctx, name, args...)
	return res, p.funcErr(name, err)
}

// CallInto is Call with the result decoded into result (a pointer).
func (p *Proxy) CallInto(ctx context.Context, result any, name string, args ...any) error {
	return p.funcErr(name, p.c.CallInto(ctx, result, name, args...))
}

func (p *Proxy) funcErr(name string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, rpc.ErrUnknownMethod) {
		return fmt.Errorf("%w: %q is not registered by service %q (yet): %w", ErrNotAvailable, name, p.name, err)
	}
	return p.explain(err)
}

// Functions describes the service functions registered so far, with
// their signatures and docs.
func (p *Proxy) Functions(ctx context.Context) ([]rpc.MethodInfo, error) {
	var names []string
	if err := p.call(ctx, &names, "service_functions"); err != nil {
		return nil, err
	}
	info, err := p.c.ListMethods(ctx)
	if err != nil {
		return nil, p.explain(err)
	}
	var out []rpc.MethodInfo
	for _, m := range info.Methods {
		if slices.Contains(names, m.Name) {
			out = append(out, m)
		}
	}
	return out, nil
}

// Properties lists the service's properties with their types.
func (p *Proxy) Properties(ctx context.Context) ([]PropertyInfo, error) {
	var out []PropertyInfo
	err := p.call(ctx, &out, "properties")
	return out, err
}

// Get returns the value of property name (see rpc.Client.Call for the
// types).
func (p *Proxy) Get(ctx context.Context, name string) (any, error) {
	res, err := p.c.Call(ctx, "get_"+name)
	return res, p.propErr(name, err)
}

// GetInto decodes the value of property name into v (a pointer).
func (p *Proxy) GetInto(ctx context.Context, name string, v any) error {
	return p.propErr(name, p.c.CallInto(ctx, v, "get_"+name))
}

// Set sets property name to v.
func (p *Proxy) Set(ctx context.Context, name string, v any) error {
	return p.propErr(name, p.c.CallInto(ctx, nil, "set_"+name, v))
}

func (p *Proxy) propErr(name string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, rpc.ErrUnknownMethod) {
		return fmt.Errorf("%w: service %q has no property %q (or it is read-only): %w", ErrNotAvailable, p.name, name, err)
	}
	return p.explain(err)
}

// Close closes the connection; for a spawned service it also ends the
// child process (SimService's close_service; see Spawn). Idempotent.
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		sub := p.sub
		for w := range p.waiters {
			close(w)
			delete(p.waiters, w)
		}
		p.mu.Unlock()
		if sub != nil {
			sub.Close()
		}
		p.c.Close()
		if p.child != nil {
			p.closeErr = p.child.stop()
		}
		if p.onClose != nil {
			p.onClose()
		}
	})
	return p.closeErr
}
