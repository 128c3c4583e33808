package main

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The NATS fan-out peers. Every subscriber and the publisher has its own
// connection to the embedded server (see nats.go), as separate programs
// would, with nats.go's default options.
//
//   - natsFanout: core pub/sub. The publisher publishes the messages on
//     one subject and flushes; each subscriber counts what its callback
//     receives. The figure counts the time until every subscriber has
//     received every message. NATS moves the bytes and nothing else: no
//     encoding, no replica, no sequence numbers, no history.
//   - natsKVFanout: JetStream key-value, NATS's replicated state. A
//     memory-backed bucket (history 1) holds the same 1,000 keys; each
//     subscriber watches the whole bucket (kv.WatchAll: an ordered push
//     consumer); the publisher writes the same keys with asynchronous
//     publishes to the bucket's subjects (what kv.Put sends, without
//     waiting for each acknowledgement; all of them may be in flight) and
//     waits for every acknowledgement. The figure counts the time until every watcher has
//     seen the last write.

// natsFanout returns the burst's rate and CPU cost, and the messages the
// subscriptions dropped (0 unless a subscriber was a slow consumer, which
// then also fails the run).
func natsFanout(ns *natsServer, subs, msgs, size int) (burst, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var conns []*nats.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	subsList := make([]*nats.Subscription, subs)
	dones := make([]chan struct{}, subs)
	counts := make([]atomic.Int64, subs)
	for i := range subs {
		c, err := ns.connect()
		if err != nil {
			return burst{}, err
		}
		conns = append(conns, c)
		done := make(chan struct{})
		dones[i] = done
		n := &counts[i]
		sub, err := c.Subscribe("bench.data", func(*nats.Msg) {
			if n.Add(1) == int64(msgs) {
				close(done)
			}
		})
		if err != nil {
			return burst{}, err
		}
		subsList[i] = sub
		// The subscription is registered at the server once Flush
		// returns.
		if err := c.Flush(); err != nil {
			return burst{}, err
		}
	}
	pub, err := ns.connect()
	if err != nil {
		return burst{}, err
	}
	conns = append(conns, pub)
	payload := []byte(strings.Repeat("x", size))
	runtime.GC() // as before sigoco's burst: no debt from the last contender
	clock := startClock()
	for range msgs {
		if err := pub.Publish("bench.data", payload); err != nil {
			return burst{}, err
		}
	}
	if err := pub.Flush(); err != nil {
		return burst{}, err
	}
	for i, done := range dones {
		select {
		case <-done:
		case <-ctx.Done():
			d, _ := subsList[i].Dropped()
			return burst{}, fmt.Errorf("a subscriber received %d of %d messages (dropped: %d)", counts[i].Load(), msgs, d)
		}
	}
	b := clock.stop(subs * msgs)
	for _, s := range subsList {
		d, _ := s.Dropped()
		b.count += uint64(d)
	}
	return b, nil
}

// natsKVFanout returns deliveries per second: writes times watchers over
// the time until every watcher has seen the last write.
func natsKVFanout(ns *natsServer, subs, writes, size int) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var conns []*nats.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	pub, err := ns.connect()
	if err != nil {
		return 0, err
	}
	conns = append(conns, pub)
	// Allow every write of the burst in flight: the default (4,000) stalls
	// the publisher for good on a loaded machine.
	js, err := jetstream.New(pub, jetstream.WithPublishAsyncMaxPending(writes+1))
	if err != nil {
		return 0, err
	}
	const bucket = "bench"
	js.DeleteKeyValue(ctx, bucket) // from an earlier round
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket, Storage: jetstream.MemoryStorage, History: 1})
	if err != nil {
		return 0, err
	}
	defer js.DeleteKeyValue(context.Background(), bucket)
	var last uint64
	for i := range fanoutKeys {
		if last, err = kv.Put(ctx, fmt.Sprint("k", i), nil); err != nil {
			return 0, err
		}
	}
	final := last + uint64(writes)

	var watchers sync.WaitGroup
	errs := make(chan error, subs)
	ready := make(chan struct{}, subs)
	wctx, stopWatchers := context.WithCancel(ctx)
	defer func() { stopWatchers(); watchers.Wait() }()
	for range subs {
		c, err := ns.connect()
		if err != nil {
			return 0, err
		}
		conns = append(conns, c)
		cjs, err := jetstream.New(c)
		if err != nil {
			return 0, err
		}
		ckv, err := cjs.KeyValue(ctx, bucket)
		if err != nil {
			return 0, err
		}
		w, err := ckv.WatchAll(wctx)
		if err != nil {
			return 0, err
		}
		watchers.Add(1)
		go func() {
			defer watchers.Done()
			defer w.Stop()
			for {
				select {
				case e := <-w.Updates():
					if e == nil { // the end of the initial values
						ready <- struct{}{}
						continue
					}
					if e.Revision() >= final {
						errs <- nil
						return
					}
				case <-wctx.Done():
					errs <- wctx.Err()
					return
				}
			}
		}()
	}
	for range subs {
		select {
		case <-ready:
		case <-ctx.Done():
			return 0, fmt.Errorf("watchers not ready: %w", ctx.Err())
		}
	}
	payload := []byte(strings.Repeat("x", size))
	runtime.GC()
	start := time.Now()
	for i := range writes {
		if _, err := js.PublishAsync("$KV."+bucket+".k"+fmt.Sprint(i%fanoutKeys), payload); err != nil {
			return 0, err
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return 0, fmt.Errorf("writes not acknowledged: %w", ctx.Err())
	}
	for range subs {
		if err := <-errs; err != nil {
			return 0, fmt.Errorf("a watcher did not see the last write: %w", err)
		}
	}
	elapsed := time.Since(start)
	return float64(subs*writes) / elapsed.Seconds(), nil
}
