package syncstruct

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/pyon"
)

// TestPropertyReplicasConverge makes thousands of random mutations on a
// nested tree while many subscribers (TCP and WebSocket) follow it, some
// of them cut off and reconnecting mid-stream, one stalled for a third of
// the run. At the end every replica must equal the publisher's tree
// exactly, and the subscribers nobody cut must never have been
// disconnected.
func TestPropertyReplicasConverge(t *testing.T) {
	steps := 5000
	if testing.Short() {
		steps = 1500
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))

	n := mustNotifier(t, map[string]any{"runs": map[string]any{}, "counts": []any{}, "status": "idle"},
		NotifierOptions{HistoryLen: steps / 10}) // small: reconnecting subscribers sometimes resume, sometimes resync
	// A heartbeat far longer than the run: the stall below withholds the
	// publisher's bytes, pings included, for a quarter of the steps, which
	// on a loaded machine (-race, -count=20, other processes) can last
	// longer than the default heartbeat timeout (6 s), and the stalled
	// subscriber then rightly gives up on a publisher that seems dead.
	// This test is about what replicas converge to, not about heartbeats
	// (TestHeartbeatTimeoutError and stalled_test.go are).
	p := NewPublisher(map[string]*Notifier{"state": n}, PublisherOptions{QueueBytes: 256 << 10, HeartbeatInterval: time.Minute})
	tcp, ws := serve(t, p, "tcp"), serve(t, p, "ws")

	type follower struct {
		name string
		s    *Subscriber
		rec  *recorder
		cut  bool // disconnections are expected
	}
	var fs []follower
	add := func(name string, ep endpoint, cut bool) {
		rec := &recorder{}
		o := rec.opts()
		if cut {
			// Reconnect promptly: this test is about what a reconnection
			// delivers, and the default backoff (up to 5 s, jittered)
			// after the long cut can outlast waitReplica on a loaded machine.
			o.MinBackoff, o.MaxBackoff = 10*time.Millisecond, 200*time.Millisecond
		}
		fs = append(fs, follower{name, subscribe(t, ep, "state", o), rec, cut})
	}
	for i := range 3 {
		add(fmt.Sprint("tcp", i), tcp, false)
		add(fmt.Sprint("ws", i), ws, false)
	}
	cutTCP, cutTCPEp := newProxy(t, tcp)
	cutWS, cutWSEp := newProxy(t, ws)
	add("tcp-cut", cutTCPEp, true)
	add("ws-cut", cutWSEp, true)
	stall, stallEp := newProxy(t, tcp)
	add("tcp-stalled", stallEp, false)
	for _, f := range fs {
		waitSynced(t, f.s)
	}
	// Readers of the replicas, all along (the race detector watches),
	// paced so as not to starve the rest of the test.
	stopReaders := make(chan struct{})
	var readers sync.WaitGroup
	for _, f := range fs[:2] {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stopReaders:
					return
				default:
				}
				f.s.Read(func(tree any) { Equal(tree, tree) })
				f.s.Copy()
				time.Sleep(time.Millisecond)
			}
		}()
	}
	defer func() {
		close(stopReaders)
		readers.Wait()
	}()

	// The schedule, in steps: two short cuts (the missed mods fit in the
	// history: resume) and a long one (they do not: snapshot), and a
	// stall of a quarter of the run.
	cuts := [][2]int{{steps / 10, steps/10 + steps/50}, {2 * steps / 5, 3 * steps / 5}, {4 * steps / 5, 4*steps/5 + steps/50}}
	// About 3 MB of blobs during the stall, whatever the step count.
	blobSize := (3 << 20) / (steps / 8)
	var applied, refused int
	for step := range steps {
		switch step {
		case steps / 4:
			stall.stall()
		case steps / 2:
			stall.unstall()
		}
		for _, c := range cuts {
			switch step {
			case c[0]:
				cutTCP.cut()
				cutWS.cut()
			case c[1]:
				cutTCP.restore()
				cutWS.restore()
			}
		}
		if stall.stalled && step%2 == 0 {
			// Large values while one subscriber is stalled: more than
			// socket buffers hold, so it falls truly behind.
			must(t, n.Set("blob", fmt.Sprintf("%d%0*d", step, blobSize, 0)))
		}
		if randomMutation(t, rng, n) {
			applied++
		} else {
			refused++
		}
		if step%50 == 49 {
			// Let the direct subscribers catch up now and then, so that
			// most mods reach them as mods rather than in resyncs.
			seq := n.Seq()
			for _, f := range fs[:6] {
				waitFor(t, "a subscriber to catch up", func() bool { _, q := f.s.Position(); return q >= seq })
			}
		}
	}
	cutTCP.restore()
	cutWS.restore()
	t.Logf("%d mods applied, %d invalid mutations refused, seq %d", applied, refused, n.Seq())
	for _, f := range fs {
		t.Logf("checking %s", f.name)
		waitReplica(t, f.s, n)
		_, _, disc := f.rec.count()
		if !f.cut && disc != 0 {
			st, err := f.s.State()
			t.Errorf("%s was disconnected %d times (state %v, last error %v)", f.name, disc, st, err)
		}
		f.rec.mu.Lock()
		var resumed, snapshots int
		for _, si := range f.rec.syncs {
			if si.Resumed {
				resumed++
			} else {
				snapshots++
			}
		}
		f.rec.mu.Unlock()
		t.Logf("%s: %d disconnects, %d resumes, %d snapshots", f.name, disc, resumed, snapshots)
		if f.cut && (disc == 0 || resumed == 0) {
			t.Errorf("%s was cut off %d times and resumed %d times: the test did not test reconnection", f.name, disc, resumed)
		}
	}
	stalled := fs[len(fs)-1].rec
	stalled.mu.Lock()
	defer stalled.mu.Unlock()
	if len(stalled.resyncs) == 0 || stalled.resyncs[0].Reason != ReasonBehind {
		t.Errorf("the stalled subscriber's resyncs: %+v; want one because it fell behind", stalled.resyncs)
	}
}

