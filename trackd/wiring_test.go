package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/testcert"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/wire/auth"
)

// userCall makes POST /api/call with a bearer token and returns the
// status and the decoded answer.
func userCall(t *testing.T, addr, token, target, method string, args ...any) (int, map[string]any) {
	t.Helper()
	if args == nil {
		args = []any{}
	}
	body, _ := json.Marshal(map[string]any{"target": target, "method": method, "args": args})
	req, _ := http.NewRequest("POST", "http://"+addr+"/api/call", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: answer not JSON: %v", method, err)
	}
	return resp.StatusCode, out
}

// TestDashboardCallsAsUser: trackd's dashboard calls the tracker and jobs
// in-process as the HTTP request's identity, not as trackd: a job created
// from the dashboard by a runner belongs to that runner (another runner
// may not write its run; an admin may), a viewer is refused at once. With
// an access file the demo reports with its own token, as runner
// "trackd-demo", owning its run.
func TestDashboardCallsAsUser(t *testing.T) {
	t.Setenv(auth.EnvToken, "")
	port := freePort(t)
	addr := "127.0.0.1:" + port
	d := startTrackd(t, port, t.TempDir(), "--demo", "--access", writeAccess(t, accessLines()...))
	ctx := ctxT(t, 90*time.Second)

	code, out := userCall(t, addr, runnerToken, "jobs", "create_job", "countdown", "", map[string]any{"seconds": 1})
	job, _ := out["result"].(map[string]any)
	id, _ := job["id"].(string)
	if code != 200 || id == "" {
		t.Fatalf("create_job as rudi: %d %v\n%s", code, out, d.stderr)
	}
	code, out = userCall(t, addr, runnerToken, "tracker", "get_run", id)
	res, _ := out["result"].(map[string]any)
	meta, _ := res["metadata"].(map[string]any)
	if code != 200 || meta[store.MetaOwner] != "rudi" {
		t.Fatalf("the job's run, created from the dashboard by rudi: %d owner %v (%v)", code, meta[store.MetaOwner], out)
	}
	if code, out := userCall(t, addr, runnerToken, "tracker", "add_note", id, "mine"); code != 200 || out["error"] != nil {
		t.Errorf("rudi's note on his job's run: %d %v", code, out)
	}
	if code, out := userCall(t, addr, ritaToken, "tracker", "add_note", id, "not mine"); code != 403 || !strings.Contains(strings.ToLower(out["error"].(map[string]any)["message"].(string)), "rudi") {
		t.Errorf("rita's note on rudi's run: %d %v", code, out)
	}
	if code, out := userCall(t, addr, adminToken, "tracker", "add_note", id, "admin's"); code != 200 || out["error"] != nil {
		t.Errorf("an admin's note: %d %v", code, out)
	}
	if code, _ := userCall(t, addr, viewerToken, "jobs", "create_job", "countdown", "", map[string]any{"seconds": 1}); code != 403 {
		t.Errorf("a viewer's create_job: %d", code)
	}

	// The demo run, reported with the demo's own token.
	rd, err := track.Open(ctx, addr, track.OpenOptions{Token: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	for {
		page, err := rd.ListRuns(ctx, store.RunFilter{Project: "demo"})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Runs) == 1 {
			info, err := rd.GetRun(ctx, page.Runs[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if info.Metadata[store.MetaOwner] != "trackd-demo" {
				t.Fatalf("the demo run's owner: %v", info.Metadata[store.MetaOwner])
			}
			if _, err := rd.CallExposed(ctx, info.ID, "sim", "stop"); err != nil {
				t.Fatal(err)
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the demo run never appeared\n%s", d.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rd.Close()
	d.stop(t)
	if strings.Contains(d.stderr.String(), "trackd: demo:") {
		t.Errorf("the demo failed:\n%s", d.stderr)
	}
}

// TestDemoTLSPeerCertNeedsAccess: --demo with a client-certificate pool
// and no access file is refused at start, saying why (the demo cannot
// present a certificate; it never borrows the server's).
func TestDemoTLSPeerCertNeedsAccess(t *testing.T) {
	srv, client := testcert.New(t, "server"), testcert.New(t, "client")
	cmd := exec.Command(trackdBin, "--port", "0", "--data", t.TempDir(), "--demo",
		"--tls-cert", srv.CertFile, "--tls-key", srv.KeyFile, "--tls-peer-cert", client.CertFile)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "--demo with --tls-peer-cert needs --access") {
		t.Fatalf("%v\n%s", err, out)
	}
}
