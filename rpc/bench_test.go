package rpc

import (
	"context"
	netrpc "net/rpc"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// Go benchmarks of the hot paths; bench/ (go run ./bench -only rpc)
// compares them with net/rpc and a raw TCP ping-pong in one run.

type benchTarget struct{}

func (benchTarget) Add(a, b int) int       { return a + b }
func (benchTarget) Echo(x []int64) []int64 { return x }

// AddCtx is Add for a method that takes a context: its calls run on
// goroutines of their own.
func (benchTarget) AddCtx(_ context.Context, a, b int) int { return a + b }

func benchClient(b testing.TB, opts ServerOptions) *Client {
	ts := startServer(b, transports[0], map[string]any{"bench": benchTarget{}}, opts)
	return ts.dial(b, "bench")
}

func BenchmarkCall(b *testing.B) {
	c := benchClient(b, ServerOptions{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		var r int
		if err := c.CallInto(ctx, &r, "add", 1, 2); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallWithDeadline(b *testing.B) {
	c := benchClient(b, ServerOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 1<<40)
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		var r int
		if err := c.CallInto(ctx, &r, "add", 1, 2); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallParallelServer(b *testing.B) {
	c := benchClient(b, ServerOptions{AllowParallel: true})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		var r int
		if err := c.CallInto(ctx, &r, "add", 1, 2); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCall64Goroutines(b *testing.B) { benchCall64(b, ServerOptions{}) }

func BenchmarkCall64GoroutinesParallelServer(b *testing.B) {
	benchCall64(b, ServerOptions{AllowParallel: true})
}

// BenchmarkCall64GoroutinesCtx: a method with a context (a goroutine per
// call on the server), 64 callers, parallel server.
func BenchmarkCall64GoroutinesCtx(b *testing.B) {
	benchCall64Method(b, ServerOptions{AllowParallel: true}, "add_ctx")
}

func benchCall64(b *testing.B, opts ServerOptions) { benchCall64Method(b, opts, "add") }

func benchCall64Method(b *testing.B, opts ServerOptions, method string) {
	c := benchClient(b, opts)
	ctx := context.Background()
	b.SetParallelism(32) // 64 goroutines on 2 CPUs
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			var r int
			if err := c.CallInto(ctx, &r, method, 1, 2); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkCallSiPyCo and …ParallelServer: the same calls over SiPyCo's
// pc_rpc protocol (PYON lines, one request at a time per connection).
func BenchmarkCallSiPyCo(b *testing.B) { benchCallSiPyCo(b, ServerOptions{}) }

func BenchmarkCallSiPyCoParallelServer(b *testing.B) {
	benchCallSiPyCo(b, ServerOptions{AllowParallel: true})
}

func benchCallSiPyCo(b *testing.B, opts ServerOptions) {
	ts := startServer(b, transports[0], map[string]any{"bench": benchTarget{}}, opts)
	c := dialSiPyCoTest(b, ts, "bench")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		var r int
		if err := c.CallInto(ctx, &r, "add", 1, 2); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEcho100k(b *testing.B) {
	c := benchClient(b, ServerOptions{})
	ctx := context.Background()
	data := make([]int64, 100000)
	for i := range data {
		data[i] = int64(i) * 7919
	}
	b.ReportAllocs()
	for b.Loop() {
		var out []int64
		if err := c.CallInto(ctx, &out, "echo", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandleCall is the server's work for one call, without the
// network: decode the request, call the method, encode the reply.
func BenchmarkHandleCall(b *testing.B) { benchHandleCall(b, ServerOptions{}) }

// BenchmarkHandleCallParallelServer: the same with AllowParallel (the call
// runs on the reader too, under the watchdog).
func BenchmarkHandleCallParallelServer(b *testing.B) {
	benchHandleCall(b, ServerOptions{AllowParallel: true})
}

func benchHandleCall(b *testing.B, opts ServerOptions) {
	srv, err := NewServer(map[string]any{"bench": benchTarget{}}, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	c := newServerConn(srv, &captureConn{})
	c.tgt = srv.targets["bench"]
	c.obj, c.tb, _ = c.tgt.instance()
	c.ctx = context.Background()
	req, _ := msgpack.Marshal([]any{"call", 1, "add", []any{1, 2}, nil, 0})
	b.ReportAllocs()
	for b.Loop() {
		c.handle(req)
		c.w.mu.Lock()
		c.w.buf = c.w.buf[:0]
		c.w.mu.Unlock()
	}
}

// Arith is net/rpc's counterpart of benchTarget.
type Arith struct{}

type AddArgs struct{ A, B int }

func (Arith) Add(args AddArgs, reply *int) error { *reply = args.A + args.B; return nil }

func BenchmarkNetRPCCall(b *testing.B) {
	ns := netrpc.NewServer()
	ns.Register(Arith{})
	ln := listen(b)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		ns.ServeConn(c)
	}()
	c, err := netrpc.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var r int
		if err := c.Call("Arith.Add", AddArgs{1, 2}, &r); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	c.Close()
	ln.Close()
	<-done
}
