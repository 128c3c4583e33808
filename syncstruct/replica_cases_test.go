package syncstruct

import (
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/sigoco/sigoco/pyon"
)

// replicaCase is one shared mod sequence of testdata/replica/cases.json,
// which web/replica.test.js applies with the browser replica too.
type replicaCase struct {
	Name  string            `json:"name"`
	Init  json.RawMessage   `json:"init"`
	Mods  []json.RawMessage `json:"mods"`
	Want  json.RawMessage   `json:"want"`
	Error bool              `json:"error"`
}

func pyonValue(t *testing.T, raw []byte) any {
	t.Helper()
	v, err := pyon.Decode(raw)
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	v, err = adoptPYON(v, 0)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestReplicaCases applies the shared mod sequences with Apply, each mod
// decoded as a SiPyCo mod line: the results SiPyCo's process_mod gives.
func TestReplicaCases(t *testing.T) {
	b, err := os.ReadFile("testdata/replica/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []replicaCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			tree := pyonValue(t, c.Init)
			var failed error
			for _, raw := range c.Mods {
				m, err := decodeSiPyCoMod(raw)
				if err != nil {
					t.Fatalf("decoding %s: %v", raw, err)
				}
				if tree, err = Apply(tree, m); err != nil {
					failed = err
					break
				}
			}
			if c.Error {
				var me *ModError
				if !errors.As(failed, &me) {
					t.Fatalf("got %v, want a *ModError", failed)
				}
			} else if failed != nil {
				t.Fatal(failed)
			}
			if want := pyonValue(t, c.Want); !Equal(tree, want) {
				t.Fatalf("tree\n%s\nwant\n%s", pyonText(tree), c.Want)
			}
		})
	}
}

func pyonText(v any) string {
	s, err := pyon.Encode(v)
	if err != nil {
		return err.Error()
	}
	return string(s)
}
