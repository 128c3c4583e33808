package rpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/sigoco/sigoco/wire"
)

// BestEffortOptions configures a BestEffortClient. The zero value is valid.
type BestEffortOptions struct {
	// ClientOptions configure each connection; its HandshakeTimeout also
	// bounds each whole connection attempt (dial and handshake). Default
	// wire.DefaultHandshakeTimeout.
	ClientOptions
	// RetryInterval is the pause between connection attempts while the
	// server is down. Default 5 s.
	RetryInterval time.Duration
}

// BestEffortClient is a client for servers that may be down, like
// SiPyCo's: while the server is unreachable, calls return ErrUnavailable
// at once (they never block and never return a silent nil), and the
// client reconnects in the background every RetryInterval until it
// succeeds. It is safe for concurrent use.
type BestEffortClient struct {
	addr, target string
	opts         BestEffortOptions

	mu           sync.Mutex // guards the fields below, up to stop
	c            *Client    // nil while down
	lastErr      error
	closed       bool
	reconnecting bool
	cancelDial   context.CancelFunc // of the attempt in progress
	stop         chan struct{}
	wg           sync.WaitGroup
}

// NewBestEffortClient tries to connect to target at addr once, for at most
// HandshakeTimeout (and while ctx lasts), and returns a client either way; if
// that attempt failed it keeps trying in the background.
func NewBestEffortClient(ctx context.Context, addr, target string, opts BestEffortOptions) *BestEffortClient {
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = wire.DefaultHandshakeTimeout
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = 5 * time.Second
	}
	b := &BestEffortClient{addr: addr, target: target, opts: opts, stop: make(chan struct{})}
	dctx, cancel := context.WithTimeout(ctx, opts.HandshakeTimeout)
	c, err := Dial(dctx, addr, target, opts.ClientOptions)
	cancel()
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		b.lastErr = err
		b.reconnectLocked()
	} else {
		b.c = c
	}
	return b
}

func (b *BestEffortClient) client() (*Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return nil, ErrClosed
	case b.c == nil:
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, b.lastErr)
	}
	return b.c, nil
}

// Call is Client.Call, or ErrUnavailable at once while the server is down.
// The call that finds the connection lost fails with an error matching
// both ErrUnavailable and the cause.
func (b *BestEffortClient) Call(ctx context.Context, method string, args ...any) (any, error) {
	c, err := b.client()
	if err != nil {
		return nil, err
	}
	res, err := c.Call(ctx, method, args...)
	return res, b.check(c, err)
}

// CallInto is Client.CallInto, or ErrUnavailable at once while the server
// is down.
func (b *BestEffortClient) CallInto(ctx context.Context, result any, method string, args ...any) error {
	c, err := b.client()
	if err != nil {
		return err
	}
	return b.check(c, c.CallInto(ctx, result, method, args...))
}

// check notices a lost connection and starts reconnecting.
func (b *BestEffortClient) check(c *Client, err error) error {
	if err == nil || !errors.Is(err, net.ErrClosed) {
		return err
	}
	b.mu.Lock()
	if b.c == c {
		b.c = nil
		b.lastErr = err
		b.reconnectLocked()
	}
	closed := b.closed
	b.mu.Unlock()
	c.Close()
	if closed {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

func (b *BestEffortClient) reconnectLocked() {
	if b.reconnecting || b.closed {
		return
	}
	b.reconnecting = true
	b.wg.Add(1)
	go b.reconnect()
}

func (b *BestEffortClient) reconnect() {
	defer b.wg.Done()
	t := time.NewTimer(b.opts.RetryInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-b.stop:
			return
		}
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), b.opts.HandshakeTimeout)
		b.cancelDial = cancel
		b.mu.Unlock()
		c, err := Dial(ctx, b.addr, b.target, b.opts.ClientOptions)
		cancel()
		b.mu.Lock()
		b.cancelDial = nil
		switch {
		case b.closed:
			b.mu.Unlock()
			if c != nil {
				c.Close()
			}
			return
		case err == nil:
			b.c = c
			b.reconnecting = false
			b.mu.Unlock()
			return
		}
		b.lastErr = err
		b.mu.Unlock()
		t.Reset(b.opts.RetryInterval)
	}
}

// Close stops reconnecting and closes the connection. It is idempotent.
func (b *BestEffortClient) Close() error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.stop)
		if b.cancelDial != nil {
			b.cancelDial()
		}
	}
	c := b.c
	b.c = nil
	b.mu.Unlock()
	b.wg.Wait()
	if c != nil {
		c.Close()
	}
	return nil
}
