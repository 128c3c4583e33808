package sipycotest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// stopGrace is how long Stop waits for a script to exit after closing its
// stdin before killing it.
const stopGrace = 3 * time.Second

// Proc is a running script: a server started with Serve, or any script
// started with Start (a subscriber, a forwarder fed on stdin).
type Proc struct {
	Script string
	Args   []string
	Host   string // from the "ready PORT HOST" line (Serve only)
	Port   int    // from the ready line (Serve only)
	Addr   string // net.JoinHostPort(Host, Port) (Serve only)

	timeout time.Duration
	cancel  context.CancelFunc
	stdinMu sync.Mutex // serializes writes to stdin (Send, WriteLine)
	stdin   io.WriteCloser
	exited  chan struct{} // closed when Wait has returned
	waitErr error         // set before exited is closed

	mu      sync.Mutex
	lines   []string      // complete stdout lines not yet read
	partial []byte        // stdout after the last newline
	changed chan struct{} // closed and replaced when lines grow
	stderr  bytes.Buffer
	stopped bool
	result  Result
}

// Start starts script with args and returns at once. The process is
// stopped by t.Cleanup (stdin closed, then killed after a grace period);
// if the test failed, its stderr is logged then.
func (e Env) Start(t testing.TB, script string, args ...string) *Proc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := e.Command(ctx, script, args...)
	p := &Proc{Script: script, Args: args, timeout: e.timeout(), cancel: cancel,
		exited: make(chan struct{}), changed: make(chan struct{})}
	cmd.Stdout = stdoutWriter{p}
	cmd.Stderr = stderrWriter{p}
	stdin, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		cancel()
		t.Fatalf("sipycotest: starting %s: %v", script, err)
	}
	p.stdin = stdin
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		r := p.Stop()
		if t.Failed() && strings.TrimSpace(r.Stderr) != "" {
			t.Logf("sipycotest: %s %s stderr:\n%s", script, strings.Join(args, " "), r.Stderr)
		}
	})
	return p
}

// Serve starts a server script and waits for its "ready PORT HOST" line;
// Port, Host and Addr are then set. Lines printed before it are dropped.
func (e Env) Serve(t testing.TB, script string, args ...string) *Proc {
	t.Helper()
	p := e.Start(t, script, args...)
	line := p.Expect(t, "ready ")
	f := strings.Fields(line)
	port, err := strconv.Atoi(f[1])
	if err != nil || port <= 0 {
		t.Fatalf("sipycotest: %s: bad ready line %q", script, line)
	}
	p.Port, p.Host = port, "127.0.0.1"
	if len(f) > 2 {
		p.Host = f[2]
	}
	p.Addr = net.JoinHostPort(p.Host, strconv.Itoa(port))
	return p
}

// PortArg returns Port as a decimal string, for script arguments.
func (p *Proc) PortArg() string { return strconv.Itoa(p.Port) }

// Line returns the next stdout line, failing the test (with stderr) if the
// script exits or Timeout passes first.
func (p *Proc) Line(t testing.TB) string {
	t.Helper()
	timer := time.NewTimer(p.timeout)
	defer timer.Stop()
	for {
		p.mu.Lock()
		if len(p.lines) > 0 {
			l := p.lines[0]
			p.lines = p.lines[1:]
			p.mu.Unlock()
			return l
		}
		changed := p.changed
		p.mu.Unlock()
		select {
		case <-changed:
		case <-p.exited:
			// Output written just before the exit is in lines by now.
			p.mu.Lock()
			more := len(p.lines) > 0
			p.mu.Unlock()
			if !more {
				t.Fatalf("sipycotest: %s exited before printing the expected line: %v\n--- stderr:\n%s",
					p.Script, p.waitErr, p.Stderr())
			}
		case <-timer.C:
			t.Fatalf("sipycotest: no line from %s within %v\n--- stderr:\n%s", p.Script, p.timeout, p.Stderr())
		}
	}
}

