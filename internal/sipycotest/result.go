package sipycotest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// Result is how a script ended.
type Result struct {
	Script   string   // script name
	Args     []string // its arguments
	Stdout   string   // whatever it printed and was not read with Proc.Line
	Stderr   string
	ExitCode int   // -1 if it was killed or did not start
	Err      error // nil if it exited 0
}

// String describes the run for failure messages, stderr included.
func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: ", r.Script, strings.Join(r.Args, " "))
	if r.Err == nil {
		b.WriteString("exit 0")
	} else {
		fmt.Fprintf(&b, "%v", r.Err)
	}
	if s := strings.TrimSpace(r.Stdout); s != "" {
		fmt.Fprintf(&b, "\n--- stdout:\n%s", s)
	}
	if s := strings.TrimSpace(r.Stderr); s != "" {
		fmt.Fprintf(&b, "\n--- stderr:\n%s", s)
	}
	return b.String()
}

// Lines returns the non-empty stdout lines.
func (r Result) Lines() []string {
	var out []string
	for _, l := range strings.Split(r.Stdout, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// JSON decodes the last non-empty stdout line (the scripts' summary line)
// into v, failing the test with the whole run described if it cannot.
// Numbers decode as json.Number when v holds interface values.
func (r Result) JSON(t testing.TB, v any) {
	t.Helper()
	lines := r.Lines()
	if len(lines) == 0 {
		t.Fatalf("sipycotest: no JSON on stdout of %s", r)
	}
	if err := decodeJSON(lines[len(lines)-1], v); err != nil {
		t.Fatalf("sipycotest: last stdout line of %s: %v", r, err)
	}
}

func decodeJSON(s string, v any) error {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	return d.Decode(v)
}

// Run runs a one-shot script (stdin empty) to its end, at most Timeout,
// and returns how it ended; a non-zero exit is not a test failure here.
func (e Env) Run(t testing.TB, script string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e.timeout())
	defer cancel()
	cmd := e.Command(ctx, script, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w after %v (killed)", ctx.Err(), e.timeout())
	}
	return Result{Script: script, Args: args, Stdout: stdout.String(), Stderr: stderr.String(),
		ExitCode: exitCode(err), Err: err}
}

// RunJSON runs a one-shot script, fails the test unless it exits 0, and
// decodes its last stdout line into v.
func (e Env) RunJSON(t testing.TB, v any, script string, args ...string) Result {
	t.Helper()
	r := e.Run(t, script, args...)
	if r.Err != nil {
		t.Fatalf("sipycotest: %s", r)
	}
	r.JSON(t, v)
	return r
}

// RPCTool runs SiPyCo's sipyco_rpctool with args (e.g. "127.0.0.1",
// port, "list-targets") and returns its output.
func (e Env) RPCTool(t testing.TB, args ...string) Result {
	t.Helper()
	return e.Run(t, RPCTool, args...)
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode() // -1 when killed by a signal
	}
	return -1
}
