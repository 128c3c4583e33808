package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigoco/sigoco/syncstruct"
	"github.com/sigoco/sigoco/wire"
)

// The sync suite's memory figures (sync.idle_subscriber.kib,
// sync.stalled.*) and the size of a benchmark mod on the wire.

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

// Write counts the bytes before it writes them: counted after, they could
// reach the subscriber (and the reader of the count) before the count.
func (c countingConn) Write(b []byte) (int, error) {
	c.n.Add(int64(len(b)))
	n, err := c.Conn.Write(b)
	c.n.Add(int64(n - len(b)))
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
	s, err := syncstruct.NewSubscriber(f.addr, "bench", syncstruct.SubscriberOptions{OnMod: []func(any, *syncstruct.Mod){c.onMod}})
	if err != nil {
		return 0, err
	}
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
