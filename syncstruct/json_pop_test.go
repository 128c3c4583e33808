package syncstruct

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/pyon"
)

// jsonModsFile holds JSON messages exactly as encJSON writes them, which
// web/replica.test.js applies with the browser replica.
const jsonModsFile = "testdata/replica/json_mods.json"

type jsonModsCase struct {
	Name string            `json:"name"`
	Init json.RawMessage   `json:"init"`
	Mods []json.RawMessage `json:"mods"`
	Want json.RawMessage   `json:"want"`
}

// TestJSONDictPopCarriesKey: a dict pop's key travels in "i" in JSON, as
// in msgpack and SiPyCo lines, so a browser replica pops the right key;
// the messages are checked against testdata (rewritten with -update).
func TestJSONDictPopCarriesKey(t *testing.T) {
	initJSON := func(tree any) json.RawMessage {
		var b bytes.Buffer
		must(t, encJSON.WriteInit(&b, tree, 0))
		return b.Bytes()
	}
	build := func(name string, tree any, mods ...*Mod) jsonModsCase {
		tree, err := Normalize(tree)
		must(t, err)
		c := jsonModsCase{Name: name, Init: initJSON(tree)}
		for i, m := range mods {
			m.Seq = uint64(i + 1)
			b, err := encJSON.AppendMod(nil, m)
			must(t, err)
			c.Mods = append(c.Mods, b)
			if tree, err = Apply(tree, m); err != nil {
				t.Fatal(err)
			}
		}
		c.Want = initJSON(tree)
		return c
	}
	cases := []jsonModsCase{
		build("dict pop of a string key",
			map[string]any{"d": map[string]any{"a": int64(1), "b": int64(2)}},
			&Mod{Action: ActPop, Path: []any{"d"}, Key: "a"}),
		build("dict pop of an int key",
			map[string]any{"d": pyon.Dict{{Key: int64(0), Value: "zero"}, {Key: int64(1), Value: "one"}}},
			&Mod{Action: ActPop, Path: []any{"d"}, Key: int64(1)}),
		build("dict pop of a tuple key",
			map[string]any{"d": pyon.Dict{{Key: pyon.Tuple{int64(1), int64(2)}, Value: "t"}, {Key: "s", Value: "x"}}},
			&Mod{Action: ActPop, Path: []any{"d"}, Key: pyon.Tuple{int64(1), int64(2)}}),
		build("list pop by index",
			map[string]any{"l": []any{int64(1), int64(2), int64(3)}},
			&Mod{Action: ActPop, Path: []any{"l"}, I: 0}),
	}
	if !strings.Contains(string(cases[0].Mods[0]), `"i":"a"`) {
		t.Fatalf("dict pop in JSON: %s", cases[0].Mods[0])
	}
	if !strings.Contains(string(cases[2].Mods[0]), `"i":{"__jsonclass__":["tuple"`) {
		t.Fatalf("tuple-key pop in JSON: %s", cases[2].Mods[0])
	}
	got := []byte("[\n")
	for i, c := range cases {
		b, err := json.Marshal(c) // compact: the messages as they were written
		must(t, err)
		if i > 0 {
			got = append(got, ",\n"...)
		}
		got = append(got, b...)
	}
	got = append(got, "\n]\n"...)
	if *update {
		must(t, os.WriteFile(jsonModsFile, got, 0o644))
	}
	want, err := os.ReadFile(jsonModsFile)
	must(t, err)
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date (go test -run TestJSONDictPopCarriesKey -update):\n%s", jsonModsFile, got)
	}
}
