package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/syncstruct"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/wire"
)

// ErrNotExposed: a call to an object that the run does not expose (now).
var ErrNotExposed = fmt.Errorf("track: no such exposed object")

// exposeRegistry holds an rpc client for each object a live run exposes,
// on the connection the run dialled (store.BannerExpose).
//
// rpc has no client over an existing connection yet, so each expose
// connection is bridged: the server listens on an ephemeral loopback port
// for exactly one connection, dials it with rpc.Dial and splices it to the
// run's connection. (rpc.NewClientConn(ctx, conn, target, opts) would
// remove the bridge.) The simulation itself opens no port.
type exposeRegistry struct {
	s *Server

	mu     sync.Mutex                     // guards objs and closed
	objs   map[string]map[string]*exposed // run → name → object
	closed bool
}

type exposed struct {
	c    *rpc.Client
	info *rpc.TargetInfo
}

func newExposeRegistry(s *Server) *exposeRegistry {
	return &exposeRegistry{s: s, objs: map[string]map[string]*exposed{}}
}

// ServeConn serves one expose connection until it ends.
func (x *exposeRegistry) ServeConn(ctx context.Context, nc net.Conn) error {
	conn := wire.NewConn(nc)
	defer conn.Close()
	if b, err := conn.ReadBanner(); err != nil || b != store.BannerExpose {
		return fmt.Errorf("track: expose connection: banner %q: %v", b, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	spliced := make(chan struct{})
	go func() {
		defer close(spliced)
		bc, err := ln.Accept()
		ln.Close()
		if err != nil {
			return
		}
		defer bc.Close()
		done := make(chan struct{}, 2)
		go func() { io.Copy(conn, bc); done <- struct{}{} }()
		go func() { io.Copy(bc, conn); done <- struct{}{} }()
		select {
		case <-done:
		case <-ctx.Done():
		}
		bc.Close()
		conn.Close()
		<-done
	}()
	c, err := rpc.Dial(ctx, ln.Addr().String(), "", rpc.ClientOptions{HandshakeTimeout: x.s.opts.HandshakeTimeout, Logger: x.s.log})
	if err != nil {
		ln.Close()
		conn.Close()
		<-spliced
		return fmt.Errorf("track: expose connection: %w", err)
	}
	defer c.Close()
	var hello store.ExposeHello
	if err := json.Unmarshal([]byte(c.Description()), &hello); err != nil || hello.Run == "" || hello.Name == "" {
		conn.Close()
		<-spliced
		return fmt.Errorf("track: expose connection without a run and name: %q", c.Description())
	}
	info, err := c.ListMethods(ctx)
	if err != nil {
		conn.Close()
		<-spliced
		return err
	}
	if !x.add(hello.Run, hello.Name, &exposed{c: c, info: info}) {
		conn.Close()
		<-spliced
		return nil
	}
	x.s.log.Info("track: run exposes an object", "run", hello.Run, "name", hello.Name, "methods", len(info.Methods))
	<-spliced
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
	desc, _ := syncstruct.Normalize(e.info)
	x.s.live.setExposed(run, name, desc)
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
