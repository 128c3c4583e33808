package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sigoco/sigoco/syncstruct"
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
	// A round of bursts of 2,000,000 deliveries each takes 5-30 s on a
	// shared 2-core machine: quick runs make three (a ratio from one round
	// swung by 15% from run to run), and the slow peers one.
	rounds, slowRounds := 7, 3
	if cfg.quick {
		idle, rounds, slowRounds, stalledMods = 200, 3, 1, 25000
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
	payload, err := modWireSize()
	if err != nil {
		return nil, fmt.Errorf("mod size: %w", err)
	}
	ns, err := startNATSServer(true)
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	defer ns.stop()
	// Rounds alternate sigoco and its peers, in an order that rotates from
	// one round to the next; a rate is the median of its rounds, a ratio
	// the median of its rounds' ratios (each against the sigoco run of the
	// same round, so a drift of the machine cancels out). The slow peers
	// (naive JSON, JetStream KV) run in the first slowRounds rounds only,
	// with a quarter of the mods (their figures are rates):
	//   - sigoco with queues large enough for the burst (every mod
	//     delivered and applied as a mod, 0 resyncs);
	//   - sigoco with its default options (resyncs allowed), counted until
	//     every replica has reached the final state;
	//   - a naive Go port of SiPyCo's design (a queue per subscriber, each
	//     mod encoded as a JSON line for each subscriber, one write per
	//     mod);
	//   - NATS core pub/sub, the same count of messages of the same size;
	//   - NATS JetStream KV watchers.
	large := &fanoutRun{run: func() (burst, error) { return syncFanout(subs, mods, true) }}
	conv := &fanoutRun{run: func() (burst, error) { return syncFanout(subs, mods, false) }}
	naive := &fanoutRun{slow: true, run: func() (burst, error) {
		r, err := naiveFanout(subs, mods/4)
		return burst{rate: r}, err
	}}
	natsCore := &fanoutRun{run: func() (burst, error) { return natsFanout(ns, subs, mods, payload) }}
	kv := &fanoutRun{slow: true, run: func() (burst, error) {
		r, err := natsKVFanout(ns, subs, mods/4, payload)
		return burst{rate: r}, err
	}}
	runs := []*fanoutRun{large, natsCore, conv, naive, kv}
	names := map[*fanoutRun]string{large: "fanout", natsCore: "nats fanout", conv: "converge fanout", naive: "naive fanout", kv: "nats kv fanout"}
	for r := range rounds {
		for i := range runs {
			fr := runs[(i+r)%len(runs)]
			if fr.slow && r >= slowRounds {
				fr.rates, fr.cpus = append(fr.rates, 0), append(fr.cpus, 0) // keeps the rounds aligned
				continue
			}
			b, err := fr.run()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", names[fr], err)
			}
			fr.rates, fr.cpus, fr.count = append(fr.rates, b.rate), append(fr.cpus, b.cpuNs), fr.count+b.count
		}
	}
	name := fmt.Sprintf("sync.fanout%d", subs)
	out := []result{
		{name + ".deliveries_per_s", syncMedian(large.rates), "1/s"},
		{name + ".resyncs", float64(large.count), "count"},
		{name + ".vs_naive_json", pairedRatio(large.rates, naive.rates, true), "x"},
		{fmt.Sprintf("nats.fanout%d.deliveries_per_s", subs), syncMedian(natsCore.rates), "1/s"},
		{fmt.Sprintf("nats.fanout%d.dropped", subs), float64(natsCore.count), "count"},
		{fmt.Sprintf("nats.fanout%d.payload_bytes", subs), float64(payload), "bytes"},
		{name + ".vs_nats", pairedRatio(large.rates, natsCore.rates, true), "x"},
		{name + ".cpu_ns_per_delivery", syncMedian(large.cpus), "ns"},
		{fmt.Sprintf("nats.fanout%d.cpu_ns_per_delivery", subs), syncMedian(natsCore.cpus), "ns"},
		{name + ".cpu.vs_nats", pairedRatio(large.cpus, natsCore.cpus, false), "x"},
		{name + ".converge.deliveries_per_s", syncMedian(conv.rates), "1/s"},
		{name + ".converge.resyncs", float64(conv.count), "count"},
		{name + ".converge.vs_nats", pairedRatio(conv.rates, natsCore.rates, true), "x"},
		{fmt.Sprintf("nats_kv.fanout%d.deliveries_per_s", subs), syncMedian(nonZero(kv.rates)), "1/s"},
		{fmt.Sprintf("sync.kv_fanout%d.vs_nats_kv", subs), pairedRatio(large.rates, kv.rates, true), "x"},
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

// syncFanout returns the burst's rate and CPU cost, and the resyncs that
// happened. large: queues large enough for the burst, and every subscriber must apply
// every mod as a mod; otherwise the default options, and every replica
// must reach the final state (through mods or snapshots).
func syncFanout(subs, mods int, large bool) (burst, error) {
	f, err := newFanout(fanoutConfig{large: large})
	if err != nil {
		return burst{}, err
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
		s, err := syncstruct.NewSubscriber(f.addr, "bench", syncstruct.SubscriberOptions{OnMod: []func(any, *syncstruct.Mod){counters[i].onMod}})
		if err != nil {
			return burst{}, err
		}
		defer s.Close()
		if err := s.WaitSynced(ctx); err != nil {
			return burst{}, err
		}
	}
	runtime.GC()
	clock := startClock()
	if err := f.publish(mods); err != nil {
		return burst{}, err
	}
	for _, c := range counters {
		select {
		case <-c.done:
		case <-ctx.Done():
			c.mu.Lock()
			defer c.mu.Unlock()
			return burst{}, fmt.Errorf("a subscriber applied %d of %d mods (resyncs: %d)", c.n, mods, f.p.Stats().Resyncs)
		}
	}
	b := clock.stop(subs * mods)
	b.count = f.p.Stats().Resyncs
	return b, nil
}

// burst is what one fan-out burst measured: deliveries per second, the
// process's CPU time (both ends: they are all in this process) per
// delivery in nanoseconds (0 where the platform does not say), and a
// count (resyncs, drops).
type burst struct {
	rate  float64
	cpuNs float64
	count uint64
}

// clock times a burst in wall-clock and CPU time.
type clock struct {
	wall time.Time
	cpu  time.Duration
}

func startClock() clock { return clock{time.Now(), processCPU()} }

func (c clock) stop(deliveries int) burst {
	elapsed, cpu := time.Since(c.wall), processCPU()-c.cpu
	b := burst{rate: float64(deliveries) / elapsed.Seconds()}
	if c.cpu > 0 {
		b.cpuNs = float64(cpu.Nanoseconds()) / float64(deliveries)
	}
	return b
}

// fanoutRun is one contender of the fan-out rounds: its rates and CPU
// costs (one per round; 0 for a round it sat out) and the sum of its
// counts (resyncs or drops).
type fanoutRun struct {
	slow  bool
	run   func() (burst, error)
	rates []float64
	cpus  []float64 // CPU ns per delivery, one per round (0: sat out)
	count uint64
}

// nonZero drops the rounds a contender sat out.
func nonZero(v []float64) []float64 {
	var out []float64
	for _, x := range v {
		if x != 0 {
			out = append(out, x)
		}
	}
	return out
}

// pairedRatio is the median over the rounds of sigoco[i]/peer[i] (rates:
// higher is better) or peer[i]/sigoco[i] (times, rates false); rounds the
// peer sat out (0) are skipped.
func pairedRatio(sigoco, peer []float64, rates bool) float64 {
	var r []float64
	for i := range min(len(sigoco), len(peer)) {
		if sigoco[i] == 0 || peer[i] == 0 {
			continue
		}
		if rates {
			r = append(r, sigoco[i]/peer[i])
		} else {
			r = append(r, peer[i]/sigoco[i])
		}
	}
	if len(r) == 0 {
		return 0
	}
	return syncMedian(r)
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
	runtime.GC()
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
