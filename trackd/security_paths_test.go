package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
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
	"github.com/sigoco/sigoco/track/store"
)

// The path attacks of issue 22, over the real daemon: a client forges a
// job on a run whose id climbs out of the data directory, then asks the
// jobs API to delete it, start it or serve its log file. Each test fails
// on e965fc3 (the directory outside the data directory is deleted,
// written to or served) and passes once ids are validated and the `job`
// metadata is the server's alone.

// pathAttack is a trackd with a solver, a directory outside its data
// directory (victim) holding a file, and the run id that names victim
// relative to the jobs directory.
type pathAttack struct {
	d      *daemon
	addr   string
	victim string
	id     string // "../../…" from DATA/jobs to victim
}

const victimSecret = "not for the tracker's clients"

func newPathAttack(t *testing.T) *pathAttack {
	t.Helper()
	port, data, victim := freePort(t), t.TempDir(), t.TempDir()
	solvers := filepath.Join(t.TempDir(), "solvers.toml")
	cfg := `[[solver]]
name = "noop"
version = "1"
command = ["/bin/sh", "-c", "exit 0"]

[[solver]]
name = "linker"
version = "1"
command = ["/bin/sh", "-c", "ln -s \"$1\" out.txt", "linker", "{input:target}"]

  [[solver.input]]
  key = "target"
  type = "string"

  [[solver.output]]
  key = "out"
  type = "file"
  filename = "out.txt"
`
	if err := os.WriteFile(solvers, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"precious.txt", "stdout.log"} {
		if err := os.WriteFile(filepath.Join(victim, f), []byte(victimSecret), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	id, err := filepath.Rel(filepath.Join(data, "jobs"), victim)
	if err != nil || !strings.HasPrefix(id, "..") || len(id) > 64 {
		t.Fatalf("victim %s from %s: %q %v", victim, data, id, err)
	}
	d := startTrackd(t, port, data, "--solvers", solvers)
	return &pathAttack{d: d, addr: "127.0.0.1:" + port, victim: victim, id: id}
}

// forge sends, as any client may, a batch that makes run id a job of
// solver noop in state st. It returns the error of log_batch and the
// records the server rejected.
func (a *pathAttack) forge(t *testing.T, id, st string) (error, []store.Rejected) {
	t.Helper()
	ctx := ctxT(t, 20*time.Second)
	c, err := rpc.Dial(ctx, a.addr, "tracker", rpc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	now := time.Now().UnixNano()
	b := store.Batch{Run: id, Records: []store.Record{
		{Seq: 1, Kind: store.KindStart, Key: "jobs", Value: "noop@1", Time: now},
		{Seq: 2, Kind: store.KindMeta, Key: "job", Value: map[string]any{"id": id, "solver": "noop", "version": "1", "state": st, "progress": 0.0, "inputs": map[string]any{}, "created": 1.0}, Time: now},
		{Seq: 3, Kind: store.KindTag, Key: "job", Time: now},
		{Seq: 4, Kind: store.KindTag, Key: "state=" + st, Time: now},
	}}
	var ack store.Ack
	err = c.CallInto(ctx, &ack, "log_batch", b, []string{}, []int64{}, []int64{}, []int64{}, []int64{}, []float64{})
	return err, ack.Rejected
}

// checkVictim fails the test if anything in the victim directory changed.
func (a *pathAttack) checkVictim(t *testing.T) {
	t.Helper()
	ents, err := os.ReadDir(a.victim)
	if err != nil {
		t.Fatalf("the directory outside the data directory: %v", err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "precious.txt,stdout.log" {
		t.Errorf("the directory outside the data directory now holds %v", names)
	}
	if b, err := os.ReadFile(filepath.Join(a.victim, "stdout.log")); err != nil || string(b) != victimSecret {
		t.Errorf("stdout.log outside the data directory: %q %v", b, err)
	}
}

// apiCall is POST /api/call, as the dashboard makes it.
func apiCall(t *testing.T, addr, target, method string, args ...any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"target": target, "method": method, "args": args})
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Post("http://"+addr+"/api/call", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		t.Fatalf("/api/call %s: %d %v", method, resp.StatusCode, err)
	}
	return out
}

// TestForgedJobDeleteTraversal: delete_job("../../X") through POST
// /api/call deleted the directory X outside the data directory.
func TestForgedJobDeleteTraversal(t *testing.T) {
	a := newPathAttack(t)
	err, _ := a.forge(t, a.id, "FAILED")
	if err == nil {
		t.Errorf("log_batch for run %q was accepted", a.id)
	} else if !strings.Contains(err.Error(), "bad run id") {
		t.Errorf("log_batch for run %q: %v, want a bad run id error", a.id, err)
	}
	out := apiCall(t, a.addr, "jobs", "delete_job", a.id)
	e, _ := out["error"].(map[string]any)
	if e == nil {
		t.Errorf("delete_job(%q) succeeded: %v", a.id, out)
	} else if msg, _ := e["message"].(string); !strings.Contains(msg, "bad job id") || e["type"] != "ValueError" {
		t.Errorf("delete_job(%q): %v, want a bad job id error", a.id, e)
	}
	a.checkVictim(t)
	a.d.stop(t)
}

// TestForgedJobStartTraversal: start_job on a forged PENDING job made
// stdout.log, stderr.log and work/ outside the data directory.
func TestForgedJobStartTraversal(t *testing.T) {
	a := newPathAttack(t)
	a.forge(t, a.id, "PENDING")
	ctx := ctxT(t, 20*time.Second)
	c, err := rpc.Dial(ctx, a.addr, "jobs", rpc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Call(ctx, "start_job", a.id); !errors.Is(err, rpc.ErrValue) || !strings.Contains(err.Error(), "bad job id") {
		t.Errorf("start_job(%q): %v, want a bad job id error", a.id, err)
	}
	time.Sleep(300 * time.Millisecond) // a job that started would have written by now
	a.checkVictim(t)
	c.Close()
	a.d.stop(t)
}

// TestForgedJobLogfileTraversal: GET /jobs/..%2F..%2FX/logfile.zip
// answered 200 with X/stdout.log, a file outside the data directory.
func TestForgedJobLogfileTraversal(t *testing.T) {
	a := newPathAttack(t)
	a.forge(t, a.id, "FAILED")
	url := "http://" + a.addr + "/jobs/" + strings.ReplaceAll(a.id, "/", "%2F") + "/logfile.zip"
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET %s: %d, want 400", url, resp.StatusCode)
	}
	if zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body))); err == nil {
		for _, f := range zr.File {
			r, _ := f.Open()
			b, _ := io.ReadAll(r)
			r.Close()
			if strings.Contains(string(b), victimSecret) {
				t.Errorf("the log zip served %s from outside the data directory", f.Name)
			}
		}
	}
	if !strings.Contains(string(body), "bad job id") {
		t.Errorf("GET %s answered %.200q, want it to say the job id is bad", url, body)
	}
	a.checkVictim(t)
	a.d.stop(t)
}

