package jobs_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track/jobs"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/sqlite"
)

// daemon runs in a child test process: a manager over the store in dir
// with one running job that ignores SIGTERM; it prints "READY job pid"
// and waits to be killed.
func daemon(dir string) {
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
	m, err := jobs.New(ctx, jobs.StoreRecorder(st), jobs.Options{Solvers: cfg.Solvers, Dir: filepath.Join(dir, "jobs")})
	if err != nil {
		fail(err)
	}
	api := m.Target()
	j, err := api.CreateJob(ctx, "sleeper", "1.0.0", map[string]any{"factor": 1, "mode": "stubborn"})
	if err != nil {
		fail(err)
	}
	starting := os.Getenv("JOBS_TEST_DAEMON_STARTING") != ""
	if starting {
		// Ready (and killed) between the process's start and STARTED's
		// save.
		jobs.SetLocalStartedHook(func(pid int) {
			fmt.Println("READY", j.ID, pid)
			select {}
		})
	}
	if _, err := api.StartJob(ctx, j.ID); err != nil {
		fail(err)
	}
	if starting {
		select {}
	}
	// Ready once the job's process runs and the store says so: the
	// manager records STARTED just after starting the process, which may
	// print before that (killed then, the restart says the process was
	// starting: TestDaemonKilledWhileStarting).
	pidRe := regexp.MustCompile(`pid (\d+)`)
	for {
		b, _ := os.ReadFile(filepath.Join(dir, "jobs", j.ID, "stdout.log"))
		if m := pidRe.FindSubmatch(b); m != nil && strings.Contains(string(b), "[PROGRESS]") && storedStarted(ctx, st, j.ID) {
			fmt.Println("READY", j.ID, string(m[1]))
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {}
}

// storedStarted reports whether the store holds job id as STARTED (not
// what inspect shows, which is ahead of the store).
func storedStarted(ctx context.Context, st *sqlite.Store, id string) bool {
	r, err := st.GetRun(ctx, id)
	return err == nil && slices.Contains(r.Tags, store.TagStatePrefix+string(jobs.StateStarted))
}

// TestDaemonKilled: trackd SIGKILLed with a job running; the job's
// process dies with it (Linux), and the next manager marks the job
// ABORTED with the reason.
func TestDaemonKilled(t *testing.T) {
	testDaemonKilled(t, "", "trackd stopped while the job was running")
}

// TestDaemonKilledWhileStarting: trackd SIGKILLed after the job's process
// started but before STARTED was stored; the restart says so (it once
// said the job waited for a slot).
func TestDaemonKilledWhileStarting(t *testing.T) {
	testDaemonKilled(t, "JOBS_TEST_DAEMON_STARTING=1", "trackd stopped while the job's process was starting")
}

func testDaemonKilled(t *testing.T, mode, wantReason string) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "JOBS_TEST_DAEMON="+dir, "JOBS_TEST_SOLVERS="+solverDir)
	if mode != "" {
		cmd.Env = append(cmd.Env, mode)
	}
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
	case <-time.After(60 * time.Second):
		t.Fatal("the daemon never got its job running")
	}
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "READY" {
		t.Fatalf("daemon: %q", line)
	}
	id := f[1]
	pid, _ := strconv.Atoi(f[2])
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	if _, err := os.Stat("/proc/self"); err == nil { // Linux: Pdeathsig
		deadline := time.Now().Add(30 * time.Second)
		for alive(pid) {
			if time.Now().After(deadline) {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Fatalf("the job's process %d outlived its daemon", pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	} else {
		syscall.Kill(pid, syscall.SIGKILL)
	}

	e := newEnv(t, dir, jobs.Options{})
	got, err := e.api.InspectJob(context.Background(), id)
	if err != nil || got.State != jobs.StateAborted || !strings.Contains(got.Reason, wantReason) {
		t.Fatalf("after restart: %+v %v", got, err)
	}
}

// alive reports whether pid is a live process (a zombie is not).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
