package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sync"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/wire"
	"github.com/sigoco/sigoco/wire/auth"
)

// ErrNotExposed: a call to an object that the run does not expose (now).
var ErrNotExposed = fmt.Errorf("track: no such exposed object")

// exposeRegistry holds an rpc client for each object a live run exposes,
// on the connection the run dialled (wire.BannerExpose): the run serves
// the object on it and the server calls through rpc.NewClientConn. No
// port is opened, on either side.
type exposeRegistry struct {
	s *Server

	mu     sync.Mutex                     // guards objs and closed
	objs   map[string]map[string]*exposed // run → name → object
	closed bool
}

type exposed struct {
	c          *rpc.Client
	info       *rpc.TargetInfo
	callableBy auth.Role // granted to this role and above beside the owner (None: nobody more)
}

func newExposeRegistry(s *Server) *exposeRegistry {
	return &exposeRegistry{s: s, objs: map[string]map[string]*exposed{}}
}

// ServeConn serves one expose connection until it ends (the run goes
// away, the object is exposed again on a new connection, ctx ends or the
// server closes).
func (x *exposeRegistry) ServeConn(ctx context.Context, nc net.Conn) error {
	conn := wire.NewConn(nc)
	if b, err := conn.ReadBanner(); err != nil || b != wire.BannerExpose {
		conn.Close()
		return fmt.Errorf("track: expose connection: banner %q: %v", b, err)
	}
	// conn keeps its buffered reader: NewClientConn takes the *wire.Conn.
	c, err := rpc.NewClientConn(ctx, conn, "", rpc.ClientOptions{HandshakeTimeout: x.s.opts.HandshakeTimeout, Logger: x.s.log})
	if err != nil {
		return fmt.Errorf("track: expose connection: %w", err)
	}
	defer c.Close()
	var hello store.ExposeHello
	if err := json.Unmarshal([]byte(c.Description()), &hello); err != nil || hello.Run == "" || hello.Name == "" {
		return fmt.Errorf("track: expose connection without a run and name: %q", c.Description())
	}
	var callableBy auth.Role
	if hello.CallableBy != "" {
		if callableBy, err = auth.ParseRole(hello.CallableBy); err != nil {
			return fmt.Errorf("track: expose connection: callable_by: %w", err)
		}
	}
	if a := x.s.opts.Auth; a != nil {
		id, err := auth.AtLeast(a, auth.Runner, "exposing an object").Authenticate(auth.ConnCredentials(conn, hello.Token))
		if err == nil {
			// Only the run's owner (or an admin) exposes objects on it:
			// another's would take the place of the owner's.
			_, err = x.s.mayWrite(auth.NewContext(ctx, id), hello.Run, "expose objects on")
		}
		if err != nil {
			x.s.log.Warn("track: expose connection refused", "remote", conn.RemoteAddr().String(), "run", hello.Run, "err", err)
			return fmt.Errorf("track: expose connection: %w", err)
		}
	}
	info, err := c.ListMethods(ctx)
	if err != nil {
		return err
	}
	if !x.add(hello.Run, hello.Name, &exposed{c: c, info: info, callableBy: callableBy}) {
		return nil
	}
	x.s.log.Info("track: run exposes an object", "run", hello.Run, "name", hello.Name, "methods", len(info.Methods))
	c.Wait(ctx) // the connection ends, or the server closes c, or ctx ends
	x.remove(hello.Run, hello.Name, c)
	return nil
}

func (x *exposeRegistry) add(run, name string, e *exposed) bool {
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return false
	}
	m := x.objs[run]
	if m == nil {
		m = map[string]*exposed{}
		x.objs[run] = m
	}
	old := m[name]
	m[name] = e
	x.mu.Unlock()
	if old != nil {
		old.c.Close()
	}
	x.s.live.setExposed(run, name, e.info)
	return true
}

func (x *exposeRegistry) remove(run, name string, c *rpc.Client) {
	x.mu.Lock()
	m := x.objs[run]
	gone := m != nil && m[name] != nil && m[name].c == c
	if gone {
		delete(m, name)
		if len(m) == 0 {
			delete(x.objs, run)
		}
	}
	x.mu.Unlock()
	if gone {
		x.s.live.setExposed(run, name, nil)
	}
}

func (x *exposeRegistry) get(run, name string) *exposed {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.objs[run][name]
}

func (x *exposeRegistry) describe(run string) map[string]*rpc.TargetInfo {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := map[string]*rpc.TargetInfo{}
	for name, e := range x.objs[run] {
		out[name] = e.info
	}
	return out
}

func (x *exposeRegistry) call(ctx context.Context, run, name, method string, args []any, kwargs map[string]any) (any, error) {
	e := x.get(run, name)
	if e == nil {
		return nil, fmt.Errorf("%w: run %s exposes no %q now", ErrNotExposed, run, name)
	}
	if len(kwargs) > 0 {
		args = append(args, rpc.Kwargs(kwargs))
	}
	return e.c.Call(ctx, method, args...)
}

// close closes every client; the connections' handlers then return.
func (x *exposeRegistry) close() {
	x.mu.Lock()
	x.closed = true
	var cs []*rpc.Client
	for _, m := range x.objs {
		for _, e := range m {
			cs = append(cs, e.c)
		}
	}
	x.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
}

// granted reports whether the object name that run exposes here grants
// calls to the identity in ctx by its role (ExposeHello.CallableBy).
func (x *exposeRegistry) granted(ctx context.Context, run, name string) bool {
	id, ok := auth.FromContext(ctx)
	if !ok {
		return false
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	e := x.objs[run][name]
	return e != nil && e.callableBy > auth.None && id.Role >= e.callableBy
}
