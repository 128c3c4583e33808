package main

import (
	"strings"
	"testing"
)

// TestNewcomerHints: the mistakes of a first hour get told what to do.
func TestNewcomerHints(t *testing.T) {
	ts := startServer(t, serverOpts{})
	host, port := splitHostPortT(t, ts.addr)
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  string
		not   string
	}{
		{"duration without unit", "", []string{"--timeout", "5", host, port, "call", "ping"}, "--timeout 5: a duration needs a unit: --timeout 5s", ""},
		{"ascii bare word", "", []string{host, port, "call", "echo", "hello"}, `quote it: "hello" (in a shell: '"hello"')`, ""},
		{"unicode bare word", "", []string{host, port, "call", "echo", "héllo"}, `bare word héllo is not a literal at column 1; to pass it as a string, quote it: "héllo" (in a shell: '"héllo"')`, ""},
		{"wide bare word", "", []string{host, port, "call", "echo", "世界"}, `quote it: "世界" (in a shell`, ""},
		{"interactive: no shell", "echo hello\necho 世界\n", []string{host, port}, `quote it: "世界"`, "in a shell"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runTool(t, strings.NewReader(tc.stdin), tc.args...)
			if !strings.Contains(r.stderr, tc.want) || (tc.not != "" && strings.Contains(r.stderr, tc.not)) {
				t.Fatalf("stderr %q: want %q and not %q", r.stderr, tc.want, tc.not)
			}
		})
	}
}

// TestCompleteDashDash: "rpctool --<Tab>" lists the flags.
func TestCompleteDashDash(t *testing.T) {
	r := runTool(t, nil, "__complete", "--")
	for _, want := range []string{"--timeout\n", "--tls-peer-cert\n", "--json\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("completions of --: %q lacks %q", r.stdout, want)
		}
	}
}

func splitHostPortT(t *testing.T, addr string) (string, string) {
	i := strings.LastIndex(addr, ":")
	return addr[:i], addr[i+1:]
}

// TestInterruptStartsOnNewLine: on a terminal, "interrupted" comes after
// the "^C" the terminal echoed, on a line of its own.
func TestInterruptStartsOnNewLine(t *testing.T) {
	for _, term := range []bool{false, true} {
		var b strings.Builder
		o := &output{stdout: &b, stderr: &b, errTerminal: term}
		o.error(errInterrupted, "rpctool: ")
		if got := strings.HasPrefix(b.String(), "\n"); got != term {
			t.Errorf("terminal=%v: %q", term, b.String())
		}
	}
}
