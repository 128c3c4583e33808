package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigoco/sigoco/syncstruct"
	"github.com/sigoco/sigoco/wire"
)

// The sync suite measures syncstruct on loopback TCP against its peers
// (naive JSON, NATS core pub/sub, NATS JetStream KV; see natsfanout.go):
//
//   - sync.fanout100.deliveries_per_s: one publisher, 100 Subscribers,
//     a burst of 20,000 setitem mods of ~100 bytes on 1,000 keys, with
//     queues large enough for the burst; a delivery counts when a mod has
//     been applied to a replica, and the time runs until every replica has
//     applied every mod (target >= 3,000,000/s on 2 cores; SiPyCo does
//     60,000-80,000). sync.fanout100.resyncs must be 0.
//   - sync.fanout100.vs_nats: that over NATS core pub/sub delivering the
//     same count of messages of the same size (nats.fanout100.payload_bytes,
//     the bytes sigoco writes per mod) to 100 subscribers (target >= 1.2).
//   - sync.fanout100.converge.*: the same burst with the default options
//     (bounded queues: a subscriber that falls behind gets a snapshot),
//     timed until every replica has reached the final state; over NATS
//     core (target >= 2).
//   - sync.kv_fanout100.vs_nats_kv: the like-for-like rate over NATS
//     JetStream KV watchers (state with late joiners, as sigoco's).
//   - sync.idle_subscriber.kib: publisher memory (heap + goroutine stacks)
//     per idle subscriber (target <= 64 KiB).
//   - sync.stalled.max_heap_mib: the publisher's live heap growth, sampled,
//     while one subscriber does not read during a fan-out run; printed
//     with sync.stalled.bound_mib, the configured history bound plus one
//     snapshot, which it must not exceed.
func init() { register("sync", benchSync) }

func benchSync(cfg config) ([]result, error) {
	// The fan-out burst is 20,000 mods in quick runs too: with fewer, the
	// default queue bound holds the whole burst and the converge variant
	// never resyncs. The slower peers get a quarter of the mods (their
	// figures are rates).
	subs, mods, stalledMods := 100, 20000, 100000
	idle := 1000
	runs := 3
	if cfg.quick {
		idle, runs, stalledMods = 200, 1, 25000
	}
	// The memory figures first, while this process holds nothing else
	// (the peers' connections and servers release memory for a while
	// after they are closed).
	kib, err := syncIdle(idle)
	if err != nil {
		return nil, fmt.Errorf("idle: %w", err)
	}
	memFigures := []result{{"sync.idle_subscriber.kib", kib, "KiB"}}
	// Five times the burst: far more than socket buffers hold, so the
	// stalled subscriber is truly stuck.
	maxMiB, boundMiB, err := syncStalled(subs, stalledMods)
	if err != nil {
		return nil, fmt.Errorf("stalled: %w", err)
	}
	memFigures = append(memFigures, result{"sync.stalled.max_heap_mib", maxMiB, "MiB"}, result{"sync.stalled.bound_mib", boundMiB, "MiB"})
	var out []result
	payload, err := modWireSize()
	if err != nil {
		return nil, fmt.Errorf("mod size: %w", err)
	}
	ns, err := startNATSServer(true)
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	defer ns.stop()
	// Rounds alternate sigoco and its peers, and each figure is the median
	// of its rounds:
	//   - sigoco with queues large enough for the burst (every mod
	//     delivered and applied as a mod, 0 resyncs);
	//   - a naive Go port of SiPyCo's design (a queue per subscriber, each
	//     mod encoded as a JSON line for each subscriber, one write per
	//     mod), with a quarter of the mods;
	//   - NATS core pub/sub, the same count of messages of the same size;
	//   - sigoco with its default options (resyncs allowed), counted until
	//     every replica has reached the final state;
	//   - NATS JetStream KV watchers, the same count of puts.
	var rates, naive, natsRates, convRates, kvRates []float64
	var resyncs, convResyncs, natsDropped uint64
	for range runs {
		rate, rs, err := syncFanout(subs, mods, true)
		if err != nil {
			return nil, fmt.Errorf("fanout: %w", err)
		}
		rates, resyncs = append(rates, rate), resyncs+rs
		peer, err := naiveFanout(subs, mods/4)
		if err != nil {
			return nil, fmt.Errorf("naive fanout: %w", err)
		}
		naive = append(naive, peer)
		nr, dropped, err := natsFanout(ns, subs, mods, payload)
		if err != nil {
			return nil, fmt.Errorf("nats fanout: %w", err)
		}
		natsRates, natsDropped = append(natsRates, nr), natsDropped+dropped
		conv, rs, err := syncFanout(subs, mods, false)
		if err != nil {
			return nil, fmt.Errorf("converge fanout: %w", err)
		}
		convRates, convResyncs = append(convRates, conv), convResyncs+rs
		{ // JetStream KV
			kr, err := natsKVFanout(ns, subs, mods/4, payload)
			if err != nil {
				return nil, fmt.Errorf("nats kv fanout: %w", err)
			}
			kvRates = append(kvRates, kr)
		}
	}
	r, nr, cr := syncMedian(rates), syncMedian(natsRates), syncMedian(convRates)
	name := fmt.Sprintf("sync.fanout%d", subs)
	out = append(out,
		result{name + ".deliveries_per_s", r, "1/s"},
		result{name + ".resyncs", float64(resyncs), "count"},
		result{name + ".vs_naive_json", r / syncMedian(naive), "x"},
		result{fmt.Sprintf("nats.fanout%d.deliveries_per_s", subs), nr, "1/s"},
		result{fmt.Sprintf("nats.fanout%d.dropped", subs), float64(natsDropped), "count"},
		result{fmt.Sprintf("nats.fanout%d.payload_bytes", subs), float64(payload), "bytes"},
		result{name + ".vs_nats", r / nr, "x"},
		result{name + ".converge.deliveries_per_s", cr, "1/s"},
		result{name + ".converge.resyncs", float64(convResyncs), "count"},
		result{name + ".converge.vs_nats", cr / nr, "x"})
	if len(kvRates) > 0 {
		kr := syncMedian(kvRates)
		out = append(out,
			result{fmt.Sprintf("nats_kv.fanout%d.deliveries_per_s", subs), kr, "1/s"},
			result{fmt.Sprintf("sync.kv_fanout%d.vs_nats_kv", subs), r / kr, "x"})
	}
	return append(out, memFigures...), nil
}

