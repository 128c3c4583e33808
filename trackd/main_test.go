package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/postgres/pgtest"
)

// childEnv makes the test binary a tracked run (see runChild) instead of
// running tests: the 50-process test starts it that way.
const childEnv = "TRACKD_TEST_CHILD"

var trackdBin string

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runChild(spec))
	}
	dir, err := os.MkdirTemp("", "trackd-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	trackdBin = filepath.Join(dir, "trackd")
	if out, err := exec.Command("go", "build", "-o", trackdBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building trackd: %v\n%s", err, out)
		os.Exit(1)
	}
	code := 0
	func() {
		defer os.RemoveAll(dir)
		goleak.VerifyTestMain(exitCatcher{m, &code}, goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
	}()
	os.Exit(code)
}

// exitCatcher lets TestMain clean up after goleak.VerifyTestMain, which
// calls os.Exit itself.
type exitCatcher struct {
	m    *testing.M
	code *int
}

func (e exitCatcher) Run() int {
	*e.code = e.m.Run()
	pgtest.Stop() // the PostgreSQL server of postgres_test.go, if started
	return *e.code
}

// runChild is one tracked run in its own process: spec is "addr,index,spool".
func runChild(spec string) int {
	if victim, ok := strings.CutPrefix(spec, attackSpec+","); ok {
		return runAttack(victim) // a job's solver: security_quota_test.go
	}
	parts := strings.Split(spec, ",")
	idx, _ := strconv.Atoi(parts[1])
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	run, err := track.Start(ctx, track.Options{Project: "many", Name: "child-" + parts[1], Addr: parts[0], SpoolDir: parts[2], NoMetadata: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	run.LogParam("index", idx)
	if len(parts) > 3 && parts[3] == "hang" { // logs, then waits to be killed
		run.Flush(ctx)
		fmt.Println("ready", run.ID())
		select {}
	}
	for i := range 2000 {
		run.LogResult("x", float64(idx*1_000_000+i), int64(i))
	}
	run.Logger().Info("child done", "index", idx)
	if err := run.End(ctx, track.StatusFinished); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

type daemon struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
}

// startTrackd starts the trackd binary and waits until it accepts
// connections.
func startTrackd(t *testing.T, port, data string, args ...string) *daemon {
	t.Helper()
	cmd := exec.Command(trackdBin, append([]string{"--port", port, "--data", data}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, stderr: &stderr}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second)
		if err == nil {
			c.Close()
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("trackd did not start: %v\n%s", err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (d *daemon) stop(t *testing.T) {
	d.cmd.Process.Signal(syscall.SIGTERM)
	if err := d.cmd.Wait(); err != nil {
		t.Errorf("trackd after SIGTERM: %v\n%s", err, d.stderr)
	}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestKillDuringRun: trackd is SIGKILLed while a run logs 100,000 results
// and restarted; after the client's replay each result is stored exactly
// once, in order.
func TestKillDuringRun(t *testing.T) {
	port, data := freePort(t), t.TempDir()
	addr := "127.0.0.1:" + port
	d := startTrackd(t, port, data)
	ctx := ctxT(t, 40*time.Second)
	run, err := track.Start(ctx, track.Options{Project: "kill", Addr: addr, SpoolDir: t.TempDir(), NoSource: true, BatchSize: 2000, FlushInterval: 2 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	const n = 100_000
	for i := range n {
		run.LogResult("x", float64(i), int64(i))
		switch i {
		case 20_000:
			if err := run.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		case 50_000:
			d.cmd.Process.Kill() // SIGKILL, with batches in flight
			d.cmd.Wait()
		case 70_000:
			d = startTrackd(t, port, data)
		}
		if i%1000 == 0 {
			time.Sleep(time.Millisecond) // let batches go out while logging
		}
	}
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatalf("%v; stats %+v", err, run.Stats())
	}
	rd, err := track.Open(ctx, addr, track.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	s, err := rd.Series(ctx, run.ID(), "x", store.SeriesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Value) != n {
		t.Fatalf("%d results stored, want %d", len(s.Value), n)
	}
	for i, v := range s.Value {
		if v != float64(i) {
			t.Fatalf("result %d is %g", i, v)
		}
	}
	t.Logf("stats %+v", run.Stats())
	rd.Close()
	d.stop(t)
}

// TestManyProcesses: 50 runs from 50 processes at once, no cross-talk.
func TestManyProcesses(t *testing.T) {
	port, data := freePort(t), t.TempDir()
	addr := "127.0.0.1:" + port
	d := startTrackd(t, port, data)
	const procs = 50
	cmds := make([]*exec.Cmd, procs)
	for i := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d,%s", childEnv, addr, i, t.TempDir()))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				cmd.Process.Kill()
				cmd.Wait()
			}
		})
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v\n%s", i, err, cmd.Stdout)
		}
	}
	ctx := ctxT(t, 60*time.Second)
	rd, err := track.Open(ctx, addr, track.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	page, err := rd.ListRuns(ctx, store.RunFilter{Project: "many", Limit: 100})
	if err != nil || len(page.Runs) != procs {
		t.Fatalf("%v: %d runs", err, len(page.Runs))
	}
	seen := map[int64]bool{}
	for _, r := range page.Runs {
		info, err := rd.GetRun(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		idx, _ := info.Params["index"].(int64)
		if seen[idx] || info.Name != fmt.Sprint("child-", idx) || info.Status != store.StatusFinished {
			t.Fatalf("run %s: index %d name %q status %s", r.ID, idx, info.Name, info.Status)
		}
		seen[idx] = true
		s, err := rd.Series(ctx, r.ID, "x", store.SeriesQuery{})
		if err != nil || len(s.Value) != 2000 {
			t.Fatalf("run %d: %v, %d points", idx, err, len(s.Value))
		}
		for i, v := range s.Value {
			if v != float64(idx*1_000_000+int64(i)) {
				t.Fatalf("run %d point %d = %g: cross-talk", idx, i, v)
			}
		}
	}
	rd.Close()
	d.stop(t)
}

// TestReplayAndExportCommands: a run logged with trackd down, then trackd
// started and `trackd replay` run; `trackd export` prints it.
func TestReplayAndExportCommands(t *testing.T) {
	port, data, spool := freePort(t), t.TempDir(), t.TempDir()
	addr := "127.0.0.1:" + port
	ctx := ctxT(t, 60*time.Second)
	run, err := track.Start(ctx, track.Options{Project: "offline", Addr: addr, SpoolDir: spool, NoSource: true})
	if err != nil {
		t.Fatal(err)
	}
	run.LogParam("omega", 1.5)
	for i := range 500 {
		run.LogResult("x", float64(i), int64(i))
	}
	ectx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	run.End(ectx, track.StatusFinished)
	cancel()
	d := startTrackd(t, port, data)
	out, err := exec.Command(trackdBin, "replay", "--addr", addr, spool).CombinedOutput()
	if err != nil || !strings.Contains(string(out), run.ID()+": ") {
		t.Fatalf("trackd replay: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	out, err = exec.Command(trackdBin, "export", "--addr", addr, run.ID()).Output()
	if err != nil || !strings.Contains(string(out), `"omega": 1.5`) || !strings.Contains(string(out), `"status": "finished"`) {
		t.Fatalf("trackd export: %v\n%.2000s", err, out)
	}
	d.stop(t)
	// Export straight from the data directory, trackd stopped.
	out, err = exec.Command(trackdBin, "--data", data, "export", run.ID()).Output()
	if err != nil || !strings.Contains(string(out), `"omega": 1.5`) {
		t.Fatalf("trackd export from --data: %v\n%.500s", err, out)
	}
	// The documented order: flags after "export", as with --addr.
	out, err = exec.Command(trackdBin, "export", "--data", data, run.ID()).Output()
	if err != nil || !strings.Contains(string(out), `"omega": 1.5`) {
		t.Fatalf("trackd export --data: %v\n%.500s", err, out)
	}
	// A mistyped data directory is refused, and not created.
	typo := filepath.Join(t.TempDir(), "sigoco-dta")
	for _, args := range [][]string{{"--data", typo, "export", run.ID()}, {"export", "--data", typo, run.ID()}} {
		out, err = exec.Command(trackdBin, args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "no store in "+typo) {
			t.Fatalf("trackd %v: %v\n%s", args, err, out)
		}
		if _, err := os.Stat(typo); !os.IsNotExist(err) {
			t.Fatalf("trackd %v created %s: %v", args, typo, err)
		}
	}
}

// TestDemo: `trackd --demo` runs the simulation, which shows up with its
// params, results and exposed methods; SIGTERM ends both gracefully.
func TestDemo(t *testing.T) {
	port, data := freePort(t), t.TempDir()
	addr := "127.0.0.1:" + port
	d := startTrackd(t, port, data, "--demo")
	ctx := ctxT(t, 60*time.Second)
	rd, err := track.Open(ctx, addr, track.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var id string
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
			if info.Exposed["sim"] != nil && len(info.Series) == 3 {
				id = info.ID
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("the demo run never appeared\n%s", d.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Every target trackd serves, and the demo's exposed object, lists its
	// methods with parameter names and docs (sigoco-gen), not arg0 float64.
	info, err := rd.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	checkDocumented(t, "exposed sim", info.Exposed["sim"])
	if m := info.Exposed["sim"].Methods; !slices.ContainsFunc(m, func(m rpc.MethodInfo) bool {
		return m.Name == "set_rate" && len(m.Params) == 1 && m.Params[0].Name == "rate"
	}) {
		t.Errorf("sim methods %+v", m)
	}
	for _, target := range []string{"tracker", "memo", "jobs"} {
		c, err := rpc.Dial(ctx, addr, target, rpc.ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ti, err := c.ListMethods(ctx)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		checkDocumented(t, target, ti)
	}
	if v, err := rd.CallExposed(ctx, id, "sim", "set_rate", 1000.0); err != nil || v != 1000.0 {
		t.Fatalf("set_rate: %v %v", v, err)
	}
	if _, err := rd.CallExposed(ctx, id, "sim", "stop"); err != nil {
		t.Fatal(err)
	}
	for {
		info, err := rd.GetRun(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if info.Status == store.StatusStopped {
			if !slices.ContainsFunc(info.Artifacts, func(a store.Artifact) bool { return a.Name == "trajectory.csv" && a.Present }) || info.Params["omega"] == nil {
				t.Fatalf("demo run %+v", info.Run)
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the demo did not stop: %s", info.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rd.Close()
	d.stop(t)
	if !strings.Contains(d.stderr.String(), "dashboard at http://127.0.0.1:"+port) {
		t.Errorf("trackd did not say where the dashboard is:\n%s", d.stderr)
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestKilledRunIsCrashed: a run whose process is SIGKILLed stops sending
// heartbeats and is marked crashed.
func TestKilledRunIsCrashed(t *testing.T) {
	port, data := freePort(t), t.TempDir()
	addr := "127.0.0.1:" + port
	d := startTrackd(t, port, data, "--heartbeat-timeout", "1s")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,7,%s,hang", childEnv, addr, t.TempDir()))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var ready, id string
	if _, err := fmt.Fscan(out, &ready, &id); err != nil || ready != "ready" {
		t.Fatalf("child: %q %v", ready, err)
	}
	ctx := ctxT(t, 30*time.Second)
	rd, err := track.Open(ctx, addr, track.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	time.Sleep(1500 * time.Millisecond) // heartbeats keep a live run open past the timeout
	if info, err := rd.GetRun(ctx, id); err != nil || info.Status == store.StatusCrashed {
		t.Fatalf("a live run: %v %v", err, info.Status)
	}
	cmd.Process.Kill()
	cmd.Wait()
	for {
		info, err := rd.GetRun(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if info.Status == store.StatusCrashed {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("status %s, not crashed", info.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rd.Close()
	d.stop(t)
}

// TestPortInUseHint: a taken port is refused with the flags that pick
// another, not only the operating system's "address already in use".
func TestPortInUseHint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	cmd := exec.CommandContext(ctxT(t, 60*time.Second), trackdBin, "--port", port, "--data", t.TempDir())
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("trackd on a taken port: %v\n%s", err, out)
	}
	for _, want := range []string{"address already in use", "--port N", "--port 0", "--data"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// checkDocumented fails for a method of ti without a doc or with a
// parameter named by position (no sigoco-gen names).
func checkDocumented(t *testing.T, what string, ti *rpc.TargetInfo) {
	t.Helper()
	if ti == nil || len(ti.Methods) == 0 {
		t.Errorf("%s: no methods", what)
		return
	}
	for _, m := range ti.Methods {
		if m.Doc == "" {
			t.Errorf("%s.%s: no doc", what, m.Name)
		}
		for _, p := range m.Params {
			if rest, ok := strings.CutPrefix(p.Name, "arg"); p.Name == "" || ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
				t.Errorf("%s.%s: parameter %q", what, m.Name, p.Name)
			}
		}
	}
}
