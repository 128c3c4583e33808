package sipycotest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/syncstruct"
)

// recordedReplica is one line of sipyco_sync_struct_replicas.jsonl.
type recordedReplica struct {
	Session  string `json:"session"`
	Case     string `json:"case"`
	Conn     int    `json:"conn"`
	Notifier string `json:"notifier"`
	Replica  string `json:"replica"`
}

// pyValue decodes PYON text into a syncstruct tree (to compare as values:
// key order, set order and float spelling aside).
func pyValue(t *testing.T, text string) any {
	t.Helper()
	v, err := pyon.Decode([]byte(text))
	if err != nil {
		t.Fatalf("%.200q: %v", text, err)
	}
	v, err = syncstruct.Normalize(v)
	if err != nil {
		t.Fatalf("%.200q: %v", text, err)
	}
	return v
}

// syncSubEvent is one event of sync_subscriber.py --replicas.
type syncSubEvent struct {
	Event   string          `json:"event"`
	Reason  string          `json:"reason"`
	PYON    string          `json:"pyon"`
	Replica json.RawMessage `json:"replica"`
}

// replicaPYON is the replica an event carries: PYON text (mod events) or
// described (init and done events).
func (ev syncSubEvent) replicaPYON(t *testing.T) string {
	t.Helper()
	var s string
	if json.Unmarshal(ev.Replica, &s) == nil {
		return s
	}
	var d described
	if err := json.Unmarshal(ev.Replica, &d); err != nil {
		t.Fatalf("event %+v: %v", ev, err)
	}
	return d.PYON
}

// TestSyncPythonToPython checks the sync_struct recordings against the
// SiPyCo at SIGOCO_SIPYCO_PATH: a SiPyCo Publisher with the recording's
// notifiers makes each recorded mod (sync_publisher.py's "mod" command:
// the mod made on the Notifier, as ARTIQ's process_mod pattern does), and
// SiPyCo Subscribers attached when the recording's were must receive the
// recorded lines (as PYON values) and hold the recorded replica after
// every case; the unknown notifier's subscriber is disconnected without a
// replica.
func TestSyncPythonToPython(t *testing.T) {
	env := Python(t)
	chunks := recording[chunk](t, "sipyco_sync_struct.jsonl")
	replicas := recording[recordedReplica](t, "sipyco_sync_struct_replicas.jsonl")
	var sessions []string
	for _, c := range chunks {
		if !contains(sessions, c.Session) {
			sessions = append(sessions, c.Session)
		}
	}
	compared := 0
	for _, sess := range sessions {
		t.Run(sess, func(t *testing.T) {
			pub := env.Serve(t, SyncPublisher)
			var cases []string
			for _, c := range chunks {
				if c.Session == sess && !contains(cases, c.Case) {
					cases = append(cases, c.Case)
				}
			}
			type sub struct {
				p       *Proc
				name    string
				replica string
				closed  bool
			}
			subs := map[int]*sub{}
			for _, cs := range cases {
				lines := map[int][]string{}
				var order []int
				for _, c := range chunks {
					if c.Session != sess || c.Case != cs {
						continue
					}
					switch {
					case c.Dir == "client" && !c.EOF:
						name := strings.TrimSuffix(strings.TrimPrefix(string(c.bytes(t)), "ARTIQ sync_struct\n"), "\n")
						subs[c.Conn] = &sub{name: name, p: env.Start(t, SyncSubscriber, pub.Host, pub.PortArg(), name, "--replicas", "--stdin", "--timeout", "120")}
					case c.Dir == "client":
						if s := subs[c.Conn]; s != nil && !s.closed {
							s.p.Stop()
							s.closed = true
						}
					case !c.EOF:
						if _, ok := lines[c.Conn]; !ok {
							order = append(order, c.Conn)
						}
						for _, l := range strings.SplitAfter(string(c.bytes(t)), "\n") {
							if l != "" {
								lines[c.Conn] = append(lines[c.Conn], strings.TrimSuffix(l, "\n"))
							}
						}
					default: // the publisher closed: at once for an unknown notifier
						s := subs[c.Conn]
						if s != nil && !s.closed && s.replica == "" {
							var ev syncSubEvent
							s.p.JSONLine(t, &ev)
							if ev.Event != "done" || ev.Reason != "disconnected" || ev.replicaPYON(t) != "null" {
								t.Errorf("%s: subscriber to %q: %+v; want disconnected without a replica", cs, s.name, ev)
							}
							s.p.Stop()
							s.closed = true
						}
					}
				}
				// Inits first: a new subscriber's first line.
				for c, ls := range lines {
					if len(ls) > 0 && strings.HasPrefix(ls[0], `{"action":"init"`) {
						s := subs[c]
						var ev syncSubEvent
						s.p.JSONLine(t, &ev)
						init := pyValue(t, ls[0])
						if ev.Event != "init" || !syncstruct.Equal(pyValue(t, `{"action":"init","struct":`+ev.replicaPYON(t)+`}`), init) {
							t.Errorf("%s: conn %d init %+v; recorded %.200s", cs, c, ev, ls[0])
						}
						s.replica = ev.replicaPYON(t)
						lines[c] = ls[1:]
					}
				}
				// The mods, made once on the notifier.
				for _, c := range order {
					if len(lines[c]) == 0 {
						continue
					}
					for _, l := range lines[c] {
						pub.Send(t, "mod "+subs[c].name+" "+l)
						if got := pub.Line(t); got != "ok mod" {
							t.Fatalf("%s: mod %.200s: %s", cs, l, got)
						}
					}
					break
				}
				for c, ls := range lines {
					s := subs[c]
					for _, want := range ls {
						var ev syncSubEvent
						s.p.JSONLine(t, &ev)
						if ev.Event != "mod" || !syncstruct.Equal(pyValue(t, ev.PYON), pyValue(t, want)) {
							t.Errorf("%s: conn %d got %+v; recorded %.300s", cs, c, ev, want)
							continue
						}
						s.replica = ev.replicaPYON(t)
					}
				}
				for _, r := range replicas {
					if r.Session != sess || r.Case != cs {
						continue
					}
					s := subs[r.Conn]
					if s == nil || !syncstruct.Equal(pyValue(t, s.replica), pyValue(t, r.Replica)) {
						t.Errorf("%s: conn %d replica\n%.300s\nrecorded\n%.300s", cs, r.Conn, s.replica, r.Replica)
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
	t.Logf("%d sessions; %d recorded replicas compared", len(sessions), compared)
}
