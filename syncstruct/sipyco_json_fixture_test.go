package syncstruct

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// sipycoJSONFile holds the recorded SiPyCo sync sessions as a browser gets
// them from a Go Publisher: each recorded line re-encoded in the JSON
// WebSocket encoding (encJSON), with each recorded replica encoded the
// same way. web/sipyco_replay.test.js applies them with the browser
// replica.
const sipycoJSONFile = "testdata/replica/sipyco_json_sessions.json"

type jsonStep struct {
	Case string          `json:"case"`
	Conn int             `json:"conn"`
	Msg  json.RawMessage `json:"msg"`
}

type jsonWant struct {
	Case string          `json:"case"`
	Conn int             `json:"conn"`
	Want json.RawMessage `json:"want"` // an init message holding the replica
}

type jsonSession struct {
	Session  string     `json:"session"`
	Cases    []string   `json:"cases"` // in the recording's order
	Steps    []jsonStep `json:"steps"`
	Replicas []jsonWant `json:"replicas"`
}

// TestSiPyCoJSONFixture writes (with -update) and checks
// testdata/replica/sipyco_json_sessions.json from the recordings.
func TestSiPyCoJSONFixture(t *testing.T) {
	initJSON := func(tree any) json.RawMessage {
		var b bytes.Buffer
		must(t, encJSON.WriteInit(&b, tree, 0))
		return b.Bytes()
	}
	replicas := readSyncReplicas(t)
	var out []jsonSession
	for _, sess := range syncSessions(readSyncRecording(t)) {
		js := jsonSession{Session: sess.name, Cases: sess.cases, Steps: []jsonStep{}, Replicas: []jsonWant{}}
		pending := map[int]string{}
		seq := map[int]uint64{}
		for _, cs := range sess.cases {
			for _, ch := range sess.chunks[cs] {
				if ch.Dir != "server" || ch.EOF {
					continue
				}
				lines := strings.Split(pending[ch.Conn]+string(ch.bytes(t)), "\n")
				pending[ch.Conn] = lines[len(lines)-1]
				for _, l := range lines[:len(lines)-1] {
					m, err := decodeSiPyCoMod([]byte(l))
					must(t, err)
					var msg json.RawMessage
					if m.Action == ActInit {
						msg, seq[ch.Conn] = initJSON(m.Struct), 0
					} else {
						seq[ch.Conn]++
						m.Seq = seq[ch.Conn]
						msg, err = encJSON.AppendMod(nil, m)
						must(t, err)
					}
					js.Steps = append(js.Steps, jsonStep{Case: cs, Conn: ch.Conn, Msg: msg})
				}
			}
			for _, r := range replicasOf(replicas, sess.name)[cs] {
				js.Replicas = append(js.Replicas, jsonWant{Case: cs, Conn: r.Conn, Want: initJSON(decodeReplica(t, r))})
			}
		}
		out = append(out, js)
	}
	got := []byte("[\n")
	for i, js := range out {
		b, err := json.Marshal(js) // one session a line
		must(t, err)
		if i > 0 {
			got = append(got, ",\n"...)
		}
		got = append(got, b...)
	}
	got = append(got, "\n]\n"...)
	if *update {
		must(t, os.WriteFile(sipycoJSONFile, got, 0o644))
	}
	want, err := os.ReadFile(sipycoJSONFile)
	if err != nil {
		t.Fatalf("%v (go test -run TestSiPyCoJSONFixture -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date (go test -run TestSiPyCoJSONFixture -update)", sipycoJSONFile)
	}
}
