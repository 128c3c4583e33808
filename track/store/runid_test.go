package store

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckRunID(t *testing.T) {
	for _, id := range []string{"0198f5a4-7d3c-7b1e-9a53-2f6d4e8c1a07", "r1", "run-7", "A", "sweep_3.b", "a..b", strings.Repeat("z", 64)} {
		if err := CheckRunID(id); err != nil {
			t.Errorf("%q: %v", id, err)
		}
	}
	for _, tc := range []struct{ id, reason string }{
		{"", "empty"},
		{".", `starts with '.'`},
		{"..", `starts with '.'`},
		{"../../x", `starts with '.'`},
		{"-rf", `starts with '-'`},
		{"a/b", `byte 1 is '/'`},
		{`a\b`, `byte 1 is '\\'`},
		{"a b", `byte 1 is ' '`},
		{"x\x00", `byte 1 is '\x00'`},
		{"é", "0xc3 (not ASCII)"},
		{strings.Repeat("a", 65), "65 bytes long"},
	} {
		err := CheckRunID(tc.id)
		var re *RunIDError
		if !errors.As(err, &re) || re.ID != tc.id || !errors.Is(err, ErrBadRunID) || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%q: %v, want it to say %s", tc.id, err, tc.reason)
		}
	}
}

// TestCheckRunIDNoAlloc: checking a valid id costs no allocation (it
// runs on every batch).
func TestCheckRunIDNoAlloc(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { CheckRunID("0198f5a4-7d3c-7b1e-9a53-2f6d4e8c1a07") }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

func TestServerOnly(t *testing.T) {
	for _, tc := range []struct {
		r    Record
		want bool
	}{
		{Record{Kind: KindMeta, Key: "job"}, true},
		{Record{Kind: KindTag, Key: "job"}, true},
		{Record{Kind: KindUntag, Key: "job"}, true},
		{Record{Kind: KindTag, Key: "solver=a@1"}, true},
		{Record{Kind: KindUntag, Key: "state=PENDING"}, true},
		{Record{Kind: KindMeta, Key: "jobs"}, false},
		{Record{Kind: KindParam, Key: "job"}, false},
		{Record{Kind: KindTag, Key: "state"}, false},
		{Record{Kind: KindTag, Key: "jobless"}, false},
		{Record{Kind: KindNote, Value: "job"}, false},
	} {
		err := CheckClientRecord(&tc.r)
		if ServerOnly(&tc.r) != tc.want || (err != nil) != tc.want || (err != nil && !errors.Is(err, ErrServerOnly)) {
			t.Errorf("%+v: %v %v", tc.r, ServerOnly(&tc.r), err)
		}
	}
}

// FuzzCheckRunID: an id that passes is a plain file name (joined to a
// root it stays one level under it, whatever the system's separator);
// the error of one that fails is bounded whatever the id's length.
func FuzzCheckRunID(f *testing.F) {
	for _, s := range []string{"0198f5a4-7d3c-7b1e-9a53-2f6d4e8c1a07", "..", "../x", "a/b", `a\b`, ".", "", "x:y", strings.Repeat("a", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := CheckRunID(id)
		if err != nil {
			if !errors.Is(err, ErrBadRunID) {
				t.Fatalf("%q: %v", id, err)
			}
			if n := len(err.Error()); n > 400 {
				t.Fatalf("%q: a %d-byte error", id, n)
			}
			return
		}
		root := filepath.Join("data", "jobs")
		p := filepath.Join(root, id)
		if len(id) == 0 || len(id) > MaxRunIDLen || !filepath.IsLocal(id) || filepath.Dir(p) != root || filepath.Base(p) != id ||
			strings.ContainsAny(id, `/\:`) || id == "." || id == ".." {
			t.Fatalf("%q passed: joined %q", id, p)
		}
	})
}