// randomMutation makes one random mutation through n's API and reports whether it
// was valid. A mutation the test knows to be invalid must be refused with
// the right error.
func randomMutation(t *testing.T, rng *rand.Rand, n *Notifier) bool {
	t.Helper()
	var path []any
	var node any
	n.Read(func(tree any) {
		node = tree
		for depth := 0; depth < 5 && rng.IntN(4) != 0; depth++ {
			keys := childContainers(node)
			if len(keys) == 0 {
				break
			}
			k := keys[rng.IntN(len(keys))]
			path = append(path, k)
			node, _ = getChild(node, k)
		}
		node = Copy(node)
	})
	at := n.At(path...)
	if rng.IntN(200) == 0 {
		// Now and then, a whole-tree update: the tree with one change deep
		// inside, sent by UpdateFrom as a handful of mods.
		src := n.Copy()
		if m := randomMod(rng, src); m != nil {
			if out, err := Apply(src, m); err == nil {
				must(t, UpdateFrom(n, out))
				return true
			}
		}
	}
	switch x := node.(type) {
	case map[string]any, pyon.Dict:
		keys := dictKeys(x)
		size := len(keys)
		switch r := rng.IntN(10); {
		case r < 4 || size == 0:
			must(t, at.Set(randomKey(rng), randomValue(rng, 0)))
			return true
		case r < 6:
			must(t, at.Set(keys[rng.IntN(size)], randomValue(rng, 0)))
			return true
		case r < 9:
			must(t, at.Delete(keys[rng.IntN(size)]))
			return true
		default:
			if err := at.Delete("no such key"); !errors.Is(err, ErrNoKey) {
				t.Fatalf("deleting a missing key: %v", err)
			}
			return false
		}
	case []any:
		size := len(x)
		switch r := rng.IntN(10); {
		case r < 3:
			must(t, at.Append(randomValue(rng, 0)))
		case r < 5:
			must(t, at.Insert(rng.IntN(size+5)-(size+5)/2, randomValue(rng, 0)))
		case r < 7 && size > 0:
			i := rng.IntN(size)
			want := x[i]
			got, err := at.Pop(i)
			must(t, err)
			if !Equal(got, want) {
				t.Fatalf("pop(%d) = %#v, want %#v", i, got, want)
			}
		case r < 8 && size > 0:
			must(t, at.Set(rng.IntN(size), randomValue(rng, 0)))
		case r < 9 && size > 0:
			must(t, at.Delete(-1-rng.IntN(size)))
		default:
			if _, err := at.Pop(size); !errors.Is(err, ErrIndex) {
				t.Fatalf("pop(%d) of a list of %d: %v", size, size, err)
			}
			return false
		}
		return true
	}
	t.Fatalf("walked to a %T", node)
	return false
}

// randomMod returns a random valid-looking mod on tree's root, or nil.
func randomMod(rng *rand.Rand, tree any) *Mod {
	keys := childContainers(tree)
	if len(keys) == 0 {
		return nil
	}
	k := keys[rng.IntN(len(keys))]
	child, _ := getChild(tree, k)
	switch child.(type) {
	case []any:
		return &Mod{Action: ActAppend, Path: []any{k}, X: randomValue(rng, 1)}
	default:
		return &Mod{Action: ActSetItem, Path: []any{k}, Key: randomKey(rng), Value: randomValue(rng, 1)}
	}
}

// childContainers lists the keys of node's children that are dicts or
// lists (into which a mutation may go).
func childContainers(node any) []any {
	var out []any
	switch x := node.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k, v := range x {
			if kind(v) != kindOther {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys) // deterministic for a given seed
		for _, k := range keys {
			out = append(out, k)
		}
	case pyon.Dict:
		for _, it := range x {
			if kind(it.Value) != kindOther {
				out = append(out, it.Key)
			}
		}
	case []any:
		for i, v := range x {
			if kind(v) != kindOther {
				out = append(out, int64(i))
			}
		}
	}
	return out
}

func randomKey(rng *rand.Rand) any {
	switch rng.IntN(12) {
	case 0:
		return rng.IntN(5) // a non-string key: the dict becomes a pyon.Dict
	case 1:
		return pyon.Tuple{rng.IntN(3), "t"}
	default:
		return fmt.Sprint("k", rng.IntN(12))
	}
}

func randomValue(rng *rand.Rand, depth int) any {
	r := rng.IntN(14)
	if depth >= 3 && r >= 10 {
		r = rng.IntN(10)
	}
	switch r {
	case 0:
		return nil
	case 1:
		return rng.IntN(2) == 0
	case 2:
		return rng.Int64() - 1<<62
	case 3:
		return rng.NormFloat64()
	case 4, 5:
		return fmt.Sprint("s", rng.IntN(1000))
	case 6:
		return []byte{byte(rng.IntN(256)), 0, 1}
	case 7:
		return pyon.Tuple{rng.IntN(10), "x"}
	case 8:
		return uint64(1<<63) + uint64(rng.IntN(10))
	case 9:
		return complex(rng.Float64(), -1)
	case 10, 11:
		m := map[string]any{}
		for range rng.IntN(4) {
			m[fmt.Sprint("k", rng.IntN(12))] = randomValue(rng, depth+1)
		}
		return m
	default:
		l := []any{}
		for range rng.IntN(4) {
			l = append(l, randomValue(rng, depth+1))
		}
		return l
	}
}
