package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair with an 80x24 window.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		t.Skipf("ptsname: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Skipf("open slave: %v", err)
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80}); err != nil {
		t.Fatal(err)
	}
	return m, s
}

// startOnPTY starts this test binary as rpctool (see TestMain) with args,
// the pty's slave as its controlling terminal, standard input and output,
// so Ctrl-C typed between prompts reaches it as SIGINT.
func startOnPTY(t *testing.T, slave *os.File, stderr io.Writer, state string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Args[0] = "rpctool"
	cmd.Env = append(os.Environ(), "RPCTOOL_TEST_MAIN=1", "TERM=xterm", "XDG_STATE_HOME="+state, "NO_COLOR=")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill() // no-op once it has exited
		if t.Failed() {
			t.Logf("rpctool's stderr:\n%s", stderr)
		}
	})
	return cmd
}

// exitCodeOf waits for cmd and returns its exit code.
func exitCodeOf(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// terminal drives a program through the master side of a pty.
type terminal struct {
	t      *testing.T
	master *os.File
	mu     sync.Mutex
	out    bytes.Buffer
	seen   int // output before this offset was matched already
	more   chan struct{}
	done   chan struct{}
}

func newTerminal(t *testing.T, master *os.File) *terminal {
	term := &terminal{t: t, master: master, more: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(term.done)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			term.mu.Lock()
			term.out.Write(buf[:n])
			term.mu.Unlock()
			select {
			case term.more <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	return term
}

func (term *terminal) send(s string) {
	term.t.Helper()
	if _, err := term.master.Write([]byte(s)); err != nil {
		term.t.Fatal(err)
	}
}

// expect waits until s appears in the output after what was matched so
// far. The time limit only guards against a hang.
func (term *terminal) expect(s string) {
	term.t.Helper()
	limit := time.After(10 * time.Second)
	for {
		term.mu.Lock()
		rest := term.out.String()[term.seen:]
		if i := strings.Index(rest, s); i >= 0 {
			term.seen += i + len(s)
			term.mu.Unlock()
			return
		}
		term.mu.Unlock()
		select {
		case <-term.more:
		case <-limit:
			term.t.Fatalf("timed out waiting for %q; output after the last match:\n%q", s, rest)
		}
	}
}

func TestInteractiveTerminal(t *testing.T) {
	ts := startServer(t, serverOpts{})
	master, slave := openPTY(t)
	term := newTerminal(t, master)
	state := t.TempDir()
	var stderr syncBuffer
	cmd := startOnPTY(t, slave, &stderr, state, ts.addr)
	prompt := ts.addr + " (dev)> "
	term.expect(prompt)

	term.send("add(1, 2)\r")
	term.expect("\x1b[36m3\x1b[0m") // a number, coloured on a terminal
	term.expect(prompt)

	term.send("ad\t") // the only completion: "add "
	term.expect("add ")
	term.send("3 4\r")
	term.expect("7\x1b[0m")
	term.expect(prompt)

	term.send("\x1b[A") // Up: the previous line
	term.expect("add 3 4")
	term.send("\r")
	term.expect("7\x1b[0m")
	term.expect(prompt)

	// Backspace, Home, End, Left; Ctrl-A/E
	term.send("add 1 9\x7f2\x1b[H\x1b[F\x01\x05\r")
	term.expect("3\x1b[0m")
	term.expect(prompt)
	term.send("echo 'ac'\x1b[D\x1b[Db\r")
	term.expect("'abc'\x1b[0m")
	term.expect(prompt)

	// Wide characters: the cursor lands where the character is.
	term.send("echo '世界'\x1b[D\x1b[D!\r")
	term.expect("'世!界'\x1b[0m")
	term.expect(prompt)

	// Ctrl-C drops the line.
	term.send("add 1")
	term.expect("add 1") // echoed: the editor reads keys, Ctrl-C is no signal now
	term.send("\x03")
	term.expect(prompt)

	// Several completions: a second Tab lists them.
	term.send("s\t\t")
	term.expect("scale")
	term.expect("set_attenuation")
	term.expect(prompt)
	term.send("\x15") // Ctrl-U
	// Keyword names complete after the method, once.
	term.send("add 1 y\t")
	term.expect("y=")
	term.send("5\r")
	term.expect("6\x1b[0m")
	term.expect(prompt)

	// An error does not end the session.
	term.send("nope()\r")
	term.expect(prompt)

	// Ctrl-C during a call cancels the call only (SIGINT from the terminal).
	term.send("block()\r")
	<-ts.dev.entered
	term.send("\x03")
	term.expect(prompt)
	term.send("help add\r")
	term.expect("Add returns x+y.")
	term.expect(prompt)

	term.send("\x04") // Ctrl-D on an empty line
	if code := exitCodeOf(t, cmd); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	slave.Close()
	master.Close()
	<-term.done

	errs := stderr.String()
	for _, want := range []string{`error: rpc.UnknownMethod: unknown method "nope"`, "error: interrupted"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr %q lacks %q", errs, want)
		}
	}
	hist, err := os.ReadFile(filepath.Join(state, "rpctool", "history"))
	if err != nil {
		t.Fatal(err)
	}
	wantHist := "add(1, 2)\nadd 3 4\nadd 1 2\necho 'abc'\necho '世!界'\nadd 1 y=5\nnope()\nblock()\nhelp add\n"
	if string(hist) != wantHist {
		t.Errorf("history file:\n%s\nwant:\n%s", hist, wantHist)
	}

	// The next session starts with that history: Up recalls "help add".
	master, slave = openPTY(t)
	term = newTerminal(t, master)
	cmd = startOnPTY(t, slave, &stderr, state, "--color", "never", ts.addr)
	term.expect(prompt)
	term.send("\x1b[A\x1b[A\x1b[B")
	term.expect("help add")
	term.send("\x15exit\r")
	if code := exitCodeOf(t, cmd); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	slave.Close()
	master.Close()
	<-term.done
}

// TestInteractiveTerminalInputOnly: standard input is a terminal but the
// output is redirected, so lines are read plainly (the terminal's own
// line editing) and the prompt goes to stderr.
func TestInteractiveTerminalInputOnly(t *testing.T) {
	ts := startServer(t, serverOpts{})
	master, slave := openPTY(t)
	term := newTerminal(t, master)
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(t.Context(), []string{"rpctool", "--no-history", ts.addr}, env{
			stdin: slave, stdout: &out, stderr: &errb, getenv: func(string) string { return "" },
		})
	}()
	prompt := ts.addr + " (dev)> "
	errb.waitFor(t, prompt)
	term.send("add 1 2\n")
	out.waitFor(t, "3\n")
	term.send("\x04") // end of input in the terminal's cooked mode
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
	if got := out.String(); got != "3\n" {
		t.Fatalf("stdout %q: want the result only, uncoloured", got)
	}
	slave.Close()
	master.Close()
	<-term.done
}

func TestColourOnTerminal(t *testing.T) {
	master, slave := openPTY(t)
	defer master.Close()
	defer slave.Close()
	get := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	for _, c := range []struct {
		mode string
		vars map[string]string
		want bool
	}{
		{"auto", nil, true},
		{"auto", map[string]string{"NO_COLOR": "1"}, false},
		{"auto", map[string]string{"TERM": "dumb"}, false},
		{"never", nil, false},
		{"always", map[string]string{"NO_COLOR": "1"}, true},
	} {
		if got := useColour(c.mode, slave, get(c.vars)); got != c.want {
			t.Errorf("useColour(%s, terminal, %v) = %v, want %v", c.mode, c.vars, got, c.want)
		}
	}
}
