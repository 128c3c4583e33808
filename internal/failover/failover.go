// Package failover is how every client of a tracking server takes a list
// of servers (trackd nodes on one PostgreSQL database, docs/scaling.md):
// it talks to one at a time and, when that one cannot be reached, moves
// to the next in list order, wrapping around. The track sender, the
// readers (track.Open), the jobs client, memo's track storage and the
// log forwarder of a run all use it.
package failover

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sigoco/sigoco/rpc"
)

// Split splits a comma-separated address list ("a:3250,b:3250"), dropping
// empty items and spaces.
func Split(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// ErrNoAddress is returned when a list is empty.
var ErrNoAddress = errors.New("failover: no server address")

// List is a list of servers and the position of the one in use. It is
// safe for concurrent use.
type List struct {
	addrs []string
	cur   atomic.Int64
}

// NewList returns a list of addrs (each item may itself be a
// comma-separated list), the first in use.
func NewList(addrs ...string) *List {
	l := &List{}
	for _, a := range addrs {
		l.addrs = append(l.addrs, Split(a)...)
	}
	return l
}

// Addrs returns the addresses.
func (l *List) Addrs() []string { return l.addrs }

// Current returns the address in use (or to try next); "" if none.
func (l *List) Current() string {
	if len(l.addrs) == 0 {
		return ""
	}
	return l.addrs[int(l.cur.Load())%len(l.addrs)]
}

// Next moves to the address after from (when from is still the one in
// use: two goroutines seeing one failure move once).
func (l *List) Next(from string) {
	if len(l.addrs) == 0 {
		return
	}
	k := l.cur.Load()
	if l.addrs[int(k)%len(l.addrs)] == from {
		l.cur.CompareAndSwap(k, (k+1)%int64(len(l.addrs)))
	}
}

// Dial calls dial on the address in use and then, while it fails, on
// the next ones, each once; the first that answers becomes the one in
// use. It returns the address used, or every error when none answers.
func Dial[T any](ctx context.Context, l *List, dial func(ctx context.Context, addr string) (T, error)) (T, string, error) {
	var zero T
	if len(l.addrs) == 0 {
		return zero, "", ErrNoAddress
	}
	start := int(l.cur.Load())
	var errs []error
	for i := range l.addrs {
		k := (start + i) % len(l.addrs)
		c, err := dial(ctx, l.addrs[k])
		if err == nil {
			l.cur.Store(int64(k))
			return c, l.addrs[k], nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", l.addrs[k], err))
		if ctx.Err() != nil {
			break
		}
	}
	return zero, "", errors.Join(errs...)
}

// Conn is an rpc connection to one target of the servers of a List that
// redials, from the next server, when its connection is lost. It is safe
// for concurrent use.
type Conn struct {
	list       *List
	target     string
	opts       rpc.ClientOptions
	idempotent map[string]bool // methods called once more after a loss

	mu     sync.Mutex // guards c, addr, closed
	c      *rpc.Client
	addr   string // of c
	closed bool
}

// ErrClosed is returned by calls on a closed Conn.
var ErrClosed = errors.New("failover: connection closed")

// NewConn returns a Conn to target on the servers of list; it dials on
// the first call (or Client). A call of one of the idempotent methods
// (whose second call does no harm: reads) that loses its connection is
// made once more on the next server; a call of any other returns the
// error, and the next call redials.
func NewConn(list *List, target string, opts rpc.ClientOptions, idempotent ...string) *Conn {
	c := &Conn{list: list, target: target, opts: opts, idempotent: map[string]bool{}}
	for _, m := range idempotent {
		c.idempotent[m] = true
	}
	return c
}

// Client returns the connection, dialling the server in use (or the next
// that answers) if there is none.
func (c *Conn) Client(ctx context.Context) (*rpc.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if c.c != nil {
		return c.c, nil
	}
	cl, addr, err := Dial(ctx, c.list, func(ctx context.Context, addr string) (*rpc.Client, error) {
		return rpc.Dial(ctx, addr, c.target, c.opts)
	})
	if err != nil {
		return nil, err
	}
	c.c, c.addr = cl, addr
	return cl, nil
}

// Lost reports whether err is the loss of a connection (not an error the
// server returned).
func Lost(err error) bool {
	var re *rpc.RemoteError
	return err != nil && !errors.As(err, &re) && errors.Is(err, net.ErrClosed)
}

// drop forgets cl after its connection was lost, and moves the list past
// its server.
func (c *Conn) drop(cl *rpc.Client) {
	c.mu.Lock()
	if c.c == cl {
		c.c = nil
		c.list.Next(c.addr)
	}
	c.mu.Unlock()
	cl.Close()
}

// CallInto is rpc.Client.CallInto on the connection in use, with the
// failover NewConn describes.
func (c *Conn) CallInto(ctx context.Context, out any, method string, args ...any) error {
	return c.call(ctx, method, func(cl *rpc.Client) error { return cl.CallInto(ctx, out, method, args...) })
}

// Call is rpc.Client.Call with the failover NewConn describes.
func (c *Conn) Call(ctx context.Context, method string, args ...any) (any, error) {
	var out any
	err := c.call(ctx, method, func(cl *rpc.Client) (err error) {
		out, err = cl.Call(ctx, method, args...)
		return err
	})
	return out, err
}

func (c *Conn) call(ctx context.Context, method string, do func(*rpc.Client) error) error {
	for try := 0; ; try++ {
		cl, err := c.Client(ctx)
		if err != nil {
			return err
		}
		err = do(cl)
		if !Lost(err) || ctx.Err() != nil {
			return err
		}
		c.drop(cl)
		if !c.idempotent[method] || try > 0 {
			return err
		}
	}
}

// Close closes the connection; later calls return ErrClosed.
func (c *Conn) Close() error {
	c.mu.Lock()
	cl := c.c
	c.c, c.closed = nil, true
	c.mu.Unlock()
	if cl != nil {
		return cl.Close()
	}
	return nil
}
