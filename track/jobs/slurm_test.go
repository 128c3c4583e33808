package jobs_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/slurmtest"
	"github.com/sigoco/sigoco/track/jobs"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/sqlite"
)

// A real Slurm cluster on loopback (testdata/slurm/up.sh: munged,
// slurmctld, one slurmd declaring 8 CPUs; for job arrays a second one of
// three slurmd of 2 CPUs), each started once by the first test
// that needs it and stopped by TestMain (stopSlurm). Without root or the
// packages the tests skip, saying why; with CI=true they fail instead
// (and up.sh installs the packages).
var (
	slurmOnce sync.Once
	slurmDir  string // the cluster's directory, once started
	slurmConf string // its slurm.conf
	slurmErr  error

	// a second cluster of three nodes (two CPUs each), for job arrays
	slurm3Once sync.Once
	slurm3Dir  string
	slurm3Conf string
	slurm3Err  error
)

func needSlurm(t *testing.T) {
	t.Helper()
	slurmOnce.Do(func() { slurmDir, slurmConf, slurmErr = startCluster(1, 8) })
	skipOrFail(t, slurmErr)
}

// needSlurm3 starts the three-node cluster.
func needSlurm3(t *testing.T) {
	t.Helper()
	slurm3Once.Do(func() { slurm3Dir, slurm3Conf, slurm3Err = startCluster(3, 2) })
	skipOrFail(t, slurm3Err)
}

func skipOrFail(t *testing.T, err error) { t.Helper(); slurmtest.SkipOrFail(t, err) }

// startCluster starts a cluster of nodes slurmd, each declaring cpus
// CPUs; dir is set (for stopSlurm) even when it fails.
func startCluster(nodes, cpus int) (dir, conf string, err error) { return slurmtest.Start(nodes, cpus) }

// stopSlurm stops the test clusters that tests started.
func stopSlurm() {
	for _, dir := range []string{slurmDir, slurm3Dir} {
		slurmtest.Stop(dir)
	}
}

// slurmOptions runs every solver of the test file on the test cluster.
func slurmOptions() jobs.Options {
	return jobs.Options{Executor: jobs.ExecutorSlurm, Slurm: jobs.SlurmOptions{Env: []string{"SLURM_CONF=" + slurmConf}, PollMax: time.Second}}
}

