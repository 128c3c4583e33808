package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/wire/auth"
)

// jobsCallAs calls a jobs method through POST /api/call as the holder of
// token and returns the decoded answer and its HTTP status.
func jobsCallAs(t *testing.T, addr, token, method string, args ...any) (map[string]any, int) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"target": "jobs", "method": method, "args": args})
	req, _ := http.NewRequest("POST", "http://"+addr+"/api/call", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		t.Fatalf("/api/call jobs.%s: %d %v", method, resp.StatusCode, err)
	}
	return out, resp.StatusCode
}

// TestJobOwnership: a job is a run, and only its owner (the runner who
// created it) or an admin starts, stops or deletes it, or stops its
// sweep, over native rpc, pc_rpc and the dashboard's /api/call (403); a
// viewer only reads. At the base any runner stopped or started another's job.
func TestJobOwnership(t *testing.T) {
	t.Setenv(auth.EnvToken, "")
	port := freePort(t)
	addr := "127.0.0.1:" + port
	ctx := ctxT(t, 90*time.Second)
	solvers := filepath.Join(t.TempDir(), "solvers.toml")
	if err := os.WriteFile(solvers, []byte("[[solver]]\nname = \"sleeper\"\nversion = \"1\"\ncommand = [\"/bin/sh\", \"-c\", \"sleep 300\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startTrackd(t, port, t.TempDir(), "--access", writeAccess(t, accessLines()...), "--solvers", solvers)
	dial := func(tok string) *rpc.Client {
		c, err := rpc.Dial(ctx, addr, "jobs", rpc.ClientOptions{Token: tok})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	rudi, rita, vera, admin := dial(runnerToken), dial(ritaToken), dial(viewerToken), dial(adminToken)
	ritaPC, err := rpc.Dial(ctx, addr, "jobs", rpc.ClientOptions{Token: ritaToken, Protocol: rpc.ProtocolSiPyCo})
	if err != nil {
		t.Fatal(err)
	}
	defer ritaPC.Close()
	create := func() string {
		t.Helper()
		var job map[string]any
		if err := rudi.CallInto(ctx, &job, "create_job", "sleeper", "", map[string]any{}); err != nil {
			t.Fatal(err)
		}
		id, _ := job["id"].(string)
		return id
	}
	state := func(id string) string {
		t.Helper()
		var job map[string]any
		if err := vera.CallInto(ctx, &job, "inspect_job", id); err != nil {
			t.Fatal(err)
		}
		s, _ := job["state"].(string)
		return s
	}
	refused := func(c *rpc.Client, who, method, id string) {
		t.Helper()
		if _, err := c.Call(ctx, method, id); !errors.Is(err, auth.ErrForbidden) {
			t.Errorf("%s's %s of rudi's job: %v, want auth.ErrForbidden", who, method, err)
		}
	}

	j1 := create()
	for _, m := range []string{"start_job", "stop_job", "delete_job"} {
		refused(rita, "rita", m, j1)
		refused(ritaPC, "rita (pc_rpc)", m, j1)
		refused(vera, "vera", m, j1)
		out, code := jobsCallAs(t, addr, ritaToken, m, j1)
		if e, _ := out["error"].(map[string]any); code != http.StatusForbidden || e == nil || e["type"] != "PermissionError" || !strings.Contains(e["message"].(string), "belongs to rudi") {
			t.Errorf("rita's %s of rudi's job over /api/call: %d %v", m, code, out)
		}
	}
	if s := state(j1); s != "PENDING" {
		t.Fatalf("rudi's job after the others' attempts: %s", s)
	}
	if _, err := rudi.Call(ctx, "start_job", j1); err != nil {
		t.Fatalf("the owner's start_job: %v", err)
	}
	refused(rita, "rita", "stop_job", j1)
	if s := state(j1); s == "ABORTED" {
		t.Fatalf("rita stopped rudi's job")
	}
	if _, err := admin.Call(ctx, "stop_job", j1); err != nil {
		t.Fatalf("an admin's stop_job: %v", err)
	}
	if s := state(j1); s != "ABORTED" {
		t.Errorf("after the admin's stop_job: %s", s)
	}

	// The owner stops and deletes its jobs; an admin deletes anyone's.
	j2 := create()
	if out, code := jobsCallAs(t, addr, runnerToken, "start_job", j2); out["error"] != nil || code != http.StatusOK {
		t.Fatalf("the owner's start_job over /api/call: %d %v", code, out)
	}
	if _, err := rudi.Call(ctx, "stop_job", j2); err != nil {
		t.Fatalf("the owner's stop_job: %v", err)
	}
	if _, err := rudi.Call(ctx, "delete_job", j2); err != nil {
		t.Fatalf("the owner's delete_job: %v", err)
	}
	if _, err := admin.Call(ctx, "delete_job", j1); err != nil {
		t.Fatalf("an admin's delete_job: %v", err)
	}

	// A sweep: its elements are the creator's as well.
	var sweep map[string]any
	if err := rudi.CallInto(ctx, &sweep, "create_jobs", "sleeper", "", []any{map[string]any{}, map[string]any{}}, rpc.Kwargs{"throttle": 0}); err != nil {
		t.Fatal(err)
	}
	sw, _ := sweep["id"].(string)
	refused(rita, "rita", "stop_jobs", sw)
	refused(rita, "rita", "stop_job", sw)
	var elems map[string]any
	if err := vera.CallInto(ctx, &elems, "list_jobs", map[string]any{"parent": sw}); err != nil {
		t.Fatal(err)
	}
	js, _ := elems["jobs"].([]any)
	if len(js) != 2 {
		t.Fatalf("sweep elements: %v", elems)
	}
	e0, _ := js[0].(map[string]any)["id"].(string)
	refused(rita, "rita", "stop_job", e0)
	if s := state(sw); s == "ABORTED" {
		t.Fatalf("rita stopped rudi's sweep")
	}
	if _, err := rudi.Call(ctx, "stop_jobs", sw); err != nil {
		t.Fatalf("the owner's stop_jobs: %v", err)
	}
	refused(rita, "rita", "delete_job", sw)
	if _, err := rudi.Call(ctx, "delete_job", sw); err != nil {
		t.Fatalf("the owner's delete_job of its sweep: %v", err)
	}
	d.stop(t)
}
