package memo

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strings"
	"testing"
)

// TestVerbose: computes, saves and loads are reported at Info (what, how
// long, where) and as lines to Options.Verbose; memory hits are not.
func TestVerbose(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := OpenDir(dir, DirOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	var logs, lines bytes.Buffer
	c := New(Options{Storage: st, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Verbose: &lines})
	sq := Func1(c, "sq", func(ctx context.Context, x int) (int, error) { return x * x, nil })
	if _, err := sq(ctx, 3); err != nil {
		t.Fatal(err)
	}
	sq(ctx, 3) // a memory hit: no report
	c2 := New(Options{Storage: st, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Verbose: &lines})
	sq2 := Func1(c2, "sq", func(ctx context.Context, x int) (int, error) { return x * x, nil })
	if v, err := sq2(ctx, 3); err != nil || v != 9 {
		t.Fatal(v, err)
	}
	want := []string{
		`^memo: computed sq\(3\) in [0-9.]+[µnm]?s$`,
		`^memo: saved sq\(3\) to ` + regexp.QuoteMeta(dir) + ` in [0-9.]+[µnm]?s$`,
		`^memo: loaded sq\(3\) from ` + regexp.QuoteMeta(dir) + ` in [0-9.]+[µnm]?s$`,
	}
	got := strings.Split(strings.TrimSpace(lines.String()), "\n")
	if len(got) != len(want) {
		t.Fatalf("verbose lines:\n%s", lines.String())
	}
	for i, w := range want {
		if !regexp.MustCompile(w).MatchString(got[i]) {
			t.Errorf("line %d: %q, want %s", i, got[i], w)
		}
	}
	for _, w := range []string{`level=INFO msg="memo: computed" key=sq(3) seconds=`, `msg="memo: saved" key=sq(3) seconds=`, `where=` + dir, `msg="memo: loaded"`} {
		if !strings.Contains(logs.String(), w) {
			t.Errorf("logs lack %q:\n%s", w, logs.String())
		}
	}
}
