package main

import (
	"context"
	"errors"
	"io"
	"net"
	netrpc "net/rpc"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigoco/sigoco/rpc"
)

// The rpc suite compares sigoco's rpc with net/rpc (gob over TCP) and a raw
// 16-byte TCP ping-pong (the floor for a sequential call on loopback), all
// in this process on loopback:
//
//	rpc.seq.us_per_call, netrpc.seq.us_per_call, tcp.pingpong.us
//	    small Add(a, b int) int calls, one after another
//	rpc.par64.calls_per_s, netrpc.par64.calls_per_s
//	    64 goroutines sharing one client
//	rpc.echo100k.ms, netrpc.echo100k.ms
//	    echo of a 100,000-element []int64 into a typed result
//	rpc.seq.vs_netrpc, rpc.par64.vs_netrpc, rpc.echo100k.vs_netrpc
//	    ratios, >1 means sigoco is better
//	rpc.seq.vs_tcp
//	    sigoco's sequential call time over the ping-pong's (target ≤ 1.6)
//
// The peers are measured in alternating rounds and each figure is the
// median of its rounds, so a drift of the machine hits all of them alike.
func init() { register("rpc", runRPCSuite) }

type rpcBenchTarget struct{}

func (rpcBenchTarget) Add(a, b int) int       { return a + b }
func (rpcBenchTarget) Echo(x []int64) []int64 { return x }

// Arith is the net/rpc service (net/rpc wants exported names and this shape).
type Arith struct{}

// AddArgs are the operands of Arith.Add.
type AddArgs struct{ A, B int }

// Add adds.
func (Arith) Add(args AddArgs, reply *int) error { *reply = args.A + args.B; return nil }

// Echo returns its argument.
func (Arith) Echo(args []int64, reply *[]int64) error { *reply = args; return nil }

type rpcBench struct {
	ctx     context.Context
	srv     *rpc.Server
	client  *rpc.Client
	netSrv  net.Listener
	netCl   *netrpc.Client
	tcpLn   net.Listener
	tcpConn net.Conn
	wg      sync.WaitGroup
}

func runRPCSuite(cfg config) ([]result, error) {
	b, err := startRPCBench()
	if err != nil {
		return nil, err
	}
	defer b.close()

	seqN, seqRounds := 20000, 5
	parDur, parRounds := time.Second, 3
	echoN, echoRounds := 20, 3
	if cfg.quick {
		seqN, seqRounds = 3000, 3
		parDur, parRounds = 300*time.Millisecond, 2
		echoN, echoRounds = 5, 3
	}
	// Warm up connections, buffers and pools.
	if _, err := b.rpcSeq(1000); err != nil {
		return nil, err
	}
	if _, err := b.netSeq(1000); err != nil {
		return nil, err
	}
	b.tcpSeq(1000)

	var rpcSeq, netSeq, tcpSeq, rpcPar, netPar, rpcEcho, netEcho []float64
	for r := 0; r < seqRounds; r++ {
		v, err := b.rpcSeq(seqN)
		if err != nil {
			return nil, err
		}
		rpcSeq = append(rpcSeq, v)
		if v, err = b.netSeq(seqN); err != nil {
			return nil, err
		}
		netSeq = append(netSeq, v)
		tcpSeq = append(tcpSeq, b.tcpSeq(seqN))
	}
	for r := 0; r < parRounds; r++ {
		v, err := b.par(parDur, b.rpcAdd)
		if err != nil {
			return nil, err
		}
		rpcPar = append(rpcPar, v)
		if v, err = b.par(parDur, b.netAdd); err != nil {
			return nil, err
		}
		netPar = append(netPar, v)
	}
	data := make([]int64, 100000)
	for i := range data {
		data[i] = int64(i) * 7919
	}
	// Warm up the large buffers on both sides, for both peers.
	if _, err := b.echo(2, data, b.rpcEcho); err != nil {
		return nil, err
	}
	if _, err := b.echo(2, data, b.netEcho); err != nil {
		return nil, err
	}
	for r := 0; r < echoRounds; r++ {
		v, err := b.echo(echoN, data, b.rpcEcho)
		if err != nil {
			return nil, err
		}
		rpcEcho = append(rpcEcho, v)
		if v, err = b.echo(echoN, data, b.netEcho); err != nil {
			return nil, err
		}
		netEcho = append(netEcho, v)
	}
	rs, ns, ts := median(rpcSeq), median(netSeq), median(tcpSeq)
	rp, np := median(rpcPar), median(netPar)
	re, ne := median(rpcEcho), median(netEcho)
	return []result{
		{"rpc.seq.us_per_call", rs, "us"},
		{"netrpc.seq.us_per_call", ns, "us"},
		{"tcp.pingpong.us", ts, "us"},
		{"rpc.par64.calls_per_s", rp, "calls/s"},
		{"netrpc.par64.calls_per_s", np, "calls/s"},
		{"rpc.echo100k.ms", re, "ms"},
		{"netrpc.echo100k.ms", ne, "ms"},
		{"rpc.seq.vs_netrpc", ns / rs, "x"},
		{"rpc.par64.vs_netrpc", rp / np, "x"},
		{"rpc.echo100k.vs_netrpc", ne / re, "x"},
		{"rpc.seq.vs_tcp", rs / ts, "x"},
	}, nil
}

