//go:build unix

package jobs

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestOpenOutput: regular files open; a link anywhere on the path, a
// FIFO, a directory or a path leaving the root do not, and the error
// says which.
func TestOpenOutput(t *testing.T) {
	work := t.TempDir()
	outside := t.TempDir()
	write := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(outside, "secret"), "secret")
	write(filepath.Join(work, "out.txt"), "ok")
	write(filepath.Join(work, "sub", "out.txt"), "ok")
	for _, l := range [][2]string{
		{filepath.Join(outside, "secret"), "abs"},
		{"out.txt", "inside"}, // a link within the work directory is refused too
		{outside, "dir"},
		{"sub", "subdir"},
		{"nowhere", "dangling"},
	} {
		if err := os.Symlink(l[0], filepath.Join(work, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(work, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(work)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for _, name := range []string{"out.txt", "sub/out.txt"} {
		f, err := openOutput(root, name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		f.Close()
	}
	for _, tc := range []struct {
		name string
		want error
	}{
		{"abs", ErrOutputLink},
		{"inside", ErrOutputLink},
		{"dir/secret", ErrOutputLink},
		{"subdir/out.txt", ErrOutputLink},
		{"dangling", ErrOutputLink},
		{"fifo", errNotRegular},
		{"sub", errNotRegular},
		{"missing", os.ErrNotExist},
		{"../" + filepath.Base(outside) + "/secret", ErrOutsideDir},
		{filepath.Join(outside, "secret"), ErrOutsideDir},
	} {
		f, err := openOutput(root, tc.name)
		if err == nil {
			f.Close()
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}