// waitFor polls inspect_job until cond holds, for up to d.
func (e *env) waitFor(t *testing.T, id string, d time.Duration, what string, cond func(*jobs.Job) bool) *jobs.Job {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		j, err := e.api.InspectJob(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if cond(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s never %s in %s; last: %+v", id, what, d, j)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// slurmState is the job's state as scontrol tells it.
func slurmState(t *testing.T, id string) string {
	t.Helper()
	cmd := exec.Command("scontrol", "show", "job", "-o", id)
	cmd.Env = append(os.Environ(), "SLURM_CONF="+slurmConf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("scontrol show job %s: %v", id, err)
	}
	for _, kv := range strings.Fields(string(out)) {
		if v, ok := strings.CutPrefix(kv, "JobState="); ok {
			return v
		}
	}
	return ""
}

// waitRequeueHeld waits until Slurm holds the requeued job id and may
// start it again: PENDING (BeginTime), its first run's cleanup on the
// node over (the job is COMPLETING until then), and the clock in a later
// second than that cleanup. slurmd revoked the job's credential when it
// killed the first run, and compares credentials in whole seconds: a run
// started in the second of the revocation is refused ("Job credential
// revoked", the job FAILED with exit 1).
func waitRequeueHeld(t *testing.T, id string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for st := slurmState(t, id); st != "PENDING"; st = slurmState(t, id) {
		if time.Now().After(deadline) {
			t.Fatalf("Slurm job %s still %s a minute after its requeue", id, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	revoked := time.Now().Unix()
	for time.Now().Unix() <= revoked {
		time.Sleep(10 * time.Millisecond)
	}
}

func running(j *jobs.Job) bool { return j.State == jobs.StateStarted || j.State.Final() }

// runLog is the job's run's log records so far, one per line.
func runLog(t *testing.T, e *env, id string) string {
	t.Helper()
	page, err := e.st.Logs(context.Background(), store.LogQuery{Run: id, MinLevel: -8, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range page.Logs {
		b.WriteString(l.Logger + ": " + l.Message + "\n")
	}
	return b.String()
}

// TestSlurmWorkflow: the sleeper workflow on Slurm end to end: a file
// input, the job submitted (its Slurm id recorded), SUCCESS with its
// outputs, progress and stdout lines in the run's log.
func TestSlurmWorkflow(t *testing.T) {
	needSlurm(t)
	t.Parallel()
	e := newEnv(t, "", slurmOptions())
	sha := upload(t, e, "7")
	j := create(t, e, "1.0.0", map[string]any{"input_1": map[string]any{"id": sha}, "factor": 1.5, "steps": 4, "note": "it's \"quoted\"; $HOME `x`"})
	start(t, e, j.ID)
	done := e.waitFor(t, j.ID, time.Minute, "final", final)
	if done.State != jobs.StateSuccess || done.Progress != 100 || done.ExitCode == nil || *done.ExitCode != 0 ||
		done.Executor != jobs.ExecutorSlurm || done.ExecutorID == "" || done.Started.IsZero() {
		t.Fatalf("job %+v", done)
	}
	if done.Outputs["output_2"] != 10.5 || done.Outputs["label"] != "n=7" {
		t.Fatalf("outputs %v", done.Outputs)
	}
	if st := slurmState(t, done.ExecutorID); st != "COMPLETED" {
		t.Fatalf("Slurm says %s", st)
	}
	var log string
	deadline := time.Now().Add(10 * time.Second)
	for log = runLog(t, e, j.ID); !strings.Contains(log, "stdout: [PROGRESS] 4/4") && time.Now().Before(deadline); log = runLog(t, e, j.ID) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(log, "stdout: [PROGRESS] 4/4") || !strings.Contains(log, "stderr: done") || !strings.Contains(log, "env hello") {
		t.Fatalf("run log:\n%s", log)
	}
	// the job's argv reached the solver as given: no shell on the way
	b, err := os.ReadFile(filepath.Join(e.dataDir, "jobs", j.ID, "work", "inputs.json"))
	if err != nil || !strings.Contains(string(b), `it's \"quoted\"; $HOME `+"`x`") {
		t.Fatalf("inputs.json %s %v", b, err)
	}
}

// TestSlurmFailed: a job that exits 3 on the cluster is FAILED with its
// exit code and the tail of its stderr.
func TestSlurmFailed(t *testing.T) {
	needSlurm(t)
	t.Parallel()
	e := newEnv(t, "", slurmOptions())
	j := create(t, e, "1.0.0", map[string]any{"mode": "fail", "factor": 1})
	start(t, e, j.ID)
	done := e.waitFor(t, j.ID, time.Minute, "final", final)
	if done.State != jobs.StateFailed || done.ExitCode == nil || *done.ExitCode != 3 || done.Reason != "exit status 3" ||
		len(done.StderrTail) == 0 || done.StderrTail[len(done.StderrTail)-1] != "error line 29" {
		t.Fatalf("job %+v", done)
	}
	if st := slurmState(t, done.ExecutorID); st != "FAILED" {
		t.Fatalf("Slurm says %s", st)
	}
}

// TestSlurmStop: stop_job on a running Slurm job scancels it: CANCELLED
// in Slurm, ABORTED "stopped by request" here.
func TestSlurmStop(t *testing.T) {
	needSlurm(t)
	t.Parallel()
	e := newEnv(t, "", slurmOptions())
	j := create(t, e, "1.0.0", map[string]any{"mode": "hang", "factor": 1})
	start(t, e, j.ID)
	e.waitFor(t, j.ID, time.Minute, "running", func(j *jobs.Job) bool { return j.State == jobs.StateStarted && j.Progress == 25 })
	var got jobs.Job
	if err := e.call(t, &got, "stop_job", j.ID); err != nil {
		t.Fatal(err)
	}
	if got.State != jobs.StateAborted || got.Reason != "stopped by request" {
		t.Fatalf("stopped: %+v", got)
	}
	if st := slurmState(t, got.ExecutorID); st != "CANCELLED" {
		t.Fatalf("Slurm says %s", st)
	}
}

// TestSlurmLiveLog: stdout reaches the run's log while the job runs (the
// output file is followed as it grows), not only at the end.
func TestSlurmLiveLog(t *testing.T) {
	needSlurm(t)
	t.Parallel()
	e := newEnv(t, "", slurmOptions())
	j := create(t, e, "1.0.0", map[string]any{"mode": "gate", "factor": 1})
	start(t, e, j.ID)
	e.waitFor(t, j.ID, time.Minute, "running", running)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(runLog(t, e, j.ID), "stdout: [PROGRESS] 1/2") {
		if time.Now().After(deadline) {
			t.Fatalf("no live stdout; run log:\n%s", runLog(t, e, j.ID))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got, _ := e.api.InspectJob(context.Background(), j.ID); got.State != jobs.StateStarted || got.Progress != 50 {
		t.Fatalf("while running: %+v", got)
	}
	if err := os.WriteFile(filepath.Join(e.dataDir, "jobs", j.ID, "work", "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if done := e.waitFor(t, j.ID, time.Minute, "final", final); done.State != jobs.StateSuccess {
		t.Fatalf("job %+v", done)
	}
}

// TestSlurmTimeout: a job that outlives its time limit (1 min, Slurm's
// smallest) is ended by Slurm (TIMEOUT) and FAILED with that reason.
func TestSlurmTimeout(t *testing.T) {
	needSlurm(t)
	if testing.Short() {
		t.Skip("-short: waits for Slurm's one-minute time limit")
	}
	t.Parallel()
	e := newEnv(t, "", slurmOptions())
	j := create(t, e, "1.0.0", map[string]any{"mode": "stubborn", "factor": 1})
	start(t, e, j.ID)
	done := e.waitFor(t, j.ID, 4*time.Minute, "final", final)
	if done.State != jobs.StateFailed || !strings.Contains(done.Reason, "Slurm: TIMEOUT") {
		t.Fatalf("job %+v", done)
	}
	if st := slurmState(t, done.ExecutorID); st != "TIMEOUT" {
		t.Fatalf("Slurm says %s", st)
	}
}

// daemonSlurm runs in a child test process: a manager on the test
// cluster with gated jobs running; it prints "READY id…" and waits to be
// killed.
func daemonSlurm(dir string) {
	fail := func(err error) { fmt.Println("ERROR", err); os.Exit(1) }
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		fail(err)
	}
	cfg, err := jobs.LoadConfig(filepath.Join(os.Getenv("JOBS_TEST_SOLVERS"), "solvers.toml"))
	if err != nil {
		fail(err)
	}
	slurmConf = os.Getenv("JOBS_TEST_SLURM_CONF")
	opts := slurmOptions()
	opts.Solvers, opts.Dir = cfg.Solvers, filepath.Join(dir, "jobs")
	m, err := jobs.New(ctx, jobs.StoreRecorder(st), opts)
	if err != nil {
		fail(err)
	}
	api := m.Target()
	var ids []string
	for range 2 {
		j, err := api.CreateJob(ctx, "sleeper", "1.0.0", map[string]any{"factor": 1, "mode": "gate"})
		if err != nil {
			fail(err)
		}
		if _, err := api.StartJob(ctx, j.ID); err != nil {
			fail(err)
		}
		ids = append(ids, j.ID)
	}
	for _, id := range ids {
		for {
			j, err := api.InspectJob(ctx, id)
			if err != nil {
				fail(err)
			}
			if j.State == jobs.StateStarted && j.Progress == 50 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	fmt.Println("READY", strings.Join(ids, " "))
	select {}
}

// TestSlurmRestart: trackd killed (SIGKILL) while its Slurm jobs run; the
// jobs run on (one ends while no trackd runs), the next manager follows
// them again, and they finish SUCCESS with their outputs.
func TestSlurmRestart(t *testing.T) {
	needSlurm(t)
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "JOBS_TEST_DAEMON="+dir, "JOBS_TEST_DAEMON_SLURM=1", "JOBS_TEST_SOLVERS="+solverDir, "JOBS_TEST_SLURM_CONF="+slurmConf)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "READY") || strings.HasPrefix(sc.Text(), "ERROR") {
				lines <- sc.Text()
				return
			}
		}
		close(lines)
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(90 * time.Second):
		t.Fatal("the daemon never got its jobs running")
	}
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "READY" {
		t.Fatalf("daemon: %q", line)
	}
	ids := f[1:]
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	release := func(id string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "jobs", id, "work", "release"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// the first job ends while no trackd follows it
	st, err := sqlite.Open(context.Background(), dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := st.GetRun(context.Background(), ids[0])
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	slurmID := fmt.Sprint(r.Metadata["job"].(map[string]any)["executor_id"])
	release(ids[0])
	for deadline := time.Now().Add(time.Minute); slurmState(t, slurmID) != "COMPLETED"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Slurm job %s never COMPLETED: %s", slurmID, slurmState(t, slurmID))
		}
	}

	e := newEnv(t, dir, slurmOptions())
	// The store may still say PENDING: the killed daemon saw the job run
	// before it stored STARTED; the new one learns it from its first round.
	j := e.waitFor(t, ids[1], time.Minute, "started after restart", func(j *jobs.Job) bool {
		return j.State == jobs.StateStarted && j.ExecutorID != ""
	})
	if st := slurmState(t, j.ExecutorID); st != "RUNNING" {
		t.Fatalf("Slurm says %s", st)
	}
	release(ids[1])
	for _, id := range ids {
		done := e.waitFor(t, id, time.Minute, "final", final)
		if done.State != jobs.StateSuccess || done.Outputs["label"] != "n=0" {
			t.Fatalf("job %+v", done)
		}
		// the lines logged before the restart are not logged twice (those
		// read but not yet stored when trackd was killed are lost)
		if log := runLog(t, e, id); strings.Count(log, "[PROGRESS] 1/2") > 1 || !strings.Contains(log, "[PROGRESS] 2/2") {
			t.Fatalf("run log:\n%s", log)
		}
	}
}

// TestSlurmPendingReason: a job Slurm holds back shows Slurm's reason
// while it waits (an allowlisted sbatch option, --begin, holds it), and
// runs once Slurm lets it.
func TestSlurmPendingReason(t *testing.T) {
	needSlurm(t)
	t.Parallel()
	cfg, err := jobs.LoadConfig(filepath.Join(solverDir, "solvers.toml"))
	if err != nil {
		t.Fatal(err)
	}
	opts := slurmOptions()
	opts.Solvers = cfg.Solvers
	opts.Solvers[0].Slurm = &jobs.SlurmSettings{CPUs: 1, Options: map[string]string{"begin": "now+1hour"}}
	e := newEnv(t, "", opts)
	j := create(t, e, "1.0.0", map[string]any{"factor": 1})
	start(t, e, j.ID)
	w := e.waitFor(t, j.ID, time.Minute, "waiting with a reason", func(j *jobs.Job) bool { return j.WaitReason == "BeginTime" })
	if w.State != jobs.StatePending || !w.Queued || w.ExecutorID == "" {
		t.Fatalf("waiting: %+v", w)
	}
	cmd := exec.Command("scontrol", "update", "JobId="+w.ExecutorID, "StartTime=now")
	cmd.Env = append(os.Environ(), "SLURM_CONF="+slurmConf)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scontrol update: %v %s", err, out)
	}
	done := e.waitFor(t, j.ID, time.Minute, "final", final)
	if done.State != jobs.StateSuccess || done.WaitReason != "" || done.Started.IsZero() {
		t.Fatalf("job %+v", done)
	}
}

// TestSlurmTracked: a solver using track reports from its Slurm job into
// the job's run (SIGOCO_TRACK_ADDR, SIGOCO_TRACK_RUN in its environment).
func TestSlurmTracked(t *testing.T) {
	needSlurm(t)
	t.Parallel()
	opts := slurmOptions()
	opts.Addr = "tracker"
	e := newEnv(t, "", opts)
	var j jobs.Job
	if err := e.call(t, &j, "create_job", "tracked", "", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	start(t, e, j.ID)
	got := e.waitFor(t, j.ID, time.Minute, "final", final)
	if got.State != jobs.StateSuccess || got.Outputs["energy"] != 81.0 || got.ExecutorID == "" {
		t.Fatalf("job %+v", got)
	}
	s, err := e.st.Series(context.Background(), j.ID, "energy", store.SeriesQuery{})
	if err != nil || s.Len != 11 { // 10 steps from the solver, then its output
		t.Fatalf("series %+v %v", s, err)
	}
}

// TestSlurmRequeued: a job Slurm requeues while it runs (scontrol
// requeue) is followed through it: queued again with Slurm's reason and a
// restart counted, then running, then SUCCESS.
func TestSlurmRequeued(t *testing.T) {
	needSlurm(t)
	t.Parallel()
	e := newEnv(t, "", slurmOptions())
	j := create(t, e, "1.0.0", map[string]any{"mode": "gate", "factor": 1})
	start(t, e, j.ID)
	r := e.waitFor(t, j.ID, time.Minute, "running", func(j *jobs.Job) bool { return j.State == jobs.StateStarted && j.Progress == 50 })
	scontrol := func(args ...string) {
		t.Helper()
		cmd := exec.Command("scontrol", args...)
		cmd.Env = append(os.Environ(), "SLURM_CONF="+slurmConf)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("scontrol %v: %v %s", args, err, out)
		}
	}
	scontrol("requeue", r.ExecutorID)
	q := e.waitFor(t, j.ID, time.Minute, "queued again", func(j *jobs.Job) bool { return j.Queued })
	if q.State != jobs.StateStarted || q.Restarts != 1 || q.WaitReason == "" {
		t.Fatalf("requeued: %+v", q)
	}
	// Slurm holds a requeued job (BeginTime, about 2 min); let it go, but
	// only once the first run's cleanup on the node is over (started at
	// once, the second run can fail to launch: exit 1)
	waitRequeueHeld(t, r.ExecutorID)
	scontrol("update", "JobId="+r.ExecutorID, "StartTime=now")
	e.waitFor(t, j.ID, time.Minute, "running again", func(j *jobs.Job) bool { return j.State == jobs.StateStarted && !j.Queued })
	if err := os.WriteFile(filepath.Join(e.dataDir, "jobs", j.ID, "work", "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	done := e.waitFor(t, j.ID, time.Minute, "final", final)
	if done.State != jobs.StateSuccess || done.Restarts != 1 {
		o, _ := os.ReadFile(filepath.Join(e.dataDir, "jobs", j.ID, "stdout.log"))
		er, _ := os.ReadFile(filepath.Join(e.dataDir, "jobs", j.ID, "stderr.log"))
		t.Fatalf("job %+v\nstdout:\n%s\nstderr:\n%s", done, o, er)
	}
}

// TestSlurmCheckpoint: a checkpointing solver gets SIGUSR1 (here sent by
// the test, as Slurm does ahead of the time limit), saves its state, is
// ended by its time limit (TIMEOUT), requeued by trackd, and resumes from
// its checkpoint: one job, one run, SUCCESS with one restart.
func TestSlurmCheckpoint(t *testing.T) {
	needSlurm(t)
	if testing.Short() {
		t.Skip("-short: waits for Slurm's one-minute time limit")
	}
	t.Parallel()
	cfg, err := jobs.LoadConfig(filepath.Join(solverDir, "solvers.toml"))
	if err != nil {
		t.Fatal(err)
	}
	opts := slurmOptions()
	opts.Solvers = cfg.Solvers
	opts.Solvers[0].Checkpoint, opts.Solvers[0].MaxRestarts = true, 2
	e := newEnv(t, "", opts)
	j := create(t, e, "1.0.0", map[string]any{"mode": "checkpoint", "factor": 1})
	start(t, e, j.ID)
	r := e.waitFor(t, j.ID, time.Minute, "running", func(j *jobs.Job) bool { return j.State == jobs.StateStarted && j.Progress == 50 })
	slurmCmd := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), "SLURM_CONF="+slurmConf)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v %s", name, args, err, out)
		}
	}
	slurmCmd("scancel", "--signal=USR1", "--batch", r.ExecutorID)
	ckpt := filepath.Join(e.dataDir, "jobs", j.ID, "work", "ckpt")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(ckpt); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the solver never checkpointed")
		}
	}
	q := e.waitFor(t, j.ID, 4*time.Minute, "requeued after its time limit", func(j *jobs.Job) bool { return j.Queued || j.State.Final() })
	if q.State != jobs.StateStarted || q.Restarts != 1 {
		t.Fatalf("after the time limit: %+v", q)
	}
	waitRequeueHeld(t, r.ExecutorID) // as in TestSlurmRequeued: Slurm's hold, let go early
	slurmCmd("scontrol", "update", "JobId="+r.ExecutorID, "StartTime=now")
	done := e.waitFor(t, j.ID, time.Minute, "final", final)
	if done.State != jobs.StateSuccess || done.Restarts != 1 || done.ExecutorID != r.ExecutorID {
		t.Fatalf("job %+v", done)
	}
	if log := runLog(t, e, j.ID); !strings.Contains(log, "signal USR1") || !strings.Contains(log, "resumed from the checkpoint") {
		t.Fatalf("run log:\n%s", log)
	}
}
