package jobs_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/jobs"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store/sqlite"
)

// solverDir holds the test's solvers.toml and bin/solver (built once).
var solverDir string

func TestMain(m *testing.M) {
	if dir := os.Getenv("JOBS_TEST_DAEMON"); dir != "" {
		if os.Getenv("JOBS_TEST_DAEMON_SLURM") != "" {
			daemonSlurm(dir) // trackd with Slurm jobs, for TestSlurmRestart
		}
		daemon(dir) // a stand-in for trackd, for TestDaemonKilled
		return
	}
	dir, err := os.MkdirTemp("", "jobs-solver-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	solverDir = dir
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "bin", "solver"), "./testdata/solver")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the test solver:", err)
		os.Exit(1)
	}
	cfg, err := os.ReadFile("testdata/solvers.toml")
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "solvers.toml"), cfg, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
		goleak.Cleanup(func(code int) { stopSlurm(); os.RemoveAll(dir); os.Exit(code) }))
}

// env is a manager over a real SQLite store, served over loopback rpc.
type env struct {
	st      *sqlite.Store
	m       *jobs.Manager
	dataDir string
	c       *rpc.Client
	api     *jobs.API
}

func newEnv(t *testing.T, dataDir string, opts jobs.Options) *env {
	t.Helper()
	return newEnvWith(t, dataDir, opts, nil)
}

// newEnvWith is newEnv with the manager's Recorder wrapped by wrap (nil:
// as it is): the tracking server with opts.Addr "tracker", else the store.
func newEnvWith(t *testing.T, dataDir string, opts jobs.Options, wrap func(jobs.Recorder) jobs.Recorder) *env {
	t.Helper()
	ctx := context.Background()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	st, err := sqlite.Open(ctx, dataDir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := jobs.LoadConfig(filepath.Join(solverDir, "solvers.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if opts.Solvers == nil {
		opts.Solvers = cfg.Solvers
	}
	stopTracker := func() {}
	rec := jobs.StoreRecorder(st)
	if opts.Addr == "tracker" { // also a tracking server over the store, for solvers using track
		tsrv, err := server.New(ctx, st, server.Options{})
		if err != nil {
			t.Fatal(err)
		}
		tln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		tdone := make(chan struct{})
		go func() { defer close(tdone); tsrv.Serve(context.Background(), tln) }()
		opts.Addr = tln.Addr().String()
		stopTracker = func() { tsrv.Close(); tln.Close(); <-tdone }
		rec = tsrv // the live state follows the jobs' runs
	}
	if wrap != nil {
		rec = wrap(rec)
	}
	if opts.Dir == "" {
		opts.Dir = filepath.Join(dataDir, "jobs")
	}
	m, err := jobs.New(ctx, rec, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := rpc.NewServer(map[string]any{jobs.TargetName: m.Target()}, rpc.ServerOptions{AllowParallel: true})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(sctx, ln) }()
	c, err := rpc.Dial(ctx, ln.Addr().String(), jobs.TargetName, rpc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, m: m, dataDir: dataDir, c: c, api: m.Target()}
	t.Cleanup(func() {
		c.Close()
		stop()
		srv.Close()
		<-done
		m.Close()
		stopTracker()
		st.Close()
	})
	return e
}

// call calls a jobs method over rpc into result.
func (e *env) call(t *testing.T, result any, method string, args ...any) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return e.c.CallInto(ctx, result, method, args...)
}

// wait polls inspect_job until cond holds; it fails the test after 30 s.
func (e *env) wait(t *testing.T, id string, what string, cond func(*jobs.Job) bool) *jobs.Job {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		j, err := e.api.InspectJob(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if cond(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s never %s; last: %+v", id, what, j)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func final(j *jobs.Job) bool { return j.State.Final() }
