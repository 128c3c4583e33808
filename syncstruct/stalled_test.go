package syncstruct

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestStalledSubscriber stalls one subscriber's socket while 10,000 mods
// flow. The publisher's memory must stay within its bounds, the stalled
// subscriber must stay connected (no reconnect storm), the others must get
// every mod while it is still stalled, and once it reads again it must get
// a fresh snapshot, told it is a resync, instead of its backlog.
func TestStalledSubscriber(t *testing.T) {
	const (
		mods       = 10000
		queueBytes = 256 << 10
		histBytes  = 1 << 20
	)
	n := mustNotifier(t, map[string]any{"k": map[string]any{}}, NotifierOptions{HistoryBytes: histBytes})
	// The stalled subscriber hears nothing, the publisher's pings
	// included, for as long as the stall lasts, and would rightly give the
	// publisher up after three heartbeat intervals and come back with a
	// history resync: a loaded machine can take longer than the default
	// 6 s over the 10,000 mods. Its own timeout is not under test (the
	// publisher's patience is), so the heartbeat is long.
	p := NewPublisher(map[string]*Notifier{"s": n}, PublisherOptions{QueueBytes: queueBytes, HeartbeatInterval: time.Minute})
	ep := serve(t, p, "tcp")

	var stuckRec recorder
	px, pep := newProxy(t, ep)
	stuck := subscribe(t, pep, "s", stuckRec.opts())
	waitSynced(t, stuck)
	others := make([]*Subscriber, 3)
	for i := range others {
		others[i] = subscribe(t, ep, "s", SubscriberOptions{})
		waitSynced(t, others[i])
	}

	px.stall()
	value := strings.Repeat("v", 1000) // 10 MB in all: far more than socket buffers hold
	var half uint64
	for i := range mods {
		if i == mods/2 {
			// By now the history is full and every key exists: from here
			// on, a queue per subscriber would be all that grows. Measure
			// with the healthy subscribers caught up, as at the end.
			for _, o := range others {
				waitReplica(t, o, n)
			}
			half = heapInUse()
		}
		must(t, n.At("k").Set(fmt.Sprint(i%500), value))
	}
	// Every other subscriber has every mod while the stalled one still
	// has not read a byte: it holds nobody up.
	for _, o := range others {
		waitReplica(t, o, n)
	}
	if _, seq := stuck.Position(); seq >= n.Seq() {
		t.Fatalf("the stalled subscriber is at %d: the stall did not hold", seq)
	}
	growth := int64(heapInUse()) - int64(half)
	backlog := int64(mods / 2 * (len(value) + 20)) // what the second half would queue
	t.Logf("heap growth over the last %d mods while stalled: %d KiB (a queue would hold %d KiB)", mods/2, growth>>10, backlog>>10)
	// The bound: the queue bound plus one snapshot (which the
	// stalled session may be blocked writing), plus slack for the runtime.
	pieces, _, err := n.snapshot(encMsgpack, true)
	must(t, err)
	snapshot := 0
	for _, p := range pieces {
		snapshot += len(p)
	}
	if limit := int64(queueBytes + snapshot + 256<<10); growth > limit {
		t.Fatalf("publisher heap grew by %d bytes over %d mods while a subscriber was stalled; limit %d", growth, mods/2, limit)
	}
	if st := p.Stats(); st.Subscribers != 4 {
		t.Fatalf("%d sessions open, want 4 (the stalled subscriber must not be dropped)", st.Subscribers)
	}

	_, syncs, _ := stuckRec.count()
	px.unstall()
	waitFor(t, "the resync", func() bool { _, k, _ := stuckRec.count(); return k > syncs })
	waitReplica(t, stuck, n)
	stuckRec.mu.Lock()
	defer stuckRec.mu.Unlock()
	if len(stuckRec.resyncs) == 0 || stuckRec.resyncs[0].Reason != ReasonBehind {
		t.Fatalf("resyncs %+v, want one for reason %q (disconnections: %v)", stuckRec.resyncs, ReasonBehind, stuckRec.errs)
	}
	if stuckRec.disconnects != 0 {
		t.Fatalf("the stalled subscriber was disconnected %d times", stuckRec.disconnects)
	}
	if got := len(stuckRec.mods); got > mods/2 {
		t.Fatalf("the stalled subscriber received %d mods: its backlog was not dropped", got)
	}
	if p.Stats().Resyncs == 0 {
		t.Fatal("publisher counted no resync")
	}
}
