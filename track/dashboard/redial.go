package dashboard

import (
	"context"
	"errors"
	"sync"

	"github.com/sigoco/sigoco/rpc"
)

// Redialer is a Caller that keeps one rpc client of the target "tracker"
// at Addr: dialled on the first call, and dialled again on the next call
// after its connection was lost (a call that fails on a lost connection
// returns that error; the dashboard shows it, the user retries).
type Redialer struct {
	addr   string
	target string
	opts   rpc.ClientOptions

	mu       sync.Mutex // guards c, closed and siblings; held while dialling, so one dial at a time
	c        *rpc.Client
	closed   bool
	siblings map[string]*Redialer // For's, closed by Close
}

// For returns a Redialer of another target of the same server (same
// address and options), made once per target and closed by d's Close.
// For(d's own target) is d.
func (d *Redialer) For(target string) *Redialer {
	if target == "" {
		target = "tracker"
	}
	if target == d.target {
		return d
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.siblings[target]; ok {
		return s
	}
	s := NewRedialer(d.addr, target, d.opts)
	if d.closed {
		s.Close()
	}
	if d.siblings == nil {
		d.siblings = map[string]*Redialer{}
	}
	d.siblings[target] = s
	return s
}

// NewRedialer returns a Redialer of the rpc target at addr (host:port);
// target "" means "tracker". No connection is made until the first call.
func NewRedialer(addr, target string, opts rpc.ClientOptions) *Redialer {
	if target == "" {
		target = "tracker"
	}
	return &Redialer{addr: addr, target: target, opts: opts}
}

func (d *Redialer) client(ctx context.Context) (*rpc.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, rpc.ErrClosed
	}
	if d.c != nil {
		return d.c, nil
	}
	c, err := rpc.Dial(ctx, d.addr, d.target, d.opts)
	if err != nil {
		return nil, err
	}
	d.c = c
	return c, nil
}

// Call calls method on the target.
func (d *Redialer) Call(ctx context.Context, method string, args ...any) (any, error) {
	c, err := d.client(ctx)
	if err != nil {
		return nil, err
	}
	res, err := c.Call(ctx, method, args...)
	var re *rpc.RemoteError
	if err != nil && !errors.As(err, &re) && ctx.Err() == nil {
		// The connection is broken (or the server closed it): drop it so
		// that the next call dials again.
		d.mu.Lock()
		if d.c == c {
			d.c = nil
		}
		d.mu.Unlock()
		c.Close()
	}
	return res, err
}

// Close closes the connection (and those of For's Redialers); further
// calls fail with rpc.ErrClosed. It is idempotent.
func (d *Redialer) Close() error {
	d.mu.Lock()
	c := d.c
	d.c, d.closed = nil, true
	sibs := make([]*Redialer, 0, len(d.siblings))
	for _, s := range d.siblings {
		sibs = append(sibs, s)
	}
	d.mu.Unlock()
	for _, s := range sibs {
		s.Close()
	}
	if c != nil {
		return c.Close()
	}
	return nil
}
