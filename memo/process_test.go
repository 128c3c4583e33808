package memo

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// proc is a helper process: this test binary re-executed in a role.
type proc struct {
	cmd  *exec.Cmd
	out  bytes.Buffer // read only after done
	done chan struct{}
}

// helper starts a helper process in role over dir; it is killed at
// cleanup if still running.
func helper(t *testing.T, role, dir string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(os.Args[0], "-test.run=^$"), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), "MEMO_HELPER="+role, "MEMO_DIR="+dir)
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = os.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// waitFile waits for path to exist, failing the test after a minute.
func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !exists(path) {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear", path)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wait waits for the helper to exit, failing after a minute.
func (p *proc) wait(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		t.Fatal("helper did not exit")
	}
}

func TestSingleFlightProcesses(t *testing.T) {
	dir := t.TempDir()
	a := helper(t, "compute", dir)
	waitFile(t, filepath.Join(dir, "started")) // a computes and holds the lock
	b := helper(t, "compute", dir)             // b must wait for a's value
	os.WriteFile(filepath.Join(dir, "release"), nil, 0o644)
	a.wait(t)
	b.wait(t)
	count, _ := os.ReadFile(filepath.Join(dir, "count"))
	want := "value from pid " + strconv.Itoa(a.cmd.Process.Pid)
	if string(count) != "x" {
		t.Fatalf("computed %d times across processes, want once", len(count))
	}
	if a.out.String() != want || b.out.String() != want {
		t.Fatalf("a printed %q, b %q; want both %q", a.out.String(), b.out.String(), want)
	}
}

func TestKilledLockHolderDoesNotBlock(t *testing.T) {
	dir := t.TempDir()
	h := helper(t, "hold", dir)
	waitFile(t, filepath.Join(dir, "locked"))
	st, err := OpenDir(filepath.Join(dir, "store"), DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, err = st.Lock(ctx, Key{"slow", "1"})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lock held by a live process: %v, want to wait", err)
	}
	h.cmd.Process.Kill()
	h.wait(t)
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	unlock, err := st.Lock(ctx, Key{"slow", "1"})
	if err != nil {
		t.Fatalf("lock of a killed process: %v", err)
	}
	unlock()
}

// TestKilledMidWriteLeavesNoCorruptEntry kills a process while it writes
// an 8 MB entry (as soon as its temporary file appears): the entry must
// still load whole (the previous value).
func TestKilledMidWriteLeavesNoCorruptEntry(t *testing.T) {
	dir := t.TempDir()
	metricDir := filepath.Join(dir, "store", "big")
	for round := range 3 {
		os.Remove(filepath.Join(dir, "written"))
		h := helper(t, "write", dir)
		waitFile(t, filepath.Join(dir, "written")) // one complete entry
		deadline := time.Now().Add(time.Minute)
		for !hasTemp(metricDir) {
			if time.Now().After(deadline) {
				t.Fatal("no write started")
			}
		}
		h.cmd.Process.Kill()
		h.wait(t)
		if !hasTemp(metricDir) {
			t.Logf("round %d: the write had finished when the kill landed", round)
		}
		st, err := OpenDir(filepath.Join(dir, "store"), DirOptions{})
		if err != nil {
			t.Fatal(err)
		}
		e, err := st.Load(context.Background(), Key{"big", "1"})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if f, err := convertTo[[]float64](e.Value); err != nil || len(f) != 1<<20 || f[0] != f[len(f)-1] {
			t.Fatalf("round %d: a mixed or short value: %v", round, err)
		}
	}
}

func hasTemp(dir string) bool {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			return true
		}
	}
	return false
}
