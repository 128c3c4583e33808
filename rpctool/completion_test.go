package main

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompleteWords(t *testing.T) {
	ts := startServer(t, serverOpts{})
	two := startServer(t, serverOpts{two: true})
	secure := startServer(t, serverOpts{tls: true})
	host, port, _ := net.SplitHostPort(ts.addr)
	refused := closedAddr(t)
	tests := []struct {
		words []string
		want  string
	}{
		{[]string{""}, "completion help"},
		{[]string{"c"}, "completion"},
		{[]string{"--ti"}, "--timeout"},
		{[]string{ts.addr, "call", "--js"}, "--json"},
		{[]string{"-o", ""}, "json text"},
		{[]string{"--color", "a"}, "always auto"},
		{[]string{"--tls-cert", ""}, ""},
		{[]string{"completion", ""}, "bash fish zsh"},
		{[]string{host, ""}, ""},
		{[]string{host, port, ""}, "call interactive list-methods list-targets"},
		{[]string{ts.addr, "list-"}, "list-methods list-targets"},
		{[]string{host, port, "call", ""}, "add block crash echo fail get_attenuation ping scale set_attenuation values"},
		{[]string{ts.addr, "call", "s"}, "scale set_attenuation"},
		{[]string{ts.addr, "call", "-t", "dev", "a"}, "add"},
		{[]string{ts.addr, "list-methods", "add", "g"}, "get_attenuation"},
		{[]string{ts.addr, "call", "add", "1", ""}, "x= y="},
		{[]string{ts.addr, "call", "add", "1", "y"}, "y="},
		{[]string{ts.addr, "call", "nope", ""}, ""},
		{[]string{ts.addr, "call", "-t", ""}, "dev"},
		{[]string{two.addr, "list-methods", "-t", ""}, "aux dev"},
		{[]string{two.addr, "call", "-t", "aux", "p"}, "ping"},
		{[]string{two.addr, "call", "p"}, ""}, // no target chosen
		{[]string{ts.addr, "list-targets", ""}, ""},
		{[]string{refused, "call", ""}, ""},
		{append(secure.flags(), secure.addr, "call", "ad"), "add"},
		{[]string{secure.addr, "call", "ad"}, ""}, // TLS server without the TLS flags
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.words, " "), func(t *testing.T) {
			r := runTool(t, nil, append([]string{completeCommand}, tt.words...)...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			if got := strings.Join(strings.Fields(r.stdout), " "); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		r := runTool(t, nil, "completion", shell)
		if r.code != 0 || !strings.Contains(r.stdout, "__complete") {
			t.Fatalf("%s: %+v", shell, r)
		}
		path, err := exec.LookPath(shell)
		if err != nil {
			continue
		}
		file := filepath.Join(t.TempDir(), "completion."+shell)
		os.WriteFile(file, []byte(r.stdout), 0o600)
		if out, err := exec.Command(path, "-n", file).CombinedOutput(); err != nil {
			t.Errorf("%s -n: %v\n%s", shell, err, out)
		}
	}
}

// TestBinary builds rpctool and checks what only a real process shows:
// exit statuses, a real SIGINT, and the bash completion script at work.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "rpctool")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ts := startServer(t, serverOpts{})
	status := func(err error) int {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	}

	t.Run("exit status", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			code int
		}{{[]string{ts.addr, "call", "ping"}, 0}, {[]string{ts.addr, "call", "fail"}, 1}, {nil, 2}, {[]string{ts.addr, "call", "nope"}, 4}} {
			if got := status(exec.Command(bin, c.args...).Run()); got != c.code {
				t.Errorf("%v: exit %d, want %d", c.args, got, c.code)
			}
		}
	})

	t.Run("SIGINT", func(t *testing.T) {
		cmd := exec.Command(bin, ts.addr, "call", "block")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		<-ts.dev.entered
		cmd.Process.Signal(os.Interrupt)
		if got := status(cmd.Wait()); got != exitInterrupted || !strings.Contains(stderr.String(), "interrupted") {
			t.Fatalf("exit %d, stderr %q; want 130 and 'interrupted'", got, stderr.String())
		}
	})

	t.Run("bash completion", func(t *testing.T) {
		bash, err := exec.LookPath("bash")
		if err != nil {
			t.Skip("no bash")
		}
		script := `source <(rpctool completion bash)
complete_line() { COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}; _rpctool_complete; echo "${COMPREPLY[*]}"; }
complete_line "rpctool ` + ts.addr + ` call a"
complete_line "rpctool ` + ts.addr + ` call add 1 "
complete_line "rpctool ` + ts.addr + ` "
`
		cmd := exec.CommandContext(context.Background(), bash, "--norc", "-c", script)
		cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		want := "add\nx= y=\ncall interactive list-methods list-targets\n"
		if string(out) != want {
			t.Fatalf("got:\n%s\nwant:\n%s", out, want)
		}
	})
}