func startRPCBench() (*rpcBench, error) {
	b := &rpcBench{ctx: context.Background()}
	ok := false
	defer func() {
		if !ok {
			b.close()
		}
	}()
	var err error
	// sigoco, with its defaults (calls serialised per target).
	if b.srv, err = rpc.NewServer(map[string]any{"bench": rpcBenchTarget{}}, rpc.ServerOptions{}); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.srv.Serve(b.ctx, ln)
	}()
	if b.client, err = rpc.Dial(b.ctx, ln.Addr().String(), "bench", rpc.ClientOptions{}); err != nil {
		return nil, err
	}
	// net/rpc.
	ns := netrpc.NewServer()
	if err := ns.Register(Arith{}); err != nil {
		return nil, err
	}
	if b.netSrv, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, err
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		var conns sync.WaitGroup
		defer conns.Wait()
		for {
			c, err := b.netSrv.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer conns.Done()
				ns.ServeConn(c)
			}()
		}
	}()
	if b.netCl, err = netrpc.Dial("tcp", b.netSrv.Addr().String()); err != nil {
		return nil, err
	}
	// Raw TCP ping-pong.
	if b.tcpLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, err
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		c, err := b.tcpLn.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 16)
		for {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}()
	if b.tcpConn, err = net.Dial("tcp", b.tcpLn.Addr().String()); err != nil {
		return nil, err
	}
	ok = true
	return b, nil
}

func (b *rpcBench) close() {
	if b.client != nil {
		b.client.Close()
	}
	if b.srv != nil {
		b.srv.Close()
	}
	if b.netCl != nil {
		b.netCl.Close()
	}
	if b.netSrv != nil {
		b.netSrv.Close()
	}
	if b.tcpConn != nil {
		b.tcpConn.Close()
	}
	if b.tcpLn != nil {
		b.tcpLn.Close()
	}
	b.wg.Wait()
}

func (b *rpcBench) rpcAdd() error {
	var r int
	if err := b.client.CallInto(b.ctx, &r, "add", 1, 2); err != nil {
		return err
	}
	if r != 3 {
		return errors.New("rpc: wrong sum")
	}
	return nil
}

func (b *rpcBench) netAdd() error {
	var r int
	if err := b.netCl.Call("Arith.Add", AddArgs{1, 2}, &r); err != nil {
		return err
	}
	if r != 3 {
		return errors.New("net/rpc: wrong sum")
	}
	return nil
}

func (b *rpcBench) rpcEcho(x []int64) ([]int64, error) {
	var out []int64
	err := b.client.CallInto(b.ctx, &out, "echo", x)
	return out, err
}

func (b *rpcBench) netEcho(x []int64) ([]int64, error) {
	var out []int64
	err := b.netCl.Call("Arith.Echo", x, &out)
	return out, err
}

// rpcSeq and netSeq return microseconds per sequential call.
func (b *rpcBench) rpcSeq(n int) (float64, error) { return seq(n, b.rpcAdd) }
func (b *rpcBench) netSeq(n int) (float64, error) { return seq(n, b.netAdd) }

func seq(n int, call func() error) (float64, error) {
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := call(); err != nil {
			return 0, err
		}
	}
	return float64(time.Since(start).Microseconds()) / float64(n), nil
}

// tcpSeq returns microseconds per 16-byte round trip.
func (b *rpcBench) tcpSeq(n int) float64 {
	buf := make([]byte, 16)
	start := time.Now()
	for i := 0; i < n; i++ {
		b.tcpConn.Write(buf)
		io.ReadFull(b.tcpConn, buf)
	}
	return float64(time.Since(start).Microseconds()) / float64(n)
}

// par returns calls per second made by 64 goroutines for d.
func (b *rpcBench) par(d time.Duration, call func() error) (float64, error) {
	var calls atomic.Int64
	var stop atomic.Bool
	errs := make(chan error, 64)
	var wg sync.WaitGroup
	start := time.Now()
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if err := call(); err != nil {
					errs <- err
					return
				}
				calls.Add(1)
			}
		}()
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errs:
		return 0, err
	default:
	}
	return float64(calls.Load()) / elapsed.Seconds(), nil
}

// echo returns milliseconds per echo of data.
func (b *rpcBench) echo(n int, data []int64, call func([]int64) ([]int64, error)) (float64, error) {
	start := time.Now()
	for i := 0; i < n; i++ {
		out, err := call(data)
		if err != nil {
			return 0, err
		}
		if len(out) != len(data) || out[len(out)-1] != data[len(data)-1] {
			return 0, errors.New("echo: wrong result")
		}
	}
	return float64(time.Since(start).Microseconds()) / 1000 / float64(n), nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}
