package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigoco/sigoco/internal/slurmtest"
	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/jobs"
)

// waiterScript and followSolvers: a Slurm job that runs until the test writes "go" in its
// work directory, then reports an output. It gives up after 3 minutes
// (longer than the test's deadline): a test that failed before writing
// "go" leaves no job looping under slurmstepd, which outlives the cluster.
const waiterScript = `echo started
i=0
while [ ! -e go ]; do
	i=$((i+1)); [ $i -le 900 ] || exit 1
	sleep 0.2
done
echo finished
echo '{"answer": 42}' > outputs.json
`

const followSolvers = `[[solver]]
name = "waiter"
version = "1"
executor = "slurm"
command = ["/bin/sh", "{config_dir}/waiter.sh"]

  [[solver.output]]
  key = "answer"
  type = "integer"
`

// TestSlurmJobFollowsItsNode: node A submits a Slurm job and is killed
// -9 while it runs; node B, on the same database and jobs directory, takes
// the job over once A's lease expired and records its end: SUCCESS, its
// output, its stdout lines. Needs the test cluster (root; skipped with the
// reason outside CI, a failure with CI=true).
func TestSlurmJobFollowsItsNode(t *testing.T) {
	dir, conf, err := slurmtest.Start(1, 2)
	t.Cleanup(func() { slurmtest.Stop(dir) })
	slurmtest.SkipOrFail(t, err)
	t.Setenv("SLURM_CONF", conf)
	solvers := filepath.Join(t.TempDir(), "solvers.toml")
	if err := os.WriteFile(solvers, []byte(followSolvers), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(solvers), "waiter.sh"), []byte(waiterScript), 0o644); err != nil {
		t.Fatal(err)
	}
	jobsDir := t.TempDir() // shared by the nodes (and the cluster)
	u, ports, nodes := startNodes(t, 2, "--solvers", solvers, "--jobs-dir", jobsDir, "--heartbeat-timeout", "2s", "-v", "-v")
	ctx := ctxT(t, 90*time.Second)
	dial := func(i int) *rpc.Client {
		c, err := rpc.Dial(ctx, "127.0.0.1:"+ports[i], jobs.TargetName, rpc.ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	a, b := dial(0), dial(1)
	var j jobs.Job
	if err := a.CallInto(ctx, &j, "create_job", "waiter", "1", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	if err := a.CallInto(ctx, &j, "start_job", j.ID); err != nil {
		t.Fatal(err)
	}
	for j.State != jobs.StateStarted || j.Queued || j.ExecutorID == "" {
		if ctx.Err() != nil || j.State.Final() {
			dumpNodes(t, nodes)
			t.Fatalf("the job never ran on the cluster: %+v", j)
		}
		time.Sleep(50 * time.Millisecond)
		j = jobs.Job{ID: j.ID} // decoded afresh: omitted fields (queued) are false
		if err := a.CallInto(ctx, &j, "inspect_job", j.ID); err != nil {
			dumpNodes(t, nodes)
			t.Fatalf("%v; the job: %+v", err, j)
		}
	}
	a.Close()
	nodes[0].cmd.Process.Kill() // kill -9: A's lease on the job is renewed no more
	nodes[0].cmd.Wait()
	// The job ends after A died: only a node that took it over sees it end.
	if err := os.WriteFile(filepath.Join(jobsDir, j.ID, "work", "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for !j.State.Final() {
		if ctx.Err() != nil {
			dumpNodes(t, nodes)
			t.Fatalf("node B never recorded the end of node A's Slurm job: %+v", j)
		}
		time.Sleep(50 * time.Millisecond)
		j = jobs.Job{ID: j.ID}
		if err := b.CallInto(ctx, &j, "inspect_job", j.ID); err != nil {
			t.Fatal(err)
		}
	}
	if j.State != jobs.StateSuccess || fmt.Sprint(j.Outputs["answer"]) != "42" {
		t.Fatalf("the job as node B recorded it: %s %q, outputs %v", j.State, j.Reason, j.Outputs)
	}
	db, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	rows, err := db.Query(ctx, `SELECT message FROM logs WHERE run = $1 ORDER BY id`, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(lines, "started") || !slices.Contains(lines, "finished") {
		t.Fatalf("the job's stdout lines as stored: %q", lines)
	}
	var held int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM job_leases WHERE job = $1`, j.ID).Scan(&held); err != nil || held != 0 {
		t.Fatalf("%d leases left on the final job (%v)", held, err)
	}
	nodes[1].stop(t)
}

// dumpNodes kills the nodes and logs what they wrote.
func dumpNodes(t *testing.T, nodes []*daemon) {
	for i, d := range nodes {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			d.cmd.Wait()
		}
		t.Logf("node %d:\n%s", i, d.stderr)
	}
}

// TestLocalJobOfDeadNode: node A runs a local job and is killed -9; its
// process dies with it (Pdeathsig), so node B, once A's lease on the job
// expired, marks the job ABORTED with the reason instead of leaving it
// STARTED for ever.
func TestLocalJobOfDeadNode(t *testing.T) {
	_, nodes, clients, j, ctx := sleeperOnTwoNodes(t, "2s")
	a, b := clients[0], clients[1]
	a.Close()
	nodes[0].cmd.Process.Kill()
	nodes[0].cmd.Wait()
	for !j.State.Final() {
		if ctx.Err() != nil {
			dumpNodes(t, nodes)
			t.Fatalf("node B left node A's local job %s", j.State)
		}
		time.Sleep(50 * time.Millisecond)
		j = jobs.Job{ID: j.ID}
		if err := b.CallInto(ctx, &j, "inspect_job", j.ID); err != nil {
			t.Fatal(err)
		}
	}
	if j.State != jobs.StateAborted || !strings.Contains(j.Reason, "node that ran the job stopped") {
		t.Fatalf("node A's local job, as node B ended it: %s %q", j.State, j.Reason)
	}
	nodes[1].stop(t)
}

// sleeperOnTwoNodes starts two trackd nodes on one PostgreSQL with a
// solver "sleeper" (sleep 300) and the heartbeat timeout given, dials the
// jobs target of each, and has node A (clients[0]) run a sleeper job until
// its process runs (STARTED is stored once it does). It returns the
// database URL and a context for the rest of the test.
func sleeperOnTwoNodes(t *testing.T, heartbeat string) (string, []*daemon, []*rpc.Client, jobs.Job, context.Context) {
	t.Helper()
	solvers := filepath.Join(t.TempDir(), "solvers.toml")
	if err := os.WriteFile(solvers, []byte("[[solver]]\nname = \"sleeper\"\nversion = \"1\"\ncommand = [\"/bin/sh\", \"-c\", \"sleep 300\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	u, ports, nodes := startNodes(t, 2, "--solvers", solvers, "--heartbeat-timeout", heartbeat)
	ctx := ctxT(t, 60*time.Second)
	var clients []*rpc.Client
	for _, p := range ports {
		c, err := rpc.Dial(ctx, "127.0.0.1:"+p, jobs.TargetName, rpc.ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		clients = append(clients, c)
	}
	a := clients[0]
	var j jobs.Job
	if err := a.CallInto(ctx, &j, "create_job", "sleeper", "1", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	if err := a.CallInto(ctx, &j, "start_job", j.ID); err != nil {
		t.Fatal(err)
	}
	for j.State != jobs.StateStarted {
		if ctx.Err() != nil || j.State.Final() {
			t.Fatalf("job %s %q, never STARTED", j.State, j.Reason)
		}
		time.Sleep(20 * time.Millisecond)
		j = jobs.Job{ID: j.ID}
		if err := a.CallInto(ctx, &j, "inspect_job", j.ID); err != nil {
			t.Fatal(err)
		}
	}
	return u, nodes, clients, j, ctx
}
