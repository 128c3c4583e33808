package jobs_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/jobs"
	"github.com/sigoco/sigoco/track/store"
)

// createSweep calls create_jobs over rpc, throttle as a keyword.
func createSweep(t *testing.T, e *env, inputs []map[string]any, throttle int) *jobs.Job {
	t.Helper()
	var j jobs.Job
	if err := e.call(t, &j, "create_jobs", "sleeper", "1.0.0", inputs, rpc.Kwargs{"throttle": throttle}); err != nil {
		t.Fatal(err)
	}
	if j.ID == "" || j.Sweep == nil || j.Sweep.Size != len(inputs) || j.Sweep.Throttle != throttle || j.State != jobs.StateStarted {
		t.Fatalf("sweep %+v", j)
	}
	return &j
}

// elements lists the sweep's elements over rpc.
func elements(t *testing.T, e *env, sweep string) []jobs.Job {
	t.Helper()
	var page jobs.JobPage
	if err := e.call(t, &page, "list_jobs", jobs.JobFilter{Parent: sweep, Limit: 1000}); err != nil {
		t.Fatal(err)
	}
	return page.Jobs
}

// checkElements: n elements, each a job and a run under the sweep's run,
// indices 0..n-1, all in state want.
func checkElements(t *testing.T, e *env, sweep string, n int, want jobs.State) []jobs.Job {
	t.Helper()
	els := elements(t, e, sweep)
	if len(els) != n {
		t.Fatalf("%d elements, want %d", len(els), n)
	}
	seen := map[int]bool{}
	for _, j := range els {
		if j.State != want || j.Parent != sweep {
			t.Fatalf("element %+v, want %s under %s", j, want, sweep)
		}
		seen[j.Index] = true
		r, err := e.st.GetRun(context.Background(), j.ID)
		if err != nil || r.Parent != sweep {
			t.Fatalf("run of element %d: parent %q, %v", j.Index, r.Parent, err)
		}
	}
	if len(seen) != n {
		t.Fatalf("indices %v", seen)
	}
	runs, err := e.st.ListRuns(context.Background(), store.RunFilter{Parent: sweep, Limit: 1000})
	if err != nil || len(runs.Runs) != n {
		t.Fatalf("runs under the sweep: %v %v", runs, err)
	}
	return els
}

