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

	mu     sync.Mutex // guards c and closed; held while dialling, so one dial at a time
	c      *rpc.Client
	closed bool
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

// Close closes the connection; further calls fail with rpc.ErrClosed.
// It is idempotent.
func (d *Redialer) Close() error {
	d.mu.Lock()
	c := d.c
	d.c, d.closed = nil, true
	d.mu.Unlock()
	if c != nil {
		return c.Close()
	}
	return nil
}
