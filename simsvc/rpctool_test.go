package simsvc_test

import (
	"bytes"
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/simsvc"
)

// TestRPCTool: sigoco's rpctool drives a service through its lifecycle,
// sees a service function appear after init, and reads a property.
func TestRPCTool(t *testing.T) {
	if testing.Short() {
		t.Skip("builds rpctool")
	}
	bin := filepath.Join(t.TempDir(), "rpctool")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/sigoco/sigoco/rpctool").CombinedOutput(); err != nil {
		t.Fatalf("building rpctool: %v\n%s", err, out)
	}
	c := newCounter()
	_, addr := serve(t, c, simsvc.Options{Name: "counter"})
	host, port, _ := net.SplitHostPort(addr)
	rt := func(args ...string) (string, error) {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(cctx, bin, append([]string{"--no-history", "--color", "never", host, port}, args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return strings.TrimSpace(stdout.String() + stderr.String()), err
	}
	for _, step := range []struct {
		args []string
		want string // in the output
		fail bool
	}{
		{[]string{"call", "step"}, "step not allowed in state REGISTERED", true},
		{[]string{"call", "run"}, "", false},
		{[]string{"call", "add", "1.0"}, "unknown method", true},
		{[]string{"call", "init"}, "False", false},
		{[]string{"call", "init"}, "True", false},
		{[]string{"list-methods", "add"}, "add(x", false},
		{[]string{"call", "start"}, "True", false},
		{[]string{"call", "step"}, "", false},
		{[]string{"call", "add", "2.5"}, "3.5", false},
		{[]string{"call", "get_rate"}, "1", false},
		{[]string{"call", "status"}, "SIM_RUNNING", false},
		{[]string{"call", "stop", "terminate_sim=False"}, "", false},
		{[]string{"call", "status"}, "SIM_FINISHED", false},
	} {
		out, err := rt(step.args...)
		if (err != nil) != step.fail || !strings.Contains(out, step.want) {
			t.Fatalf("rpctool %s: %v\n%s\nwant %q (fail %v)", strings.Join(step.args, " "), err, out, step.want, step.fail)
		}
	}
}
