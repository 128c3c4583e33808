package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/wire/auth"
)

// attackSpec makes the test binary, started by trackd as a job's solver,
// try to write another run (runAttack).
const attackSpec = "attack"

// runAttack is a job's solver that holds its run's credential and tries
// to write the run victim, to tag it over rpc and to launch a job; all
// must be refused, and its own run written. It exits 0 when so.
func runAttack(victim string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	addr, cred := os.Getenv(track.EnvAddr), os.Getenv(track.EnvRunCredential)
	if cred == "" || os.Getenv(auth.EnvToken) != "" {
		fmt.Printf("environment: credential %q, token %q\n", cred, os.Getenv(auth.EnvToken))
		return 1
	}
	var fails []string
	c, err := rpc.Dial(ctx, addr, "tracker", rpc.ClientOptions{Token: cred, Protocol: rpc.ProtocolNative})
	if err != nil {
		fmt.Println("dial:", err)
		return 1
	}
	defer c.Close()
	if _, err := c.Call(ctx, "add_tag", victim, "forged"); !errors.Is(err, auth.ErrForbidden) {
		fails = append(fails, fmt.Sprintf("add_tag on the victim: %v", err))
	}
	_, err = c.Call(ctx, "log_batch", store.Batch{Run: victim, Records: []store.Record{{Seq: 1000, Kind: store.KindParam, Key: "forged", Value: 1}}},
		[]string{}, []int64{}, []int64{}, []int64{}, []int64{}, []float64{})
	if !errors.Is(err, auth.ErrForbidden) {
		fails = append(fails, fmt.Sprintf("log_batch into the victim: %v", err))
	}
	if jc, err := rpc.Dial(ctx, addr, "jobs", rpc.ClientOptions{Token: cred, Protocol: rpc.ProtocolNative}); err == nil {
		if _, err := jc.Call(ctx, "create_job", "attacker", "", map[string]any{}); !errors.Is(err, auth.ErrForbidden) {
			fails = append(fails, fmt.Sprintf("create_job: %v", err))
		}
		jc.Close()
	}
	run, err := track.Start(ctx, track.Options{NoMetadata: true, SpoolDir: filepath.Join(os.Getenv("SIGOCO_JOB_WORKDIR"), "spool")})
	if err != nil {
		fmt.Println("own run:", err)
		return 1
	}
	run.LogParam("own", "written")
	if err := run.End(ctx, track.StatusFinished); err != nil {
		fails = append(fails, fmt.Sprintf("own run: %v", err))
	}
	if len(fails) > 0 {
		fmt.Println(strings.Join(fails, "\n"))
		return 1
	}
	return 0
}

