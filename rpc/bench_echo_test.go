package rpc

import (
	"context"
	netrpc "net/rpc"
	"testing"
)

// Echo benchmarks beside BenchmarkEcho100k: the same 100,000 int64 through
// a parameter of type any (decoded as []any, sent back as it came), and
// net/rpc's echo of them, to compare in one run.

type benchAnyTarget struct{}

func (benchAnyTarget) Echo(x any) any { return x }

func benchData100k() []int64 {
	data := make([]int64, 100000)
	for i := range data {
		data[i] = int64(i) * 7919
	}
	return data
}

func BenchmarkEchoAny100k(b *testing.B) {
	ts := startServer(b, transports[0], map[string]any{"bench": benchAnyTarget{}}, ServerOptions{})
	c := ts.dial(b, "bench")
	ctx := context.Background()
	data := benchData100k()
	b.ReportAllocs()
	for b.Loop() {
		var out []int64
		if err := c.CallInto(ctx, &out, "echo", data); err != nil {
			b.Fatal(err)
		}
	}
}

// NetEcho is net/rpc's echo target.
type NetEcho struct{}

func (NetEcho) Echo(args []int64, reply *[]int64) error { *reply = args; return nil }

func BenchmarkNetRPCEcho100k(b *testing.B) {
	ns := netrpc.NewServer()
	ns.Register(NetEcho{})
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
	data := benchData100k()
	b.ReportAllocs()
	for b.Loop() {
		var out []int64
		if err := c.Call("NetEcho.Echo", data, &out); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	c.Close()
	ln.Close()
	<-done
}
