package jobs

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/track/store"
)

func TestCheckJobID(t *testing.T) {
	for _, id := range []string{"0198f5a4-7d3c-7b1e-9a53-2f6d4e8c1a07", "run-1", "a", "A.b_c-9"} {
		if err := checkJobID(id); err != nil {
			t.Errorf("%q: %v", id, err)
		}
	}
	for _, id := range []string{"", ".", "..", "../x", "../../x", "a/b", `a\b`, "/abs", "-x", ".hidden", "a b", "x\x00", "é", strings.Repeat("a", 65)} {
		err := checkJobID(id)
		var re *store.RunIDError
		if !errors.Is(err, ErrBadJobID) || !errors.Is(err, store.ErrBadRunID) || !errors.As(err, &re) || re.ID != id {
			t.Errorf("%q: %v", id, err)
		}
	}
}

func TestUnder(t *testing.T) {
	root := filepath.Join("data", "jobs")
	for _, tc := range []struct {
		elem []string
		ok   bool
	}{
		{[]string{"id"}, true},
		{[]string{"id", "stdout.log"}, true},
		{[]string{"id", "work", "out"}, true},
		{[]string{}, false},
		{[]string{"."}, false},
		{[]string{".."}, false},
		{[]string{"..", "x"}, false},
		{[]string{"id", "..", ".."}, false},
		{[]string{"id/../../x"}, false},
		{[]string{"/etc"}, true}, // Join makes it data/jobs/etc
	} {
		p, err := under(root, tc.elem...)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrOutsideDir)) {
			t.Errorf("under(%q, %q) = %q, %v", root, tc.elem, p, err)
		}
		if err == nil && !strings.HasPrefix(p, root+string(filepath.Separator)) {
			t.Errorf("under(%q, %q) = %q", root, tc.elem, p)
		}
	}
}

// TestParseConfigRelativeDir: a relative configuration directory (the
// demo's under `--data sigoco-data`) becomes absolute, since a job's
// command runs in the job's own working directory.
func TestParseConfigRelativeDir(t *testing.T) {
	t.Chdir(t.TempDir())
	c, err := ParseConfig([]byte("[[solver]]\nname = \"c\"\nversion = \"1\"\ncommand = [\"/bin/sh\", \"{config_dir}/x.sh\"]\n"), "solvers.toml", "sigoco-data/solvers")
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := filepath.Abs(".")
	if got, want := c.Solvers[0].configDir, filepath.Join(wd, "sigoco-data/solvers"); got != want {
		t.Fatalf("config_dir %q, want %q", got, want)
	}
}
