package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/testcert"
	"github.com/sigoco/sigoco/rpc"
)

// closedAddr returns an address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// silentServer accepts connections and never says anything.
func silentServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func TestExitCodes(t *testing.T) {
	plain := startServer(t, serverOpts{})
	secure := startServer(t, serverOpts{tls: true})
	other := testcert.New(t, "other")
	silent := silentServer(t)
	refused := closedAddr(t)
	missing := filepath.Join(t.TempDir(), "missing.pem")

	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string // a part of stderr
	}{
		{"ok", []string{plain.addr, "call", "ping"}, exitOK, ""},
		{"ssl form", []string{secure.addr, "call", "--ssl", secure.tls.client.CertFile, secure.tls.client.KeyFile, secure.tls.server.CertFile, "ping"}, exitOK, ""},
		{"tls flags", []string{"--tls-cert", secure.tls.client.CertFile, "--tls-key", secure.tls.client.KeyFile, "--tls-peer-cert", secure.tls.server.CertFile, secure.addr, "call", "ping"}, exitOK, ""},
		{"help", []string{"--help"}, exitOK, ""},
		{"command help", []string{"call", "--help"}, exitOK, ""},
		{"help command", []string{"help", "call"}, exitOK, ""},
		{"remote failure", []string{plain.addr, "call", "fail"}, exitRemote, "device not responding"},
		{"no arguments", nil, exitUsage, "missing HOST PORT"},
		{"missing port", []string{"localhost"}, exitUsage, `missing PORT after HOST "localhost"`},
		{"bad port", []string{"localhost", "99999", "list-targets"}, exitUsage, `invalid PORT "99999"`},
		{"bad port in host:port", []string{"localhost:x", "list-targets"}, exitUsage, `invalid port "x"`},
		{"unknown command", []string{plain.addr, "frob"}, exitUsage, `unknown command "frob"`},
		{"command first", []string{"call", plain.addr, "ping"}, exitUsage, "HOST PORT come before the command"},
		{"unknown flag", []string{"--bogus", plain.addr, "list-targets"}, exitUsage, "flag provided but not defined: -bogus"},
		{"unknown command flag", []string{plain.addr, "list-targets", "-t", "x"}, exitUsage, "flag provided but not defined: -t"},
		{"bad duration", []string{"--timeout", "soon", plain.addr, "list-targets"}, exitUsage, "invalid value"},
		{"bad output", []string{"-o", "xml", plain.addr, "list-targets"}, exitUsage, "--output must be text, json or sipyco"},
		{"bad color", []string{"--color", "red", plain.addr, "list-targets"}, exitUsage, "--color must be"},
		{"ssl short", []string{plain.addr, "list-targets", "--ssl", "a", "b"}, exitUsage, "--ssl takes three files"},
		{"ssl with =", []string{"--ssl=a", plain.addr, "list-targets"}, exitUsage, "--ssl takes three files"},
		{"cert without key", []string{"--tls-cert", "c.pem", plain.addr, "list-targets"}, exitUsage, "--tls-cert and --tls-key go together"},
		{"bad literal", []string{plain.addr, "call", "echo", "[1"}, exitUsage, "unexpected end of input"},
		{"bad arguments", []string{plain.addr, "call", "add"}, exitUsage, "rpc.BadArguments"},
		{"ambiguous target", []string{startServer(t, serverOpts{two: true}).addr, "call", "ping"}, exitUsage, "several targets"},
		{"completion shell", []string{"completion", "tcsh"}, exitUsage, "bash|zsh|fish"},
		{"no help topic", []string{"help", "frob"}, exitUsage, "No help topic"},
		{"refused", []string{refused, "list-targets"}, exitConnection, "connection refused"},
		{"refused json", []string{"--json", refused, "list-targets"}, exitConnection, `"kind":"connection","exit_code":3`},
		{"tls against plain", []string{"--tls-peer-cert", secure.tls.server.CertFile, plain.addr, "list-targets"}, exitConnection, "TLS"},
		{"plain against tls", []string{secure.addr, "list-targets"}, exitConnection, "connecting to"},
		{"untrusted server", []string{"--tls-cert", secure.tls.client.CertFile, "--tls-key", secure.tls.client.KeyFile, "--tls-peer-cert", other.CertFile, secure.addr, "list-targets"}, exitConnection, "not trusted"},
		{"client not trusted", append([]string{"--ssl", other.CertFile, other.KeyFile, secure.tls.server.CertFile}, secure.addr, "list-targets"), exitConnection, "connecting to"},
		{"missing cert file", []string{"--tls-cert", missing, "--tls-key", missing, plain.addr, "list-targets"}, exitConnection, "missing.pem"},
		{"unknown target", []string{plain.addr, "call", "-t", "nope", "ping"}, exitUnknown, `unknown target "nope"`},
		{"unknown method", []string{plain.addr, "call", "nope"}, exitUnknown, "rpc.UnknownMethod"},
		{"unknown method listed", []string{plain.addr, "list-methods", "nope"}, exitUnknown, `unknown method "nope"`},
		{"call timeout", []string{"--timeout", "50ms", plain.addr, "call", "block"}, exitTimeout, "timed out after 50ms calling block"},
		{"connect timeout", []string{"--connect-timeout", "50ms", silent, "list-targets"}, exitTimeout, "timed out after 50ms connecting to " + silent},
		{"timeout json", []string{"--json", "--timeout", "50ms", plain.addr, "call", "block"}, exitTimeout, `"kind":"timeout","exit_code":5`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runTool(t, strings.NewReader(""), tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Fatalf("stderr %q does not contain %q", r.stderr, tt.stderr)
			}
			if tt.code == exitOK && r.stderr != "" {
				t.Fatalf("stderr on success: %q", r.stderr)
			}
		})
	}
}

