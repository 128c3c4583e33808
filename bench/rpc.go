package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	netrpc "net/rpc"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigoco/sigoco/rpc"
)

// The rpc suite compares sigoco's rpc with gRPC (grpc.go), NATS
// request/reply (nats.go), net/rpc (gob over TCP) and a raw 16-byte TCP
// ping-pong (the floor for a sequential call on loopback), all in this
// process on loopback:
//
//	rpc.seq.us_per_call, grpc.…, nats.…, netrpc.…, tcp.pingpong.us
//	    small Add(a, b int) int calls, one after another
//	rpc.par64.calls_per_s, grpc.…, nats.…, netrpc.…
//	    64 goroutines sharing one client
//	rpc.echo100k.ms, grpc.…, netrpc.…
//	    echo of a 100,000-element []int64 into a typed result
//	rpc.parallel.seq.us_per_call, rpc.parallel.par64.calls_per_s
//	    the same with ServerOptions{AllowParallel: true}: what a Go user
//	    sets for a thread-safe target, and what gRPC's, NATS's and
//	    net/rpc's handlers are like (they run concurrently)
//	rpc.parallel.seq.vs_serial, rpc.parallel.par64.vs_serial
//	    the parallel mode's time over the serialised one's (target
//	    <= 1.15), and its rate over the serialised one's (target >= 1.0)
//	rpc.parallel.seq.vs_PEER, rpc.parallel.par64.vs_PEER,
//	rpc.echo100k.vs_PEER
//	    ratios against the peers, like for like (the AllowParallel
//	    figures), >1 means sigoco is better (targets: par64.vs_grpc >= 5,
//	    seq.vs_nats >= 3.5, par64.vs_nats >= 1.8)
//	rpc.par64.cpu_ns_per_call, rpc.parallel.par64.cpu_ns_per_call,
//	rpc.parallel.par64.cpu.vs_serial
//	    the process's CPU time per call (both ends) with 64 goroutines,
//	    and the parallel mode's over the serialised one's (lower is better)
//	rpc.seq.vs_tcp, rpc.parallel.seq.vs_tcp
//	    sigoco's sequential call time over the ping-pong's (target <= 1.6)
//
// The contenders are measured in alternating rounds; a time or rate is the
// median of its rounds, a ratio the median of the rounds' ratios, so a
// drift of the machine hits all of them alike.
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
	psrv    *rpc.Server // AllowParallel
	pclient *rpc.Client
	netSrv  net.Listener
	netCl   *netrpc.Client
	tcpLn   net.Listener
	tcpConn net.Conn
	wg      sync.WaitGroup
}

// contender is one implementation measured in the alternating rounds.
type contender struct {
	name              string
	seq               func() error                   // one small call
	echo              func([]int64) ([]int64, error) // nil: not measured
	seqs, pars, echos []float64                      // one figure per round
	parCPU            []float64                      // CPU ns per call in the par rounds
}

