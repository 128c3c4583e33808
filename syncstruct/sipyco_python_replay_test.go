package syncstruct

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/internal/sipycotest"
)

// pyReplayEvent is one event of sync_subscriber.py --replicas: the
// replica is PYON text in mod events, described in init and done events.
type pyReplayEvent struct {
	Event   string          `json:"event"`
	Reason  string          `json:"reason"`
	Replica json.RawMessage `json:"replica"`
}

func (ev pyReplayEvent) tree(t testing.TB) any {
	t.Helper()
	var text string
	if json.Unmarshal(ev.Replica, &text) != nil {
		var d pyDescribed
		if err := json.Unmarshal(ev.Replica, &d); err != nil {
			t.Fatalf("event %+v: %v", ev, err)
		}
		text = d.PYON
	}
	return decodeReplica(t, syncReplica{Replica: text})
}

// Optional: real SiPyCo. TestSiPyCoReplayPublisher's sessions with SiPyCo's
// own Subscriber (sync_subscriber.py) in place of the raw clients: a Go
// Publisher makes each recorded mod through the Notifier API, and each
// Python replica must equal the recorded one after every case (the
// divergent lines of syncReplayDivergent included: SiPyCo takes them and
// ends in the same state).
func TestSiPyCoPythonSubscriberReplay(t *testing.T) {
	env := sipycotest.Python(t)
	replicas := readSyncReplicas(t)
	compared := 0
	for _, sess := range syncSessions(readSyncRecording(t)) {
		t.Run(sess.name, func(t *testing.T) {
			notifiers := map[string]*Notifier{}
			for name, tree := range sipycoInitialTrees() {
				notifiers[name] = mustNotifier(t, tree, NotifierOptions{})
			}
			ep := serve(t, NewPublisher(notifiers, PublisherOptions{}), "tcp")
			host, port := hostPort(t, ep.addr)
			type pySub struct {
				p      *sipycotest.Proc
				name   string
				tree   any
				closed bool
			}
			subs := map[int]*pySub{}
			byCase := replicasOf(replicas, sess.name)
			for _, cs := range sess.cases {
				lines := map[int][]string{}
				var order []int
				for _, ch := range sess.chunks[cs] {
					s := subs[ch.Conn]
					switch {
					case ch.Dir == "client" && !ch.EOF:
						name := notifierName(t, ch.bytes(t))
						subs[ch.Conn] = &pySub{name: name, p: env.Start(t, sipycotest.SyncSubscriber, host, port, name, "--replicas", "--stdin", "--timeout", "120")}
					case ch.Dir == "client":
						if s != nil && !s.closed {
							s.p.Stop()
							s.closed = true
						}
					case !ch.EOF:
						if _, ok := lines[ch.Conn]; !ok {
							order = append(order, ch.Conn)
						}
						for _, l := range strings.SplitAfter(string(ch.bytes(t)), "\n") {
							if l != "" {
								lines[ch.Conn] = append(lines[ch.Conn], l)
							}
						}
					case s != nil && !s.closed && s.tree == nil: // an unknown notifier
						var ev pyReplayEvent
						s.p.JSONLine(t, &ev)
						if ev.Event != "done" || ev.Reason != "disconnected" || ev.tree(t) != nil {
							t.Errorf("%s: SiPyCo's subscriber to %q: %+v; want disconnected, no replica", cs, s.name, ev)
						}
						s.p.Stop()
						s.closed = true
					}
				}
				for c, ls := range lines {
					if len(ls) > 0 && strings.HasPrefix(ls[0], `{"action":"init"`) {
						var ev pyReplayEvent
						subs[c].p.JSONLine(t, &ev)
						if ev.Event != "init" {
							t.Fatalf("%s: conn %d: %+v, want the init", cs, c, ev)
						}
						subs[c].tree = ev.tree(t)
						lines[c] = ls[1:]
					}
				}
				for _, c := range order {
					if len(lines[c]) > 0 {
						for _, l := range lines[c] {
							m, err := decodeSiPyCoMod([]byte(l))
							must(t, err)
							must(t, driveMod(notifiers[subs[c].name], m))
						}
						break
					}
				}
				for c, ls := range lines {
					for range ls {
						var ev pyReplayEvent
						subs[c].p.JSONLine(t, &ev)
						if ev.Event != "mod" {
							t.Fatalf("%s: conn %d: %+v, want a mod", cs, c, ev)
						}
						subs[c].tree = ev.tree(t)
					}
				}
				for _, r := range byCase[cs] {
					if got, want := subs[r.Conn].tree, decodeReplica(t, r); !sameTree(got, want) {
						t.Errorf("%s: conn %d: SiPyCo's replica\n%#v\nrecorded\n%#v", cs, r.Conn, got, want)
					}
					compared++
				}
			}
			for _, s := range subs {
				if !s.closed {
					s.p.Stop()
				}
			}
		})
	}
	t.Logf("%d recorded replicas compared with SiPyCo's", compared)
}