// Expect reads stdout lines until one starts with prefix and returns it.
func (p *Proc) Expect(t testing.TB, prefix string) string {
	t.Helper()
	for {
		if l := p.Line(t); strings.HasPrefix(l, prefix) {
			return l
		}
	}
}

// JSONLine decodes the next stdout line into v (numbers as json.Number
// where v holds interface values).
func (p *Proc) JSONLine(t testing.TB, v any) {
	t.Helper()
	l := p.Line(t)
	if err := decodeJSON(l, v); err != nil {
		t.Fatalf("sipycotest: %s printed %q: %v", p.Script, l, err)
	}
}

// Send writes line and a newline to the script's stdin.
func (p *Proc) Send(t testing.TB, line string) {
	t.Helper()
	if err := p.WriteLine(line); err != nil {
		t.Fatalf("sipycotest: writing to %s: %v\n--- stderr:\n%s", p.Script, err, p.Stderr())
	}
}

// WriteLine writes line and a newline to the script's stdin and returns
// the error instead of failing a test. Unlike the other methods it may be
// called from any goroutine, concurrently with Send: each line is written
// whole (a server goroutine reporting events to the script, say).
func (p *Proc) WriteLine(line string) error {
	p.stdinMu.Lock()
	defer p.stdinMu.Unlock()
	_, err := io.WriteString(p.stdin, line+"\n")
	return err
}

// Stderr returns what the script has written to stderr so far.
func (p *Proc) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// Wait waits (at most Timeout) for the script to exit by itself, e.g. a
// server after a client's terminate(), and returns how it ended; the
// test fails if it does not exit in time.
func (p *Proc) Wait(t testing.TB) Result {
	t.Helper()
	select {
	case <-p.exited:
		return p.Stop()
	case <-time.After(p.timeout):
		r := p.Stop()
		t.Fatalf("sipycotest: %s did not exit within %v: %s", p.Script, p.timeout, r)
		return r
	}
}

// Stop closes the script's stdin (every script exits then), kills it if
// it is still running after a grace period, waits for it and returns how
// it ended. Stopping again returns the same Result.
func (p *Proc) Stop() Result {
	p.mu.Lock()
	if p.stopped {
		r := p.result
		p.mu.Unlock()
		return r
	}
	p.mu.Unlock()
	p.stdin.Close()
	select {
	case <-p.exited:
	case <-time.After(stopGrace):
		p.cancel() // CommandContext kills the process
		<-p.exited
	}
	p.cancel()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stopped {
		p.stopped = true
		out := strings.Join(p.lines, "\n")
		if len(p.partial) > 0 {
			out += "\n" + string(p.partial)
		}
		err := p.waitErr
		p.result = Result{Script: p.Script, Args: p.Args, Stdout: out, Stderr: p.stderr.String(),
			ExitCode: exitCode(err), Err: err}
	}
	return p.result
}

// Kill ends the script at once (SIGKILL), as a crash would, and waits for it.
func (p *Proc) Kill() Result {
	p.cancel()
	<-p.exited
	return p.Stop()
}

func (p *Proc) String() string { return fmt.Sprintf("%s %s", p.Script, strings.Join(p.Args, " ")) }

// stdoutWriter splits the script's stdout into lines; exec's copying
// goroutine calls it and Wait waits for that goroutine.
type stdoutWriter struct{ p *Proc }

func (w stdoutWriter) Write(b []byte) (int, error) {
	p := w.p
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partial = append(p.partial, b...)
	grew := false
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			break
		}
		p.lines = append(p.lines, strings.TrimSuffix(string(p.partial[:i]), "\r"))
		p.partial = p.partial[i+1:]
		grew = true
	}
	if grew {
		close(p.changed)
		p.changed = make(chan struct{})
	}
	return len(b), nil
}

type stderrWriter struct{ p *Proc }

func (w stderrWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.stderr.Write(b)
}