func runRPCSuite(cfg config) ([]result, error) {
	b, err := startRPCBench()
	if err != nil {
		return nil, err
	}
	defer b.close()
	gp, err := startGRPC()
	if err != nil {
		return nil, fmt.Errorf("grpc: %w", err)
	}
	defer gp.close()
	np, err := startNATSRPC()
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	defer np.close()

	// Many short rounds rather than a few long ones: a burst of load from
	// elsewhere on a shared machine then lands on every contender's slices
	// alike instead of on one contender's whole round.
	seqN, seqRounds := 2000, 51
	parDur, parRounds := 250*time.Millisecond, 21
	echoN, echoRounds := 4, 15
	if cfg.quick {
		// Enough rounds that a ratio near 1 (parallel over serialised)
		// is a median of many: with 7 par rounds it swung by ±6%.
		seqN, seqRounds = 1000, 15
		parDur, parRounds = 150*time.Millisecond, 13
		echoN, echoRounds = 2, 5
	}
	sig := &contender{name: "rpc", seq: b.rpcAdd, echo: b.rpcEcho}
	psig := &contender{name: "rpc.parallel", seq: b.rpcParallelAdd}
	netc := &contender{name: "netrpc", seq: b.netAdd, echo: b.netEcho}
	grpcc := &contender{name: "grpc", seq: func() error { return gp.add(b.ctx) },
		echo: func(x []int64) ([]int64, error) { return gp.echo(b.ctx, x) }}
	natsc := &contender{name: "nats", seq: np.add}
	all := []*contender{sig, psig, netc, grpcc, natsc}
	// Warm up connections, buffers and pools.
	for _, c := range all {
		if _, err := seq(1000, c.seq); err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
	}
	b.tcpSeq(1000)

	var tcpSeq []float64
	// Each round runs every contender, in an order that rotates from one
	// round to the next.
	for r := 0; r < seqRounds; r++ {
		for _, c := range rotate(all, r) {
			v, err := seq(seqN, c.seq)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
			c.seqs = append(c.seqs, v)
		}
		tcpSeq = append(tcpSeq, b.tcpSeq(seqN))
	}
	for r := 0; r < parRounds; r++ {
		for _, c := range rotate(all, r) {
			v, cpu, err := b.par(parDur, c.seq)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
			c.pars = append(c.pars, v)
			c.parCPU = append(c.parCPU, cpu)
		}
	}
	data := make([]int64, 100000)
	for i := range data {
		data[i] = int64(i) * 7919
	}
	echoers := []*contender{sig, netc, grpcc}
	// Warm up the large buffers on both sides, for every peer.
	for _, c := range echoers {
		if _, err := b.echo(2, data, c.echo); err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
	}
	for r := 0; r < echoRounds; r++ {
		for _, c := range rotate(echoers, r) {
			v, err := b.echo(echoN, data, c.echo)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
			c.echos = append(c.echos, v)
		}
	}
	var out []result
	for _, c := range all {
		out = append(out, result{c.name + ".seq.us_per_call", median(c.seqs), "us"})
	}
	ts := median(tcpSeq)
	out = append(out, result{"tcp.pingpong.us", ts, "us"})
	for _, c := range all {
		out = append(out, result{c.name + ".par64.calls_per_s", median(c.pars), "calls/s"})
	}
	for _, c := range echoers {
		out = append(out, result{c.name + ".echo100k.ms", median(c.echos), "ms"})
	}
	// A ratio is the median of its rounds' ratios: each round's figures
	// were measured side by side, so a drift of the machine cancels out.
	// What the parallel mode costs over the serialised one (time over
	// time, lower is better; rate over rate, higher is better):
	out = append(out,
		result{"rpc.parallel.seq.vs_serial", pairedRatio(sig.seqs, psig.seqs, false), "x"},
		result{"rpc.parallel.par64.vs_serial", pairedRatio(psig.pars, sig.pars, true), "x"})
	// The same in CPU time per call (the process's, both ends): what a
	// loaded machine, which hands out shares of its cores at random,
	// disturbs least.
	out = append(out,
		result{"rpc.par64.cpu_ns_per_call", median(sig.parCPU), "ns"},
		result{"rpc.parallel.par64.cpu_ns_per_call", median(psig.parCPU), "ns"},
		result{"rpc.parallel.par64.cpu.vs_serial", pairedRatio(sig.parCPU, psig.parCPU, false), "x"})
	// Against the peers, like for like: their handlers run concurrently,
	// as sigoco's do with AllowParallel.
	for _, c := range all[2:] {
		out = append(out,
			result{"rpc.parallel.seq.vs_" + c.name, pairedRatio(psig.seqs, c.seqs, false), "x"},
			result{"rpc.parallel.par64.vs_" + c.name, pairedRatio(psig.pars, c.pars, true), "x"})
		if c.echo != nil {
			out = append(out, result{"rpc.echo100k.vs_" + c.name, pairedRatio(sig.echos, c.echos, false), "x"})
		}
	}
	// The TCP floor: how many times the ping-pong a call takes (lower is
	// better, so sigoco over the floor).
	out = append(out,
		result{"rpc.seq.vs_tcp", 1 / pairedRatio(sig.seqs, tcpSeq, false), "x"},
		result{"rpc.parallel.seq.vs_tcp", 1 / pairedRatio(psig.seqs, tcpSeq, false), "x"})
	return out, nil
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
	// sigoco with AllowParallel, on its own listener.
	if b.psrv, err = rpc.NewServer(map[string]any{"bench": rpcBenchTarget{}}, rpc.ServerOptions{AllowParallel: true}); err != nil {
		return nil, err
	}
	pln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.psrv.Serve(b.ctx, pln)
	}()
	if b.pclient, err = rpc.Dial(b.ctx, pln.Addr().String(), "bench", rpc.ClientOptions{}); err != nil {
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
	if b.pclient != nil {
		b.pclient.Close()
	}
	if b.psrv != nil {
		b.psrv.Close()
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

func (b *rpcBench) rpcParallelAdd() error {
	var r int
	if err := b.pclient.CallInto(b.ctx, &r, "add", 1, 2); err != nil {
		return err
	}
	if r != 3 {
		return errors.New("rpc (parallel): wrong sum")
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

// seq returns microseconds per sequential call.
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

// par returns calls per second made by 64 goroutines for d, and the
// process's CPU time per call (nanoseconds).
func (b *rpcBench) par(d time.Duration, call func() error) (float64, float64, error) {
	var calls atomic.Int64
	var stop atomic.Bool
	errs := make(chan error, 64)
	var wg sync.WaitGroup
	start, cpu0 := time.Now(), processCPU()
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
	elapsed, cpu := time.Since(start), processCPU()-cpu0
	select {
	case err := <-errs:
		return 0, 0, err
	default:
	}
	n := float64(calls.Load())
	return n / elapsed.Seconds(), float64(cpu.Nanoseconds()) / n, nil
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

// rotate returns cs rotated left by r.
func rotate(cs []*contender, r int) []*contender {
	r %= len(cs)
	return append(append([]*contender(nil), cs[r:]...), cs[:r]...)
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}
