package syncstruct

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/sipycotest"
)

// The shared replica cases, made by SiPyCo's Python Notifier: the Go
// Subscriber follows every legal change (list slices, dict pop, setitem
// into numpy arrays, numpy ints as indices and path elements, numpy-scalar
// keys, keys Python treats as equal) without a single resync, and ends
// with Python's own tree.
func TestSiPyCoPythonReplicaCases(t *testing.T) {
	env := sipycotest.Python(t)
	b, err := os.ReadFile("testdata/replica/cases.json")
	must(t, err)
	var cases []replicaCase
	must(t, json.Unmarshal(b, &cases))
	compact := func(raw []byte) string {
		var buf bytes.Buffer
		must(t, json.Compact(&buf, raw))
		return buf.String()
	}
	for _, proto := range []Protocol{ProtocolSiPyCo, ProtocolAuto} {
		t.Run(proto.String(), func(t *testing.T) {
			pub := env.Serve(t, sipycotest.SyncPublisher)
			var rc recorder
			o := rc.opts()
			o.Protocol, o.MinBackoff, o.MaxBackoff = proto, 10*time.Millisecond, 100*time.Millisecond
			s := must2(NewSubscriber(pub.Addr, "state", o))
			defer s.Close()
			waitSynced(t, s)
			for i, c := range cases {
				if c.Error {
					continue
				}
				key := fmt.Sprintf("case%d", i)
				pyCommand(t, pub, fmt.Sprintf(`mod state {"action":"setitem","path":[],"key":%q,"value":%s}`, key, compact(c.Init)))
				for _, raw := range c.Mods {
					var m map[string]json.RawMessage
					must(t, json.Unmarshal(raw, &m))
					var path []json.RawMessage
					must(t, json.Unmarshal(m["path"], &path))
					kb, _ := json.Marshal(key)
					m["path"], _ = json.Marshal(append([]json.RawMessage{kb}, path...))
					mb, _ := json.Marshal(m)
					pyCommand(t, pub, "mod state "+compact(mb))
				}
			}
			waitPyReplica(t, s, pyDump(t, pub, "state"))
			rc.mu.Lock()
			defer rc.mu.Unlock()
			if len(rc.resyncs) != 0 || rc.disconnects != 0 {
				t.Fatalf("the Go subscriber resynced %d times (%+v), %d disconnects: a mod it could not apply", len(rc.resyncs), rc.resyncs, rc.disconnects)
			}
		})
	}
}
