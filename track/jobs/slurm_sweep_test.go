package jobs_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track/jobs"
)

// slurm3Options runs every solver on the three-node cluster.
func slurm3Options() jobs.Options {
	return jobs.Options{Executor: jobs.ExecutorSlurm, Slurm: jobs.SlurmOptions{Env: []string{"SLURM_CONF=" + slurm3Conf}, PollMax: time.Second}}
}

// arrayRow is one element of a job array as squeue shows it.
type arrayRow struct{ state, node string }

// squeueArray lists the elements of array id (squeue -r: one row each).
func squeueArray(t *testing.T, id string) map[string]arrayRow {
	t.Helper()
	cmd := exec.Command("squeue", "-h", "-t", "all", "-r", "-j", id, "-o", "%i|%T|%N")
	cmd.Env = append(os.Environ(), "SLURM_CONF="+slurm3Conf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("squeue: %v", err)
	}
	rows := map[string]arrayRow{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Split(l, "|"); len(f) == 3 {
			rows[f[0]] = arrayRow{f[1], f[2]}
		}
	}
	return rows
}

// TestSlurmArray: a sweep of 20 on three nodes with throttle 4 is one job
// array; Slurm never runs more than 4 of its elements at once (seen by
// squeue, and by the jobs' states: each element waits for its release
// file, so every state the throttle allows is seen), they spread over
// the nodes, and all 20 end SUCCESS, each a job and a run under the
// sweep's run.
func TestSlurmArray(t *testing.T) {
	needSlurm3(t)
	t.Parallel()
	e := newEnv(t, "", slurm3Options())
	var inputs []map[string]any
	for i := range 20 {
		inputs = append(inputs, map[string]any{"mode": "gate", "factor": float64(i) / 4})
	}
	sw := createSweep(t, e, inputs, 4)
	if sw.Executor != jobs.ExecutorSlurm || sw.ExecutorID == "" {
		t.Fatalf("sweep %+v: not one Slurm array", sw)
	}
	nodes := map[string]bool{}
	maxRunning := 0
	deadline := time.Now().Add(3 * time.Minute)
	for {
		j, err := e.api.InspectJob(context.Background(), sw.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.State.Final() {
			if j.State != jobs.StateSuccess || j.Sweep.Counts[jobs.StateSuccess] != 20 {
				t.Fatalf("sweep %+v counts %v", j, j.Sweep.Counts)
			}
			break
		}
		running := 0
		for id, r := range squeueArray(t, sw.ExecutorID) {
			if !strings.HasPrefix(id, sw.ExecutorID+"_") {
				t.Fatalf("squeue row %s of array %s", id, sw.ExecutorID)
			}
			if r.state == "RUNNING" {
				running++
				nodes[r.node] = true
			}
		}
		started := 0
		for _, el := range elements(t, e, sw.ID) {
			if el.State == jobs.StateStarted && !el.Queued {
				started++
				if !strings.HasPrefix(el.ExecutorID, sw.ExecutorID+"_") {
					t.Fatalf("element %+v: not of array %s", el, sw.ExecutorID)
				}
				os.WriteFile(filepath.Join(e.dataDir, "jobs", el.ID, "work", "release"), nil, 0o644)
			}
		}
		// squeue's answer is one snapshot: the throttle holds there. The
		// jobs' states are read one by one, each as trackd last saw it
		// (an element that ended may still be STARTED while the next
		// runs), so they may show one round's overlap, never more.
		if running > 4 {
			t.Fatalf("%d elements RUNNING in Slurm at once, throttle 4", running)
		}
		if started > 8 {
			t.Fatalf("%d elements STARTED, throttle 4", started)
		}
		maxRunning = max(maxRunning, running)
		if time.Now().After(deadline) {
			t.Fatalf("sweep not final after 3 minutes: %+v %v", j, j.Sweep.Counts)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if maxRunning == 0 || len(nodes) < 2 {
		t.Fatalf("at most %d running, on nodes %v", maxRunning, nodes)
	}
	t.Logf("at most %d elements running at once, on nodes %v", maxRunning, nodes)
	els := checkElements(t, e, sw.ID, 20, jobs.StateSuccess)
	for _, el := range els {
		if el.Outputs["output_2"] != 0.0 || el.Outputs["label"] != "n=0" {
			t.Fatalf("element %d outputs %v", el.Index, el.Outputs)
		}
		if log := runLog(t, e, el.ID); !strings.Contains(log, "stdout: [PROGRESS] 2/2") {
			t.Fatalf("element %d run log:\n%s", el.Index, log)
		}
	}
	for id, r := range squeueArray(t, sw.ExecutorID) {
		if r.state != "COMPLETED" {
			t.Fatalf("Slurm says %s is %s", id, r.state)
		}
	}
}

// TestSlurmArrayStop: stop_job on a running array's sweep cancels every
// element, running or pending, with one scancel: all CANCELLED in Slurm,
// all ABORTED here, and the sweep ABORTED.
func TestSlurmArrayStop(t *testing.T) {
	needSlurm3(t)
	t.Parallel()
	e := newEnv(t, "", slurm3Options())
	var inputs []map[string]any
	for i := range 6 {
		inputs = append(inputs, map[string]any{"mode": "hang", "factor": float64(i)})
	}
	sw := createSweep(t, e, inputs, 2)
	e.waitFor(t, sw.ID, time.Minute, "two running", func(j *jobs.Job) bool { return j.Sweep.Counts[jobs.StateStarted] >= 2 })
	var j jobs.Job
	if err := e.call(t, &j, "stop_jobs", sw.ID); err != nil {
		t.Fatal(err)
	}
	if j.State != jobs.StateAborted || j.Sweep.Counts[jobs.StateAborted] != 6 {
		t.Fatalf("stopped sweep %+v %v", j, j.Sweep)
	}
	for _, el := range checkElements(t, e, sw.ID, 6, jobs.StateAborted) {
		if el.Reason != "stopped by request" {
			t.Fatalf("element %+v", el)
		}
	}
	rows := squeueArray(t, sw.ExecutorID)
	if len(rows) != 6 {
		t.Fatalf("squeue: %v", rows)
	}
	for id, r := range rows {
		if r.state != "CANCELLED" {
			t.Fatalf("Slurm says %s is %s", id, r.state)
		}
	}
}

// TestSlurmArrayRestart: a manager closing while its array runs leaves
// the elements to Slurm; the next manager over the same store follows
// every element again (running or still queued) and ends the sweep
// SUCCESS when they end.
func TestSlurmArrayRestart(t *testing.T) {
	needSlurm3(t)
	t.Parallel()
	dir := t.TempDir()
	opts := slurm3Options()
	e1 := newEnv(t, dir, opts)
	var inputs []map[string]any
	for i := range 4 {
		inputs = append(inputs, map[string]any{"mode": "gate", "factor": float64(i)})
	}
	sw := createSweep(t, e1, inputs, 2)
	e1.waitFor(t, sw.ID, time.Minute, "two running", func(j *jobs.Job) bool { return j.Sweep.Counts[jobs.StateStarted] >= 2 })
	e1.m.Close()
	cfg, err := jobs.LoadConfig(filepath.Join(solverDir, "solvers.toml"))
	if err != nil {
		t.Fatal(err)
	}
	opts.Solvers, opts.Dir = cfg.Solvers, filepath.Join(dir, "jobs")
	m2, err := jobs.New(context.Background(), jobs.StoreRecorder(e1.st), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	api := m2.Target()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		j, err := api.InspectJob(context.Background(), sw.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.State.Final() {
			if j.State != jobs.StateSuccess || j.Sweep.Counts[jobs.StateSuccess] != 4 {
				t.Fatalf("sweep after restart %+v %v", j, j.Sweep.Counts)
			}
			break
		}
		page, err := api.ListJobs(context.Background(), jobs.JobFilter{Parent: sw.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, el := range page.Jobs {
			if el.State == jobs.StateStarted && !el.Queued {
				os.WriteFile(filepath.Join(dir, "jobs", el.ID, "work", "release"), nil, 0o644)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("sweep not final 2 minutes after the restart: %+v %v", j, j.Sweep.Counts)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