// fakeSignals delivers interrupts on demand.
type fakeSignals struct {
	mu    sync.Mutex
	chans map[chan<- os.Signal]bool
}

func (f *fakeSignals) Notify(c chan<- os.Signal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.chans == nil {
		f.chans = map[chan<- os.Signal]bool{}
	}
	f.chans[c] = true
}

func (f *fakeSignals) Stop(c chan<- os.Signal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.chans, c)
}

// interrupt sends os.Interrupt to every registered channel and reports
// how many there were.
func (f *fakeSignals) interrupt() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.chans {
		select {
		case c <- os.Interrupt:
		default:
		}
	}
	return len(f.chans)
}

// interruptDuringBlock runs rpctool with args (which call block), sends
// Ctrl-C once the server is inside Block, and returns the result.
func interruptDuringBlock(t *testing.T, ts *testServer, stdin string, args ...string) result {
	t.Helper()
	sigs := &fakeSignals{}
	done := make(chan result, 1)
	go func() { done <- runToolEnv(t, env{stdin: strings.NewReader(stdin), signals: sigs}, args...) }()
	select {
	case <-ts.dev.entered:
	case r := <-done:
		t.Fatalf("ended before the call blocked: %+v", r)
	}
	if n := sigs.interrupt(); n != 1 {
		t.Errorf("%d signal channels registered during the call, want 1", n)
	}
	return <-done
}

func TestInterrupt(t *testing.T) {
	ts := startServer(t, serverOpts{})
	r := interruptDuringBlock(t, ts, "", ts.addr, "call", "block")
	if r.code != exitInterrupted || !strings.Contains(r.stderr, "interrupted") {
		t.Fatalf("got %+v, want exit 130 and 'interrupted'", r)
	}
	// In a script, Ctrl-C stops the script: later lines do not run.
	r = interruptDuringBlock(t, ts, "block\nadd 1 2\n", ts.addr)
	if r.code != exitInterrupted || r.stdout != "" || !strings.Contains(r.stderr, "line 1: interrupted") {
		t.Fatalf("script: got %+v, want exit 130 after line 1", r)
	}
}

func TestExitCodeMapping(t *testing.T) {
	tests := []struct {
		err  error
		code int
	}{
		{nil, exitOK},
		{&rpc.RemoteError{Type: "ValueError", Message: "x"}, exitRemote},
		{&rpc.RemoteError{Type: rpc.TypeUnknownMethod}, exitUnknown},
		{&rpc.RemoteError{Type: rpc.TypeBadArguments}, exitUsage},
		{&rpc.RemoteError{Type: rpc.TypeDeadlineExceeded}, exitTimeout},
		{fmt.Errorf("wrapped: %w", &rpc.RemoteError{Type: rpc.TypePanic}), exitRemote},
		{usagef("x"), exitUsage},
		{&argError{Err: errors.New("x")}, exitUsage},
		{&unknownError{what: "target"}, exitUnknown},
		{fmt.Errorf("%w: a, b", rpc.ErrAmbiguousTarget), exitUsage},
		{&timeoutError{what: "x", d: time.Second}, exitTimeout},
		{context.DeadlineExceeded, exitTimeout},
		{os.ErrDeadlineExceeded, exitTimeout},
		{errInterrupted, exitInterrupted},
		{fmt.Errorf("connecting: %w", rpc.ErrIncompatibleServer), exitConnection},
		{net.ErrClosed, exitConnection},
		{errors.New("anything else"), exitConnection},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.code {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.code)
		}
	}
}

func TestAddresses(t *testing.T) {
	v4 := startServer(t, serverOpts{})
	host, port, _ := net.SplitHostPort(v4.addr)
	for _, args := range [][]string{{host, port}, {v4.addr}, {"localhost", port}, {"localhost:" + port}} {
		if r := runTool(t, nil, append(args, "call", "add", "1", "2")...); r.code != 0 || r.stdout != "3\n" {
			t.Errorf("%v: %+v", args, r)
		}
	}
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	ln.Close()
	v6 := startServer(t, serverOpts{listen: "[::1]:0"})
	_, port, _ = net.SplitHostPort(v6.addr)
	for _, args := range [][]string{{"::1", port}, {"[::1]", port}, {"[::1]:" + port}} {
		r := runTool(t, nil, append(args, "list-targets")...)
		if r.code != 0 || !strings.Contains(r.stdout, "dev") {
			t.Errorf("%v: %+v", args, r)
		}
	}
}

func TestEnvironmentDefaults(t *testing.T) {
	ts := startServer(t, serverOpts{two: true})
	t.Setenv("RPCTOOL_OUTPUT", "json")
	t.Setenv("RPCTOOL_TARGET", "aux")
	r := runTool(t, nil, ts.addr, "call", "echo", "'x'")
	if r.code != 0 || r.stdout != "\"x\"\n" {
		t.Fatalf("got %+v, want JSON output from target aux", r)
	}
	// a flag beats the environment
	r = runTool(t, nil, "-o", "text", ts.addr, "call", "-t", "dev", "echo", "'x'")
	if r.code != 0 || r.stdout != "'x'\n" {
		t.Fatalf("got %+v, want text output", r)
	}
}
