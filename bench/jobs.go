package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sigoco/sigoco/track/jobs"
	"github.com/sigoco/sigoco/track/store/sqlite"
)

// The jobs suite times trackd's jobs (track/jobs) over a real SQLite
// store, in process, with a solver that runs /bin/true:
//
//	jobs.local.submit_ms   create_job + start_job until the job runs
//	                       (local process), median of 10
//	jobs.slurm.submit_ms   the same on an idle Slurm cluster (sbatch, the
//	                       batched squeue at its default 250 ms–5 s),
//	                       median of 5
//	jobs.local.sweep100_s  create_jobs of 100 elements until all SUCCESS
//	                       (--max-jobs = CPUs)
//	jobs.slurm.array100_s  the same as one Slurm job array
//
// Slurm figures need a cluster the suite can start: root and the slurm
// packages (track/jobs/testdata/slurm/up.sh, three nodes of 4 CPUs on
// loopback); without them they are skipped, the reason on stderr.
func init() { register("jobs", benchJobs) }

const benchSolvers = `
[[solver]]
name = "true"
version = "1"
command = ["%s"]
time_limit = "10m"
`

func benchJobs(cfg config) ([]result, error) {
	dir, err := os.MkdirTemp("", "bench-jobs-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755) // slurmd reads the jobs' directories
	truePath, err := exec.LookPath("true")
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "solvers.toml")
	if err := os.WriteFile(cfgPath, fmt.Appendf(nil, benchSolvers, truePath), 0o644); err != nil {
		return nil, err
	}
	solvers, err := jobs.LoadConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	nSubmit, nSweep := 10, 100
	if cfg.quick {
		nSubmit = 3
	}
	var out []result
	local, err := jobsFigures(dir, "local", jobs.Options{Solvers: solvers.Solvers}, nSubmit, nSweep)
	if err != nil {
		return nil, err
	}
	out = append(out, local...)
	conf, stop, err := benchSlurmCluster(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: jobs.slurm.* skipped:", err)
		return out, nil
	}
	defer stop()
	slurm, err := jobsFigures(dir, "slurm", jobs.Options{Solvers: solvers.Solvers, Executor: jobs.ExecutorSlurm,
		Slurm: jobs.SlurmOptions{Env: []string{"SLURM_CONF=" + conf}}}, max(nSubmit/2, 3), nSweep)
	if err != nil {
		return out, err
	}
	return append(out, slurm...), nil
}

// jobsFigures measures one executor: submit latency (median of n) and a
// sweep of size sweep.
func jobsFigures(dir, name string, opts jobs.Options, n, sweep int) ([]result, error) {
	ctx := context.Background()
	data := filepath.Join(dir, name)
	st, err := sqlite.Open(ctx, data, sqlite.Options{})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	opts.Dir = filepath.Join(data, "jobs")
	m, err := jobs.New(ctx, jobs.StoreRecorder(st), opts)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	api := m.Target()
	var per []float64
	for range n {
		t0 := time.Now()
		j, err := api.CreateJob(ctx, "true", "1", nil)
		if err != nil {
			return nil, err
		}
		if _, err := api.StartJob(ctx, j.ID); err != nil {
			return nil, err
		}
		if _, err := waitJob(ctx, api, j.ID, func(j *jobs.Job) bool { return (j.State == jobs.StateStarted && !j.Queued) || j.State.Final() }); err != nil {
			return nil, err
		}
		per = append(per, float64(time.Since(t0).Microseconds())/1000)
		if j, err := waitJob(ctx, api, j.ID, func(j *jobs.Job) bool { return j.State.Final() }); err != nil || j.State != jobs.StateSuccess {
			return nil, fmt.Errorf("%s job: %+v %v", name, j, err)
		}
	}
	sort.Float64s(per)
	inputs := make([]map[string]any, sweep)
	for i := range inputs {
		inputs[i] = map[string]any{}
	}
	t0 := time.Now()
	sw, err := api.CreateJobs(ctx, "true", "1", inputs, jobs.SweepOptions{})
	if err != nil {
		return nil, err
	}
	if sw, err = waitJob(ctx, api, sw.ID, func(j *jobs.Job) bool { return j.State.Final() }); err != nil {
		return nil, err
	}
	took := time.Since(t0).Seconds()
	if sw.State != jobs.StateSuccess {
		return nil, fmt.Errorf("%s sweep ended %s: %s", name, sw.State, sw.Reason)
	}
	sweepName := "sweep100_s"
	if name == "slurm" {
		sweepName = "array100_s"
	}
	return []result{
		{"jobs." + name + ".submit_ms", per[len(per)/2], "ms"},
		{"jobs." + name + "." + sweepName, took, "s"},
	}, nil
}

// waitJob polls inspect_job (every millisecond) until cond, for at most
// 10 minutes.
func waitJob(ctx context.Context, api *jobs.API, id string, cond func(*jobs.Job) bool) (*jobs.Job, error) {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		j, err := api.InspectJob(ctx, id)
		if err != nil {
			return nil, err
		}
		if cond(j) {
			return j, nil
		}
		if time.Now().After(deadline) {
			return j, errors.New("jobs: not done in 10 minutes")
		}
		time.Sleep(time.Millisecond)
	}
}

// benchSlurmCluster starts the tests' loopback cluster (three nodes of 4
// CPUs) and returns its slurm.conf and how to stop it.
func benchSlurmCluster(dir string) (conf string, stop func(), err error) {
	if os.Geteuid() != 0 {
		return "", nil, errors.New("the loopback Slurm cluster needs root")
	}
	for _, c := range []string{"slurmctld", "slurmd", "munged", "sbatch"} {
		if _, err := exec.LookPath(c); err != nil {
			return "", nil, fmt.Errorf("%s not installed (apt-get install slurmctld slurmd slurm-client munge)", c)
		}
	}
	up, _ := filepath.Abs("../track/jobs/testdata/slurm/up.sh")
	down, _ := filepath.Abs("../track/jobs/testdata/slurm/down.sh")
	cdir := filepath.Join(dir, "cluster")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, up, cdir, "3")
	cmd.Env = append(os.Environ(), "SLURM_UP_CPUS=4")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	stop = func() { exec.Command(down, cdir).Run() }
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("up.sh: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "export SLURM_CONF="); ok {
			conf = strings.TrimSpace(v)
		}
	}
	if conf == "" {
		stop()
		return "", nil, fmt.Errorf("up.sh printed no SLURM_CONF")
	}
	return conf, stop, nil
}