// TestLocalSweep: a sweep of 6 local jobs with throttle 2: never more
// than 2 elements started at once (each waits for its release file, so
// the test sees every state the feeder allows), all SUCCESS, each a run
// under the sweep's; the sweep SUCCESS with its counts.
func TestLocalSweep(t *testing.T) {
	e := newEnv(t, "", jobs.Options{MaxJobs: 8})
	var inputs []map[string]any
	for i := range 6 {
		inputs = append(inputs, map[string]any{"mode": "gate", "factor": float64(i)})
	}
	sw := createSweep(t, e, inputs, 2)
	deadline := time.Now().Add(time.Minute)
	maxStarted := 0
	for {
		j, err := e.api.InspectJob(context.Background(), sw.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.State.Final() {
			if j.State != jobs.StateSuccess || j.Sweep.Counts[jobs.StateSuccess] != 6 || j.Progress != 100 {
				t.Fatalf("sweep %+v counts %v", j, j.Sweep.Counts)
			}
			break
		}
		started := 0
		for _, el := range elements(t, e, sw.ID) {
			if el.State == jobs.StateStarted {
				started++
				os.WriteFile(filepath.Join(e.dataDir, "jobs", el.ID, "work", "release"), nil, 0o644)
			}
		}
		maxStarted = max(maxStarted, started)
		if started > 2 {
			t.Fatalf("%d elements started at once, throttle 2", started)
		}
		if time.Now().After(deadline) {
			t.Fatalf("sweep not final after a minute: %+v", j)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if maxStarted == 0 {
		t.Fatal("never saw an element running")
	}
	checkElements(t, e, sw.ID, 6, jobs.StateSuccess)
	r, err := e.st.GetRun(context.Background(), sw.ID)
	if err != nil || r.Status != store.StatusFinished {
		t.Fatalf("sweep's run %+v %v", r, err)
	}
}

// TestLocalSweepStop: stop_job on a sweep stops its running elements
// and the ones not started yet; every element and the sweep end ABORTED.
func TestLocalSweepStop(t *testing.T) {
	e := newEnv(t, "", jobs.Options{MaxJobs: 8})
	inputs := []map[string]any{{"mode": "hang", "factor": 1}, {"mode": "hang", "factor": 2}, {"mode": "hang", "factor": 3}, {"mode": "hang", "factor": 4}}
	sw := createSweep(t, e, inputs, 2)
	e.wait(t, sw.ID, "two running", func(j *jobs.Job) bool { return j.Sweep.Counts[jobs.StateStarted] == 2 })
	var j jobs.Job
	if err := e.call(t, &j, "stop_job", sw.ID); err != nil {
		t.Fatal(err)
	}
	if j.State != jobs.StateAborted || j.Sweep.Counts[jobs.StateAborted] != 4 {
		t.Fatalf("stopped sweep %+v %v", j, j.Sweep)
	}
	checkElements(t, e, sw.ID, 4, jobs.StateAborted)
	// stop_jobs on a job that is no sweep is refused
	if err := e.call(t, &j, "stop_jobs", elements(t, e, sw.ID)[0].ID); err == nil {
		t.Fatal("stop_jobs on an element")
	}
}

// TestSweepInvalidInputs: one element's bad inputs refuse the whole
// sweep, naming the element; nothing is made.
func TestSweepInvalidInputs(t *testing.T) {
	e := newEnv(t, "", jobs.Options{})
	var j jobs.Job
	err := e.call(t, &j, "create_jobs", "sleeper", "1.0.0", []map[string]any{{"factor": 1}, {"factor": 99}}, rpc.Kwargs{"throttle": 1})
	var ie *rpc.RemoteError
	if !errors.As(err, &ie) || ie.Type != "jobs.InputError" || !contains(ie.Message, `input "[1].factor"`) {
		t.Fatalf("create_jobs with a bad element: %v", err)
	}
	for _, bad := range []struct {
		in []map[string]any
		kw rpc.Kwargs
	}{{nil, rpc.Kwargs{}}, {[]map[string]any{{"factor": 1}}, rpc.Kwargs{"throttle": -1}}} {
		if err := e.call(t, &j, "create_jobs", "sleeper", "1.0.0", bad.in, bad.kw); err == nil {
			t.Fatalf("create_jobs(%v, %v) made %+v", bad.in, bad.kw, j)
		}
	}
	var page jobs.JobPage
	if err := e.call(t, &page, "list_jobs", jobs.JobFilter{}); err != nil || len(page.Jobs) != 0 {
		t.Fatalf("jobs made: %+v %v", page.Jobs, err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestLocalSweepRestart: a local sweep whose trackd shuts down goes on
// with the next one: the element that ran is ABORTED, the ones never
// started are started by the new manager, and the sweep ends when they
// do (ABORTED: one of its elements was).
func TestLocalSweepRestart(t *testing.T) {
	dir := t.TempDir()
	e1 := newEnv(t, dir, jobs.Options{})
	inputs := []map[string]any{{"mode": "gate", "factor": 1}, {"mode": "gate", "factor": 2}, {"mode": "gate", "factor": 3}}
	sw := createSweep(t, e1, inputs, 1)
	e1.wait(t, sw.ID, "one running", func(j *jobs.Job) bool { return j.Sweep.Counts[jobs.StateStarted] == 1 })
	e1.m.Close()
	cfg, err := jobs.LoadConfig(filepath.Join(solverDir, "solvers.toml"))
	if err != nil {
		t.Fatal(err)
	}
	m2, err := jobs.New(context.Background(), jobs.StoreRecorder(e1.st), jobs.Options{Dir: filepath.Join(dir, "jobs"), Solvers: cfg.Solvers})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	api := m2.Target()
	deadline := time.Now().Add(time.Minute)
	for {
		j, err := api.InspectJob(context.Background(), sw.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.State.Final() {
			if j.State != jobs.StateAborted || j.Sweep.Counts[jobs.StateAborted] != 1 || j.Sweep.Counts[jobs.StateSuccess] != 2 {
				t.Fatalf("sweep after restart %+v %v", j, j.Sweep.Counts)
			}
			break
		}
		page, err := api.ListJobs(context.Background(), jobs.JobFilter{Parent: sw.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, el := range page.Jobs {
			if el.State == jobs.StateStarted {
				os.WriteFile(filepath.Join(dir, "jobs", el.ID, "work", "release"), nil, 0o644)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("sweep not final a minute after the restart: %+v %v", j, j.Sweep.Counts)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