// TestForgedJobRecordRefused: a client may not write the `job` metadata
// or the jobs' tags of its own run (valid id): the records are rejected
// in the ack, and list_jobs does not list the run.
func TestForgedJobRecordRefused(t *testing.T) {
	a := newPathAttack(t)
	id := "0198f5a4-7d3c-7b1e-9a53-2f6d4e8c1a07"
	err, rej := a.forge(t, id, "PENDING")
	if err != nil {
		t.Fatalf("log_batch: %v", err)
	}
	var seqs []int64
	for _, r := range rej {
		seqs = append(seqs, r.Seq)
		if !strings.Contains(r.Error, "only the server writes") {
			t.Errorf("rejected %d: %q", r.Seq, r.Error)
		}
	}
	if len(seqs) != 3 || seqs[0] != 2 || seqs[1] != 3 || seqs[2] != 4 {
		t.Errorf("rejected records %v (%+v), want 2, 3, 4", seqs, rej)
	}
	out := apiCall(t, a.addr, "jobs", "list_jobs", map[string]any{})
	res, _ := out["result"].(map[string]any)
	if js, _ := res["jobs"].([]any); len(js) != 0 || res == nil {
		t.Errorf("list_jobs: %v", out)
	}
	out = apiCall(t, a.addr, "jobs", "start_job", id)
	if e, _ := out["error"].(map[string]any); e == nil {
		t.Errorf("start_job of a forged job: %v", out)
	}
	a.d.stop(t)
}

// TestSolverOutputLink: a solver that leaves its output file as a link
// to a file trackd can read (out.txt -> /etc/shadow) had that file
// stored and served as the job's output; now the job fails with the
// reason and nothing of the file is stored.
func TestSolverOutputLink(t *testing.T) {
	a := newPathAttack(t)
	ctx := ctxT(t, 30*time.Second)
	c, err := rpc.Dial(ctx, a.addr, "jobs", rpc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var job map[string]any
	if err := c.CallInto(ctx, &job, "create_job", "linker", "", map[string]any{"target": filepath.Join(a.victim, "precious.txt")}); err != nil {
		t.Fatal(err)
	}
	id, _ := job["id"].(string)
	if err := c.CallInto(ctx, &job, "start_job", id); err != nil {
		t.Fatal(err)
	}
	for job["state"] != "SUCCESS" && job["state"] != "FAILED" && job["state"] != "ABORTED" {
		if ctx.Err() != nil {
			t.Fatalf("job %v\n%s", job, a.d.stderr)
		}
		time.Sleep(50 * time.Millisecond)
		if err := c.CallInto(ctx, &job, "inspect_job", id); err != nil {
			t.Fatal(err)
		}
	}
	if reason, _ := job["reason"].(string); job["state"] != "FAILED" || !strings.Contains(reason, "out.txt is a symbolic link") {
		t.Errorf("job %v, want FAILED because out.txt is a symbolic link", job)
	}
	tc, err := rpc.Dial(ctx, a.addr, "tracker", rpc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	sum := sha256.Sum256([]byte(victimSecret))
	var bs store.BlobState
	if err := tc.CallInto(ctx, &bs, "blob_state", hex.EncodeToString(sum[:])); err != nil || bs.Present {
		t.Errorf("the link's target is stored: %+v %v", bs, err)
	}
	c.Close()
	tc.Close()
	a.d.stop(t)
}
