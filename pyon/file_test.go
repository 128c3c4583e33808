package pyon_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/pyon"
)

// TestPretty: pretty text is Python's json.dumps(indent=4) layout
// (checked against python3 when present) and decodes to the same value.
func TestPretty(t *testing.T) {
	v := map[string]any{"a": []any{int64(1), 2.5, "x,y:z"}, "b": map[string]any{}, "c": []any{}, "d": pyon.Tuple{true, nil}}
	b, err := pyon.AppendWith(nil, v, pyon.EncodeOptions{Pretty: true})
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n    \"a\": [\n        1,\n        2.5,\n        \"x,y:z\"\n    ],\n    \"b\": {},\n    \"c\": [],\n    \"d\": {\n        \"__jsonclass__\": [\n            \"tuple\",\n            [\n                [\n                    true,\n                    null\n                ]\n            ]\n        ]\n    }\n}"
	if string(b) != want {
		t.Fatalf("pretty:\n%s\nwant:\n%s", b, want)
	}
	back, err := pyon.Decode(b)
	if err != nil || !reflect.DeepEqual(back, v) {
		t.Fatalf("decoded %#v, %v", back, err)
	}
	var sb strings.Builder
	if err := pyon.NewEncoder(&sb, pyon.EncodeOptions{Pretty: true}).Encode(v); err != nil || sb.String() != want {
		t.Fatalf("Encoder: %q, %v", sb.String(), err)
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 to compare with")
	}
	var plain any
	json.Unmarshal(b, &plain)
	js, _ := json.Marshal(plain)
	cmd := exec.Command(py, "-c", "import json,sys; sys.stdout.write(json.dumps(json.loads(sys.stdin.read()), indent=4, sort_keys=True))")
	cmd.Stdin = bytes.NewReader(js)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != want {
		t.Fatalf("python's indent=4:\n%s\nours:\n%s", out, want)
	}
}

// TestStoreLoadFile: StoreFile writes atomically (pretty, a final
// newline, the old mode kept, no temporary file left) and LoadFile reads
// it back; a value that cannot be encoded leaves the old file.
func TestStoreLoadFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "datasets.pyon")
	v := map[string]any{"x": pyon.FromFloat64s([]float64{1, 2}), "n": int64(3)}
	if err := pyon.StoreFile(name, v); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(name)
	if !strings.HasSuffix(string(b), "}\n") || !strings.Contains(string(b), "\n    \"n\": 3") {
		t.Fatalf("file:\n%s", b)
	}
	got, err := pyon.LoadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if m := got.(map[string]any); m["n"] != int64(3) || !reflect.DeepEqual(m["x"], v["x"]) {
		t.Fatalf("loaded %#v", got)
	}
	os.Chmod(name, 0o600)
	if err := pyon.StoreFile(name, map[string]any{"n": int64(4)}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(name); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v after replacing", fi.Mode())
	}
	if err := pyon.StoreFile(name, map[string]any{"bad": make(chan int)}); err == nil {
		t.Fatal("stored a channel")
	}
	if got, _ := pyon.LoadFile(name); !reflect.DeepEqual(got, map[string]any{"n": int64(4)}) {
		t.Fatalf("after a failed store: %#v", got)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("left behind: %v", ents)
	}
	if _, err := pyon.LoadFile(filepath.Join(dir, "missing")); !os.IsNotExist(errorsUnwrapAll(err)) {
		t.Fatalf("missing file: %v", err)
	}
}

func errorsUnwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}
