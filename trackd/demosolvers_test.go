package main

import (
	"testing"
	"time"

	"github.com/sigoco/sigoco/rpc"
)

// TestDemoSolvers: `trackd --demo` serves the demo solvers of
// internal/demo — the Go one built into trackd, reporting through
// track, and the shell one — and a job of each succeeds with its outputs.
func TestDemoSolvers(t *testing.T) {
	port, data := freePort(t), t.TempDir()
	addr := "127.0.0.1:" + port
	d := startTrackd(t, port, data, "--demo")
	ctx := ctxT(t, 90*time.Second)
	c, err := rpc.Dial(ctx, addr, "jobs", rpc.ClientOptions{})
	if err != nil {
		t.Fatalf("%v\n%s", err, d.stderr)
	}
	defer c.Close()
	var list []map[string]any
	if err := c.CallInto(ctx, &list, "list_solvers"); err != nil || len(list) != 2 {
		t.Fatalf("list_solvers: %v %v", list, err)
	}
	for _, tc := range []struct {
		solver string
		inputs map[string]any
		output string
	}{
		{"oscillator-sweep", map[string]any{"points": 5}, "peak_amplitude"},
		{"countdown", map[string]any{"seconds": 1}, "lines"},
	} {
		var job map[string]any
		if err := c.CallInto(ctx, &job, "create_job", tc.solver, "", tc.inputs); err != nil {
			t.Fatalf("create_job %s: %v", tc.solver, err)
		}
		id, _ := job["id"].(string)
		if _, err := c.Call(ctx, "start_job", id); err != nil {
			t.Fatalf("start_job %s: %v", tc.solver, err)
		}
		for {
			if err := c.CallInto(ctx, &job, "inspect_job", id); err != nil {
				t.Fatal(err)
			}
			if st := job["state"]; st == "SUCCESS" {
				break
			} else if st == "FAILED" || st == "ABORTED" || ctx.Err() != nil {
				t.Fatalf("%s job: %v\n%s", tc.solver, job, d.stderr)
			}
			time.Sleep(100 * time.Millisecond)
		}
		outs, _ := job["outputs"].(map[string]any)
		if outs[tc.output] == nil || len(outs) != 2 {
			t.Fatalf("%s outputs: %v", tc.solver, job["outputs"])
		}
	}
	c.Close()
	d.stop(t)
}
