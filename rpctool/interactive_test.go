package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestInteractiveReconnect checks that a session survives a server
// restart: the call that meets the dead connection fails, the next line
// dials again.
func TestInteractiveReconnect(t *testing.T) {
	ts := startServer(t, serverOpts{})
	in, feed := io.Pipe()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(t.Context(), []string{"rpctool", ts.addr}, env{stdin: in, stdout: &out, stderr: &errb, getenv: func(string) string { return "" }})
	}()
	io.WriteString(feed, "add 1 2\n")
	out.waitFor(t, "3\n")
	ts.stop()
	startServer(t, serverOpts{listen: ts.addr})
	io.WriteString(feed, "add 2 2\n")
	errb.waitFor(t, "line 2: ")
	io.WriteString(feed, "add 3 3\n")
	out.waitFor(t, "6\n")
	feed.Close()
	if code := <-done; code != exitRemote {
		t.Fatalf("exit %d, want 1 (line 2 failed)", code)
	}
	if strings.Contains(out.String(), "4\n") {
		t.Fatalf("the call on the dead connection printed a result: %q", out.String())
	}
}

func TestHistoryFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "history")
	h := openHistory(path)
	for _, l := range []string{"a", "a", "b"} {
		h.add(l)
	}
	if b, _ := os.ReadFile(path); string(b) != "a\nb\n" {
		t.Fatalf("file %q", b)
	}
	// A file grown past twice the limit is trimmed to the last entries.
	var sb strings.Builder
	for i := 0; i < 2*historyKeep+10; i++ {
		sb.WriteString("line " + strconv.Itoa(i) + "\n")
	}
	os.WriteFile(path, []byte(sb.String()), 0o600)
	h = openHistory(path)
	if len(h.lines) != historyKeep || h.lines[historyKeep-1] != "line "+strconv.Itoa(2*historyKeep+9) {
		t.Fatalf("%d lines, last %q", len(h.lines), h.lines[len(h.lines)-1])
	}
	if b, _ := os.ReadFile(path); strings.Count(string(b), "\n") != historyKeep {
		t.Fatalf("file not trimmed: %d lines", strings.Count(string(b), "\n"))
	}

	get := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	if got := defaultHistoryFile(get(map[string]string{"XDG_STATE_HOME": "/s", "HOME": "/h"})); got != filepath.Join("/s", "rpctool", "history") {
		t.Errorf("with XDG_STATE_HOME: %s", got)
	}
	if got := defaultHistoryFile(get(map[string]string{"HOME": "/h"})); !strings.HasSuffix(got, filepath.Join("rpctool", "history")) {
		t.Errorf("without XDG_STATE_HOME: %s", got)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine,
// which can wait for text to appear.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{}, 1)
	}
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until the buffer holds text; the time limit only guards
// against a hang.
func (s *syncBuffer) waitFor(t *testing.T, text string) {
	t.Helper()
	s.mu.Lock()
	if s.changed == nil {
		s.changed = make(chan struct{}, 1)
	}
	changed := s.changed
	s.mu.Unlock()
	limit := time.After(10 * time.Second)
	for !strings.Contains(s.String(), text) {
		select {
		case <-changed:
		case <-limit:
			t.Fatalf("timed out waiting for %q in %q", text, s.String())
		}
	}
}

// TestDevNullIsNoTerminal: /dev/null is a character device but not a
// terminal, so `rpctool HOST PORT < /dev/null` runs as a script (no prompt).
func TestDevNullIsNoTerminal(t *testing.T) {
	ts := startServer(t, serverOpts{})
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Skip(err)
	}
	defer null.Close()
	var out, errb syncBuffer
	code := run(t.Context(), []string{"rpctool", ts.addr}, env{stdin: null, stdout: &out, stderr: &errb, getenv: func(string) string { return "" }})
	if code != 0 || strings.Contains(errb.String(), ">") {
		t.Fatalf("exit %d, stderr %q: want 0 and no prompt", code, errb.String())
	}
}