// fanoutSetup is a publisher with one notifier on loopback.
type fanoutSetup struct {
	n      *syncstruct.Notifier
	p      *syncstruct.Publisher
	addr   string
	cancel context.CancelFunc
	done   chan struct{}
}

const (
	fanoutKeys  = 1000
	historySize = 16 << 20
)

// fanoutConfig says how newFanout departs from the default options.
type fanoutConfig struct {
	// large: queues and history of historySize bytes, enough for every
	// burst of the suite.
	large bool
	// rawClients: the subscribers are raw connections that never send a
	// heartbeat; the publisher's heartbeat timeout is made longer than
	// the run, so they are not dropped.
	rawClients bool
	// wrap, if set, wraps the listener.
	wrap func(net.Listener) net.Listener
}

// newFanout starts a publisher on loopback.
func newFanout(cfg fanoutConfig) (*fanoutSetup, error) {
	data := map[string]any{}
	for i := range fanoutKeys {
		data[fmt.Sprint("k", i)] = ""
	}
	var nopts syncstruct.NotifierOptions
	var popts syncstruct.PublisherOptions
	if cfg.large {
		nopts.HistoryBytes, popts.QueueBytes = historySize, historySize
	}
	if cfg.rawClients {
		popts.HeartbeatTimeout = time.Hour
	}
	n, err := syncstruct.NewNotifier(map[string]any{"data": data}, nopts)
	if err != nil {
		return nil, err
	}
	p := syncstruct.NewPublisher(map[string]*syncstruct.Notifier{"bench": n}, popts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if cfg.wrap != nil {
		ln = cfg.wrap(ln)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &fanoutSetup{n: n, p: p, addr: ln.Addr().String(), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		p.Serve(ctx, ln)
	}()
	return f, nil
}

func (f *fanoutSetup) close() {
	f.cancel()
	f.p.Close()
	<-f.done
}

// modValue is the value of every benchmark mod: with the path, key and
// seq, an encoded setitem of about 100 bytes.
var modValue = strings.Repeat("x", 64)

func (f *fanoutSetup) publish(mods int) error {
	data := f.n.At("data")
	for i := range mods {
		if err := data.Set(fmt.Sprint("k", i%fanoutKeys), modValue); err != nil {
			return err
		}
	}
	return nil
}

// counter counts the mods a subscriber applied and says when it has all
// (target mods applied as mods) or, with final set, when its replica has
// reached the mod numbered final (by mods or by a snapshot).
type counter struct {
	mu     sync.Mutex
	n      int
	target int
	final  uint64
	closed bool
	done   chan struct{}
}

func (c *counter) onMod(_ any, m *syncstruct.Mod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.Action != syncstruct.ActInit {
		c.n++
	}
	if c.closed {
		return
	}
	if (c.final == 0 && c.n == c.target) || (c.final != 0 && m.Seq >= c.final) {
		c.closed = true
		close(c.done)
	}
}

// syncFanout returns deliveries per second and the resyncs that happened.
// large: queues large enough for the burst, and every subscriber must apply
// every mod as a mod; otherwise the default options, and every replica
// must reach the final state (through mods or snapshots).
func syncFanout(subs, mods int, large bool) (float64, uint64, error) {
	f, err := newFanout(fanoutConfig{large: large})
	if err != nil {
		return 0, 0, err
	}
	defer f.close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var final uint64
	if !large {
		final = f.n.Seq() + uint64(mods)
	}
	counters := make([]*counter, subs)
	for i := range subs {
		counters[i] = &counter{target: mods, final: final, done: make(chan struct{})}
		s := syncstruct.NewSubscriber(f.addr, "bench", syncstruct.SubscriberOptions{OnMod: []func(any, *syncstruct.Mod){counters[i].onMod}})
		defer s.Close()
		if err := s.WaitSynced(ctx); err != nil {
			return 0, 0, err
		}
	}
	runtime.GC()
	start := time.Now()
	if err := f.publish(mods); err != nil {
		return 0, 0, err
	}
	for _, c := range counters {
		select {
		case <-c.done:
		case <-ctx.Done():
			c.mu.Lock()
			defer c.mu.Unlock()
			return 0, 0, fmt.Errorf("a subscriber applied %d of %d mods (resyncs: %d)", c.n, mods, f.p.Stats().Resyncs)
		}
	}
	elapsed := time.Since(start)
	return float64(subs*mods) / elapsed.Seconds(), f.p.Stats().Resyncs, nil
}

func syncMedian(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// naiveFanout is the peer: what a straightforward Go port of SiPyCo's
// publisher does. Each subscriber has its own queue of mods; its writer
// encodes every mod as a JSON line itself and writes it; the subscriber
// decodes each line into a map and applies it. It returns deliveries per
// second.
func naiveFanout(subs, mods int) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	queues := make([]chan *syncstruct.Mod, subs)
	var writers sync.WaitGroup
	var applied sync.WaitGroup
	applied.Add(subs)
	for i := range subs {
		queues[i] = make(chan *syncstruct.Mod, 1024)
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return 0, err
		}
		defer client.Close()
		server, err := ln.Accept()
		if err != nil {
			return 0, err
		}
		defer server.Close()
		writers.Add(1)
		go func(q chan *syncstruct.Mod) {
			defer writers.Done()
			w := bufio.NewWriter(server)
			for m := range q {
				line, _ := json.Marshal(map[string]any{"action": m.Action, "path": m.Path, "key": m.Key, "value": m.Value})
				w.Write(append(line, '\n'))
				if len(q) == 0 {
					w.Flush()
				}
			}
			w.Flush()
		}(queues[i])
		go func() {
			defer applied.Done()
			tree := any(map[string]any{"data": map[string]any{}})
			sc := bufio.NewScanner(client)
			for n := 0; n < mods && sc.Scan(); n++ {
				var m map[string]any
				if json.Unmarshal(sc.Bytes(), &m) != nil {
					return
				}
				path, _ := m["path"].([]any)
				tree, _ = syncstruct.Apply(tree, &syncstruct.Mod{Action: syncstruct.ActSetItem, Path: path, Key: m["key"], Value: m["value"]})
			}
		}()
	}
	start := time.Now()
	for i := range mods {
		m := &syncstruct.Mod{Action: syncstruct.ActSetItem, Path: []any{"data"}, Key: fmt.Sprint("k", i%fanoutKeys), Value: modValue}
		for _, q := range queues {
			q <- m
		}
	}
	applied.Wait()
	elapsed := time.Since(start)
	for _, q := range queues {
		close(q)
	}
	writers.Wait()
	return float64(subs*mods) / elapsed.Seconds(), nil
}

// rawSubscriber subscribes and then never reads: the cheapest client, so
// that what grows is the publisher.
func rawSubscriber(addr string) (net.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	enc := wire.NewEncoder(0)
	if err := wire.WriteBanner(c, wire.BannerSync); err != nil {
		c.Close()
		return nil, err
	}
	if err := enc.Write(c, map[string]any{"t": "subscribe", "notifier": "bench", "epoch": 0, "seq": 0}); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// drainSync reads a raw subscriber's initial sync (up to the synced
// marker).
func drainSync(c net.Conn) error {
	r := bufio.NewReader(c)
	var buf []byte
	for {
		b, err := wire.ReadFrame(r, buf, 1<<20)
		if err != nil {
			return err
		}
		buf = b
		if strings.Contains(string(b), "synced") {
			return nil
		}
	}
}

func memNow() (heap, stacks uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, ms.StackInuse
}

// syncIdle returns the publisher's memory per idle subscriber in KiB.
func syncIdle(n int) (float64, error) {
	f, err := newFanout(fanoutConfig{large: true, rawClients: true})
	if err != nil {
		return 0, err
	}
	defer f.close()
	// The raw clients' own connections are in this process too: measure
	// them alone first and take them out.
	h0, s0 := memNow()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := rawSubscriber(f.addr)
		if err != nil {
			return 0, err
		}
		conns = append(conns, c)
		if err := drainSync(c); err != nil {
			return 0, err
		}
	}
	for f.p.Stats().Subscribers < n {
		time.Sleep(time.Millisecond)
	}
	h1, s1 := memNow()
	perSub := float64(int64(h1-h0)+int64(s1-s0)) / float64(n)
	return perSub / 1024, nil
}

// syncStalled runs a fan-out with one subscriber that never reads and
// returns the largest growth of the live heap seen and the bound, in MiB.
// The other subscribers are raw connections read into io.Discard, so that
// the heap measured is the publisher's.
func syncStalled(subs, mods int) (float64, float64, error) {
	f, err := newFanout(fanoutConfig{large: true, rawClients: true})
	if err != nil {
		return 0, 0, err
	}
	defer f.close()
	var readers sync.WaitGroup
	defer readers.Wait()
	for range subs {
		c, err := rawSubscriber(f.addr)
		if err != nil {
			return 0, 0, err
		}
		defer c.Close()
		readers.Add(1)
		go func() {
			defer readers.Done()
			io.Copy(io.Discard, c)
		}()
	}
	// Fill the history to its bound first, so the baseline includes it.
	fill := 1 << 16 // the default HistoryLen
	if err := f.publish(fill); err != nil {
		return 0, 0, err
	}
	stalled, err := rawSubscriber(f.addr)
	if err != nil {
		return 0, 0, err
	}
	defer stalled.Close()
	for f.p.Stats().Subscribers < subs+1 {
		time.Sleep(time.Millisecond)
	}
	// Sample the live heap at checkpoints, with the publishing loop
	// paused: a sample taken while it allocates counts what it allocates
	// during the collection as live.
	base, _ := memNow()
	var peak uint64
	const checkpoints = 20
	for range checkpoints {
		if err := f.publish(mods / checkpoints); err != nil {
			return 0, 0, err
		}
		if h, _ := memNow(); h > peak {
			peak = h
		}
	}
	if st := f.p.Stats(); st.Subscribers != subs+1 {
		return 0, 0, fmt.Errorf("%d sessions open, want %d: the stalled subscriber was dropped", st.Subscribers, subs+1)
	}
	var snap int
	f.n.Read(func(tree any) {
		for k, v := range tree.(map[string]any)["data"].(map[string]any) {
			snap += len(k) + len(v.(string)) + 4
		}
	})
	growth := float64(int64(peak)-int64(base)) / (1 << 20)
	bound := float64(historySize+snap) / (1 << 20)
	return max(growth, 0), bound, nil
}

// countingListener counts the bytes written to the connections it accepts.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.n}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// modWireSize returns the bytes the publisher writes per benchmark mod to
// one subscriber (frame header included), so that the peers move messages
// of the same size: one subscriber, 1,000 mods after the initial sync.
func modWireSize() (int, error) {
	var written atomic.Int64
	f, err := newFanout(fanoutConfig{large: true, wrap: func(ln net.Listener) net.Listener { return countingListener{ln, &written} }})
	if err != nil {
		return 0, err
	}
	defer f.close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const mods = 1000
	c := &counter{target: mods, done: make(chan struct{})}
	s := syncstruct.NewSubscriber(f.addr, "bench", syncstruct.SubscriberOptions{OnMod: []func(any, *syncstruct.Mod){c.onMod}})
	defer s.Close()
	if err := s.WaitSynced(ctx); err != nil {
		return 0, err
	}
	before := written.Load()
	if err := f.publish(mods); err != nil {
		return 0, err
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return int((written.Load() - before + mods/2) / mods), nil
}
