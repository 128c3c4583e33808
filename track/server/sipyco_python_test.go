package server_test

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/sipycotest"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

// pythonClient is SiPyCo's own Client against the tracker target: list,
// get, series, a note and an export, printed as one JSON line.
const pythonClient = `
import json, sys, types
import numpy
if not hasattr(numpy, "dtypes"):  # as internal/sipycotest's compat module
    numpy.dtypes = types.SimpleNamespace(ObjectDType=type(numpy.dtype(object)))
from sipyco.pc_rpc import Client
c = Client(sys.argv[1], int(sys.argv[2]), "tracker")
page = c.list_runs({"project": "p"})
rid = page["runs"][0]["id"]
run = c.get_run(rid)
c.add_note(rid, "from Python")
doc = json.loads(c.export_run(rid))
s = c.series(rid, "x", {"max_points": 2})
c.close_rpc()
print(json.dumps({"id": rid, "status": run["status"], "start": run["start"],
    "notes": [n["text"] for n in doc["run"]["notes"]], "points": len(s["value"])}))
`

// TestSiPyCoPythonClient: SiPyCo's Python Client(host, port, "tracker")
// calls the server (skipped without python3, numpy and SiPyCo).
func TestSiPyCoPythonClient(t *testing.T) {
	env := sipycotest.Python(t)
	addr, _ := start(t, server.Options{})
	ctx := ctxT(t)
	var ack store.Ack
	b := startRecords("py1")
	if err := dial(t, addr).CallInto(ctx, &ack, "log_batch", b, []string{"x"}, []int64{0, 0, 0}, []int64{3, 4, 5}, []int64{0, 1, 2}, []int64{1, 2, 3}, []float64{1, 5, 2}); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(addr)
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(pctx, env.Python, "-c", pythonClient, host, port)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+env.PythonPath, "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("python: %v\n%s", err, stderr)
	}
	var got struct {
		ID, Status string
		Start      float64
		Notes      []string
		Points     int
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(string(out))), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.ID != "py1" || got.Status != "running" || got.Start < 1e9 || len(got.Notes) != 1 || got.Points < 1 {
		t.Fatalf("from Python: %+v", got)
	}
}
