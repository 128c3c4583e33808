package syncstruct

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/pyon"
)

// The recordings of real SiPyCo traffic (../shared/sipyco-wire/, copied
// into testdata/ so the tests run offline): README.md there describes the
// sessions and what a replaying test compares.
const (
	syncRecordingFile = "testdata/sipyco_sync_struct.jsonl"
	syncReplicasFile  = "testdata/sipyco_sync_struct_replicas.jsonl"
)

// syncChunk is one line of the traffic recording: a chunk one side sent
// on one connection of a session, or that side's EOF.
type syncChunk struct {
	Session string  `json:"session"`
	Conn    int     `json:"conn"`
	Case    string  `json:"case"`
	Dir     string  `json:"dir"` // "client" or "server"
	Data    *string `json:"data"`
	DataB64 string  `json:"data_b64"`
	EOF     bool    `json:"eof"`
}

// bytes is the chunk's data (nil for an EOF).
func (c syncChunk) bytes(t testing.TB) []byte {
	t.Helper()
	switch {
	case c.Data != nil:
		return []byte(*c.Data)
	case c.DataB64 != "":
		b, err := base64.StdEncoding.DecodeString(c.DataB64)
		if err != nil {
			t.Fatalf("%s/%s: data_b64: %v", c.Session, c.Case, err)
		}
		return b
	}
	return nil
}

// syncReplica is one line of the replicas file: a SiPyCo subscriber's
// replica (PYON) after a case.
type syncReplica struct {
	Session  string `json:"session"`
	Case     string `json:"case"`
	Conn     int    `json:"conn"`
	Notifier string `json:"notifier"`
	Replica  string `json:"replica"`
}

// readJSONLines decodes every line of a recording file into a T. A missing
// file fails the test: the recordings are the test vectors.
func readJSONLines[T any](t testing.TB, name string) []T {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatalf("recording missing (copy it from ../shared/sipyco-wire/): %v", err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 8<<20)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s is empty", name)
	}
	return out
}

func readSyncRecording(t testing.TB) []syncChunk {
	return readJSONLines[syncChunk](t, syncRecordingFile)
}
func readSyncReplicas(t testing.TB) []syncReplica {
	return readJSONLines[syncReplica](t, syncReplicasFile)
}

// syncSession is one recorded session: its chunks in the order the proxy
// saw them, grouped by case in the order the cases began.
type syncSession struct {
	name   string
	cases  []string
	chunks map[string][]syncChunk // by case
}

// syncSessions groups a recording by session, in the order sessions
// began.
func syncSessions(chunks []syncChunk) []*syncSession {
	var out []*syncSession
	by := map[string]*syncSession{}
	for _, c := range chunks {
		s := by[c.Session]
		if s == nil {
			s = &syncSession{name: c.Session, chunks: map[string][]syncChunk{}}
			by[c.Session] = s
			out = append(out, s)
		}
		if _, ok := s.chunks[c.Case]; !ok {
			s.cases = append(s.cases, c.Case)
		}
		s.chunks[c.Case] = append(s.chunks[c.Case], c)
	}
	return out
}

// recordedServerLines returns every line a SiPyCo Publisher sent in the
// recording (without newlines), each connection's stream split on "\n".
func recordedServerLines(t testing.TB) []string {
	t.Helper()
	type connKey struct {
		session string
		conn    int
	}
	streams := map[connKey]*strings.Builder{}
	var order []connKey
	for _, c := range readSyncRecording(t) {
		if c.Dir != "server" || c.EOF {
			continue
		}
		k := connKey{c.Session, c.Conn}
		if streams[k] == nil {
			streams[k] = &strings.Builder{}
			order = append(order, k)
		}
		streams[k].Write(c.bytes(t))
	}
	var lines []string
	for _, k := range order {
		s := streams[k].String()
		if !strings.HasSuffix(s, "\n") {
			t.Fatalf("%v: the server stream does not end with a newline", k)
		}
		lines = append(lines, strings.Split(strings.TrimSuffix(s, "\n"), "\n")...)
	}
	return lines
}

// sipycoMods decodes every mod SiPyCo's Publisher sent in the recording.
func sipycoMods(t testing.TB) []*Mod {
	t.Helper()
	var mods []*Mod
	for _, l := range recordedServerLines(t) {
		m, err := decodeSiPyCoMod([]byte(l))
		if err != nil {
			t.Fatalf("%s: %v", truncate(l, 200), err)
		}
		mods = append(mods, m)
	}
	return mods
}

// decodeReplica decodes a recorded replica (PYON) into normal form.
func decodeReplica(t testing.TB, r syncReplica) any {
	t.Helper()
	m, err := decodeSiPyCoMod([]byte(`{"action":"init","struct":` + r.Replica + `}`))
	if err != nil {
		t.Fatalf("%s/%s conn %d: replica: %v", r.Session, r.Case, r.Conn, err)
	}
	return m.Struct
}

// sameTree is Equal, and also tells -0.0 from 0.0 (the README: -0.0
// stays a negative zero float).
func sameTree(a, b any) bool { return Equal(a, b) && sameSigns(a, b) }

// sameSigns reports whether the float zeros of two Equal trees have the
// same signs.
func sameSigns(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, _ := b.(float64)
		return math.Signbit(x) == math.Signbit(y) || x != 0
	case complex128:
		y, _ := b.(complex128)
		return sameSigns(real(x), real(y)) && sameSigns(imag(x), imag(y))
	case []any:
		y, _ := b.([]any)
		for i := range x {
			if !sameSigns(x[i], y[i]) {
				return false
			}
		}
	case pyon.Tuple:
		return sameSigns([]any(x), []any(b.(pyon.Tuple)))
	case map[string]any:
		y, _ := b.(map[string]any)
		for k, v := range x {
			if !sameSigns(v, y[k]) {
				return false
			}
		}
	case pyon.Dict:
		y, _ := b.(pyon.Dict)
		for _, it := range x {
			if i := dictIndex(y, it.Key); i < 0 || !sameSigns(it.Value, y[i].Value) {
				return false
			}
		}
	case pyon.OrderedDict:
		y, _ := b.(pyon.OrderedDict)
		for i := range x {
			if !sameSigns(x[i].Value, y[i].Value) {
				return false
			}
		}
	}
	return true
}

// sipycoInitialTrees are the notifiers of the recording's SiPyCo
// Publisher, as its README declares them, by notifier name.
func sipycoInitialTrees() map[string]any {
	return map[string]any{
		"main":     map[string]any{"runs": map[string]any{}, "counts": []any{}, "status": "idle"},
		"listroot": []any{},
		"t":        map[string]any{},
		"datasets": map[string]any{
			"calib.freq": map[string]any{"persist": true, "value": 1.5e8, "metadata": map[string]any{"unit": "MHz", "scale": 1e6, "precision": 3}},
			"calib.name": map[string]any{"persist": true, "value": "trap A", "metadata": map[string]any{}},
		},
		"datasets_legacy": map[string]any{"old.value": pyon.Tuple{true, 3.0}},
	}
}

// notifierName is the name a recorded client's handshake asks for.
func notifierName(t testing.TB, hello []byte) string {
	t.Helper()
	rest, ok := strings.CutPrefix(string(hello), "ARTIQ sync_struct\n")
	name, ok2 := strings.CutSuffix(rest, "\n")
	if !ok || !ok2 || strings.Contains(name, "\n") {
		t.Fatalf("recorded handshake %q", hello)
	}
	return name
}
