package syncstruct

import (
	"fmt"
	"sync"
	"testing"
)

// recorder collects what a Subscriber's callbacks see.
type recorder struct {
	mu          sync.Mutex
	mods        []Mod
	syncs       []SyncInfo
	resyncs     []SyncInfo
	disconnects int
	errs        []error // disconnect errors
}

func (r *recorder) opts() SubscriberOptions {
	return SubscriberOptions{
		OnMod: []func(any, *Mod){func(_ any, m *Mod) {
			r.mu.Lock()
			r.mods = append(r.mods, *m)
			r.mu.Unlock()
		}},
		OnSynced: func(i SyncInfo) {
			r.mu.Lock()
			r.syncs = append(r.syncs, i)
			r.mu.Unlock()
		},
		OnResync: func(i SyncInfo) {
			r.mu.Lock()
			r.resyncs = append(r.resyncs, i)
			r.mu.Unlock()
		},
		OnDisconnect: func(err error) {
			r.mu.Lock()
			r.disconnects++
			r.errs = append(r.errs, err)
			r.mu.Unlock()
		},
	}
}

// since returns the mods seen from index i on.
func (r *recorder) since(i int) []Mod {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Mod(nil), r.mods[i:]...)
}

func (r *recorder) count() (mods, syncs, disconnects int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.mods), len(r.syncs), r.disconnects
}

func (r *recorder) lastSync() SyncInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.syncs[len(r.syncs)-1]
}

// TestResume cuts a subscriber's connection, publishes N mods and lets it
// reconnect: it must receive exactly those N mods when the history holds
// them, and a snapshot (told why) when it does not.
func TestResume(t *testing.T) {
	const N = 50
	for _, kind := range transports {
		for _, fits := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/history-holds-them=%v", kind, fits), func(t *testing.T) {
				histLen := 2 * N
				if !fits {
					histLen = N / 2
				}
				n := mustNotifier(t, map[string]any{"l": []any{}}, NotifierOptions{HistoryLen: histLen})
				p := NewPublisher(map[string]*Notifier{"s": n}, PublisherOptions{})
				ep := serve(t, p, kind)
				px, pep := newProxy(t, ep)
				var rec recorder
				s := subscribe(t, pep, "s", rec.opts())
				waitSynced(t, s)
				must(t, n.At("l").Append("before"))
				waitReplica(t, s, n)

				px.cut()
				waitFor(t, "the disconnect", func() bool { _, _, d := rec.count(); return d == 1 })
				if st, _ := s.State(); st != StateReconnecting {
					t.Fatalf("state %v after the cut", st)
				}
				mark, syncs, _ := rec.count()
				for i := range N {
					must(t, n.At("l").Append(i))
				}
				px.restore()
				waitFor(t, "the second sync", func() bool { _, k, _ := rec.count(); return k == syncs+1 })
				waitReplica(t, s, n)

				got := rec.since(mark)
				info := rec.lastSync()
				if fits {
					if !info.Resumed || info.Reason != "" || len(got) != N {
						t.Fatalf("resume: info %+v, %d mods; want resumed with %d mods", info, len(got), N)
					}
					for i, m := range got {
						if m.Action != ActAppend || !Equal(m.X, int64(i)) || m.Seq != uint64(i+2) {
							t.Fatalf("mod %d is %+v", i, m)
						}
					}
					if len(rec.resyncs) != 0 {
						t.Fatalf("OnResync called: %+v", rec.resyncs)
					}
				} else {
					if info.Resumed || info.Reason != ReasonHistory || len(got) != 1 || got[0].Action != ActInit {
						t.Fatalf("snapshot: info %+v, mods %v; want one init for reason %q", info, got, ReasonHistory)
					}
					if len(rec.resyncs) != 1 || rec.resyncs[0].Reason != ReasonHistory {
						t.Fatalf("OnResync saw %+v", rec.resyncs)
					}
				}
			})
		}
	}
}

// TestResumeAcrossPublisherRestart: a new notifier under the same name has
// a new epoch, so a reconnecting subscriber gets a snapshot.
func TestResumeAcrossEpochs(t *testing.T) {
	n1 := mustNotifier(t, map[string]any{"v": 1}, NotifierOptions{})
	p := NewPublisher(map[string]*Notifier{"s": n1}, PublisherOptions{})
	ep := serve(t, p, "tcp")
	var rec recorder
	s := subscribe(t, ep, "s", rec.opts())
	waitSynced(t, s)
	_, syncs, _ := rec.count()

	n2 := mustNotifier(t, map[string]any{"v": 2}, NotifierOptions{})
	p.Remove("s")
	must(t, p.Add("s", n2))
	waitFor(t, "the second sync", func() bool { _, k, _ := rec.count(); return k == syncs+1 })
	waitReplica(t, s, n2)
	if info := rec.lastSync(); info.Resumed || info.Reason != ReasonEpoch || info.Epoch != n2.Epoch() {
		t.Fatalf("sync info %+v", info)
	}
}
