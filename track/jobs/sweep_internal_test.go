package jobs

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestArrayScriptRunsArgvAsWritten: the array element's argv and
// environment reach the program byte for byte through the fixed batch
// script and a real sh (quotes, $, backquotes, newlines, trailing
// newlines, empty arguments, backslashes, CR), chosen by
// SLURM_ARRAY_TASK_ID.
func TestArrayScriptRunsArgvAsWritten(t *testing.T) {
	dir := t.TempDir()
	arr := filepath.Join(dir, "sweep", arrayDirName)
	script := filepath.Join(dir, "sweep", arrayScriptFile)
	os.MkdirAll(arr, 0o755)
	os.WriteFile(script, []byte(arrayScript), 0o755)
	tricky := []string{"", "it's \"quoted\"; $HOME `x` $(id)", "two\nlines", "trail\n", "\n", `back\slash\`, "cr\r", "-n", "*"}
	for idx, id := range []string{"e0", "e1"} {
		jd := filepath.Join(dir, id)
		work := filepath.Join(jd, "work")
		os.MkdirAll(work, 0o755)
		argv := append([]string{"/bin/sh", "-c", `printf '%s\0' "$X" "$PWD" "$@"`, "sh", id}, tricky...)
		env := []string{"PATH=" + os.Getenv("PATH"), "X=x " + id + "\n$Y", "SIGOCO_JOB_WORKDIR=" + work}
		a, err := arrayEntries(argv)
		if err != nil {
			t.Fatal(err)
		}
		e, err := arrayEntries(env)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(jd, arrayArgvFile), a, 0o644)
		os.WriteFile(filepath.Join(jd, arrayEnvFile), e, 0o644)
		rel, _ := filepath.Rel(arr, jd)
		os.Symlink(rel, filepath.Join(arr, string(rune('0'+idx))))
	}
	cmd := exec.Command("/bin/sh", script, arr)
	cmd.Env = []string{"SLURM_ARRAY_TASK_ID=1", "PATH=" + os.Getenv("PATH")}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	want := append([]string{"x e1\n$Y", filepath.Join(dir, "e1", "work"), "e1"}, tricky...)
	if len(got) != len(want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("argument %d: got %q, want %q", i, got[i], want[i])
		}
	}
	if _, err := arrayEntries([]string{"a\x00b"}); err == nil {
		t.Fatal("a NUL byte was accepted")
	}
}

func TestArrayIndices(t *testing.T) {
	for _, c := range []struct {
		idx  []int
		want string
	}{{[]int{0}, "0"}, {[]int{0, 1, 2}, "0-2"}, {[]int{0, 1, 3, 5, 6, 7}, "0-1,3,5-7"}} {
		if got := arrayIndices(c.idx); got != c.want {
			t.Errorf("%v: %q, want %q", c.idx, got, c.want)
		}
	}
}