// attackerSolvers writes a solvers file whose one solver is runAttack
// aimed at victim.
func attackerSolvers(t *testing.T, victim string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "solvers.toml")
	toml := fmt.Sprintf(`[[solver]]
name = "attacker"
version = "1"
command = [%q, "-test.run=^$"]
env = { %s = "%s,%s" }
track = true
time_limit = "1m"
`, os.Args[0], childEnv, attackSpec, victim)
	if err := os.WriteFile(p, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitJob waits until a job is final and returns it.
func waitJob(t *testing.T, ctx context.Context, c *rpc.Client, id string) map[string]any {
	t.Helper()
	for {
		var job map[string]any
		if err := c.CallInto(ctx, &job, "inspect_job", id); err != nil {
			t.Fatal(err)
		}
		switch job["state"] {
		case "SUCCESS", "FAILED", "ABORTED":
			return job
		}
		if ctx.Err() != nil {
			t.Fatalf("job %s: %v", id, job)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSolverWritesOnlyItsRun: a job's solver gets its own run's write
// credential ($SIGOCO_RUN_CREDENTIAL) and no token; with it, writing
// another identity's run, tagging it and launching a job are refused,
// while its own run is written. At the base trackd gave solvers an admin
// token, with which all three succeeded.
func TestSolverWritesOnlyItsRun(t *testing.T) {
	t.Setenv(auth.EnvToken, "")
	port := freePort(t)
	addr := "127.0.0.1:" + port
	ctx := ctxT(t, 90*time.Second)
	victim := track.NewID()
	d := startTrackd(t, port, t.TempDir(), "--access", writeAccess(t, accessLines()...), "--solvers", attackerSolvers(t, victim))
	vrun, err := track.Start(ctx, track.Options{ID: victim, Project: "victim", Addr: addr, Token: ritaToken, SpoolDir: t.TempDir(), NoMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	vrun.LogParam("v", 1)
	if err := vrun.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := rpc.Dial(ctx, addr, "jobs", rpc.ClientOptions{Token: runnerToken})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var job map[string]any
	if err := c.CallInto(ctx, &job, "create_job", "attacker", "", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	id, _ := job["id"].(string)
	if _, err := c.Call(ctx, "start_job", id); err != nil {
		t.Fatal(err)
	}
	job = waitJob(t, ctx, c, id)
	if job["state"] != "SUCCESS" {
		lc, _ := rpc.Dial(ctx, addr, "tracker", rpc.ClientOptions{Token: adminToken})
		var page map[string]any
		if lc != nil {
			lc.CallInto(ctx, &page, "logs", map[string]any{"run": id})
			lc.Close()
		}
		t.Fatalf("solver: %v\nits logs: %v\n%s", job, page["logs"], tail(d.stderr))
	}
	params, meta, err := getRunAs(t, ctx, addr, adminToken, victim)
	if err != nil {
		t.Fatal(err)
	}
	if params["forged"] != nil || meta["owner"] != "rita" {
		t.Errorf("victim run after the attack: %v %v", params, meta)
	}
	params, meta, _ = getRunAs(t, ctx, addr, adminToken, id)
	if params["own"] != "written" || meta["owner"] != "rudi" {
		t.Errorf("the job's own run: %v %v", params, meta)
	}
	vrun.End(ctx, track.StatusFinished)
	c.Close()
	d.stop(t)
}

// TestQuotas: with lowered quotas, a runner's third open run, third memo
// lease and third pending job are refused with a quota error the client
// sees (store.IsQuota; the refused run is not created), while another
// identity and an admin are not held back; ending a run, unlocking a
// lease and stopping a job make room again.
func TestQuotas(t *testing.T) {
	t.Setenv(auth.EnvToken, "")
	port := freePort(t)
	addr := "127.0.0.1:" + port
	ctx := ctxT(t, 90*time.Second)
	d := startTrackd(t, port, t.TempDir(), "--access", writeAccess(t, accessLines()...), "--solvers", attackerSolvers(t, track.NewID()),
		"--max-open-runs", "2", "--max-leases", "2", "--max-queued-jobs", "2")
	start := func(tok string) (*track.Run, error) {
		r, err := track.Start(ctx, track.Options{Project: "quota", Addr: addr, Token: tok, SpoolDir: t.TempDir(), NoMetadata: true})
		if err != nil {
			t.Fatal(err)
		}
		r.LogParam("x", 1)
		return r, r.Flush(ctx)
	}
	var open []*track.Run
	for range 2 {
		r, err := start(runnerToken)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, r)
	}
	third, err := start(runnerToken)
	if !store.IsQuota(err) || !strings.Contains(err.Error(), "--max-open-runs") {
		t.Fatalf("third open run: %v, want a quota error", err)
	}
	third.End(ctx, track.StatusFinished)
	if _, _, err := getRunAs(t, ctx, addr, adminToken, third.ID()); err == nil {
		t.Errorf("the refused run was stored")
	}
	for _, tok := range []string{ritaToken, adminToken, adminToken, adminToken} {
		r, err := start(tok)
		if err != nil {
			t.Errorf("another identity's run: %v", err)
		}
		r.End(ctx, track.StatusFinished)
	}
	if err := open[0].End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}
	r, err := start(runnerToken)
	if err != nil {
		t.Errorf("a run after one ended: %v", err)
	}
	r.End(ctx, track.StatusFinished)
	open[1].End(ctx, track.StatusFinished)

	// Memo leases.
	mc, err := rpc.Dial(ctx, addr, "memo", rpc.ClientOptions{Token: runnerToken})
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	key := func(i int) store.MemoKey { return store.MemoKey{Project: "q", Name: "m", Params: fmt.Sprint(i)} }
	var toks []string
	for i := range 3 {
		var tok string
		err := mc.CallInto(ctx, &tok, "lock", key(i), 60_000, 0)
		if i < 2 && (err != nil || tok == "") {
			t.Fatalf("lease %d: %q %v", i, tok, err)
		}
		if i == 2 && !store.IsQuota(err) {
			t.Fatalf("third lease: %q %v, want a quota error", tok, err)
		}
		toks = append(toks, tok)
	}
	if _, err := mc.Call(ctx, "unlock", key(0), toks[0]); err != nil {
		t.Fatal(err)
	}
	var tok string
	if err := mc.CallInto(ctx, &tok, "lock", key(2), 60_000, 0); err != nil || tok == "" {
		t.Errorf("a lease after an unlock: %v", err)
	}

	// Jobs pending, queued or running.
	jc, err := rpc.Dial(ctx, addr, "jobs", rpc.ClientOptions{Token: runnerToken})
	if err != nil {
		t.Fatal(err)
	}
	defer jc.Close()
	var ids []string
	for i := range 3 {
		var job map[string]any
		err := jc.CallInto(ctx, &job, "create_job", "attacker", "", map[string]any{})
		if i < 2 && err != nil {
			t.Fatalf("job %d: %v", i, err)
		}
		if i == 2 && (!store.IsQuota(err) || !strings.Contains(err.Error(), "--max-queued-jobs")) {
			t.Fatalf("third job: %v, want a quota error", err)
		}
		if id, _ := job["id"].(string); id != "" {
			ids = append(ids, id)
		}
	}
	if _, err := jc.Call(ctx, "stop_job", ids[0]); err != nil {
		t.Fatal(err)
	}
	var job map[string]any
	if err := jc.CallInto(ctx, &job, "create_job", "attacker", "", map[string]any{}); err != nil {
		t.Errorf("a job after one was stopped: %v", err)
	}
	d.stop(t)
}
