package jobs_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/jobs"
	"github.com/sigoco/sigoco/track/store"
)

// upload puts content into the store as a client's upload would.
func upload(t *testing.T, e *env, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "file_with_number.txt")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	sha, n, err := jobs.StoreFile(context.Background(), e.st, p)
	if err != nil || n != int64(len(content)) {
		t.Fatal(n, err)
	}
	return sha
}

func create(t *testing.T, e *env, version string, inputs map[string]any) *jobs.Job {
	t.Helper()
	var j jobs.Job
	if err := e.call(t, &j, "create_job", "sleeper", version, inputs); err != nil {
		t.Fatal(err)
	}
	if j.State != jobs.StatePending || j.ID == "" {
		t.Fatalf("created %+v", j)
	}
	return &j
}

func start(t *testing.T, e *env, id string) {
	t.Helper()
	var j jobs.Job
	if err := e.call(t, &j, "start_job", id); err != nil {
		t.Fatal(err)
	}
}

// TestWorkflow is the seed's whole workflow over rpc: upload, solver
// ports, create, start, watch, outputs, log file, download.
func TestWorkflow(t *testing.T) {
	e := newEnv(t, "", jobs.Options{})
	ctx := context.Background()
	sha := upload(t, e, "7")

	var solvers []jobs.Solver
	if err := e.call(t, &solvers, "list_solvers"); err != nil {
		t.Fatal(err)
	}
	if len(solvers) != 3 || solvers[0].Inputs[2].Unit != "step" || *solvers[0].Inputs[2].Max != 65 {
		t.Fatalf("solvers %+v", solvers)
	}

	j := create(t, e, "1.0.0", map[string]any{"input_1": map[string]any{"id": sha}, "factor": 1.5, "steps": 4, "verbose": "false", "note": "first"})
	start(t, e, j.ID)
	done := e.wait(t, j.ID, "final", final)
	if done.State != jobs.StateSuccess || done.Progress != 100 || *done.ExitCode != 0 || done.Started.IsZero() || done.Stopped < done.Started {
		t.Fatalf("job %+v", done)
	}

	var outs jobs.JobOutputs
	if err := e.call(t, &outs, "get_job_outputs", j.ID); err != nil {
		t.Fatal(err)
	}
	if outs.JobID != j.ID || outs.Results["output_2"] != 10.5 || outs.Results["label"] != "n=7" {
		t.Fatalf("outputs %+v", outs)
	}
	// read back from the store, the values keep their types
	if got, _ := e.api.InspectJob(ctx, j.ID); got.Inputs["steps"] != int64(4) || got.Inputs["factor"] != 1.5 || got.Outputs["output_2"] != 10.5 {
		t.Fatalf("job read back: inputs %#v outputs %#v", got.Inputs, got.Outputs)
	}
	if got, _ := e.api.InspectJob(ctx, j.ID); got.Inputs["input_1"].(map[string]any)["size"] != int64(1) {
		t.Fatalf("outputs %+v", outs)
	}
	f, _ := outs.Results["output_1"].(map[string]any)
	want := sha256.Sum256([]byte("8"))
	if f["sha256"] != hex.EncodeToString(want[:]) || f["content_type"] != "text/plain" || f["filename"] != "single_number.txt" {
		t.Fatalf("output file %+v", f)
	}
	// download: the content is the store's blob
	r, n, err := e.st.OpenBlob(ctx, f["sha256"].(string))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != "8" || n != 1 {
		t.Fatalf("downloaded %q", b)
	}

	// the job is a run: inputs as params, outputs as artifact and result
	run, err := e.st.GetRun(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != store.StatusFinished || run.Params["steps"] != int64(4) || run.Params["factor"] != 1.5 || run.Params["verbose"] != false || run.Project != "jobs" {
		t.Fatalf("run %+v", run)
	}
	if len(run.Artifacts) != 1 || run.Artifacts[0].Sha256 != f["sha256"] || run.Latest["output_2"].Value != 10.5 {
		t.Fatalf("run artifacts %+v latest %+v", run.Artifacts, run.Latest)
	}

	var zipped []byte
	if err := e.call(t, &zipped, "get_job_logfile", j.ID); err != nil {
		t.Fatal(err)
	}
	files := unzip(t, zipped)
	if !strings.Contains(files["stdout.log"], "[PROGRESS] 4/4...") || !strings.Contains(files["stdout.log"], "env hello") ||
		!strings.Contains(files["stdout.log"], "args --job "+j.ID+" --n 4") || !strings.Contains(files["stdout.log"], "job "+j.ID+" track 127.0.0.1:3250") {
		t.Fatalf("stdout.log: %q", files["stdout.log"])
	}
	if files["stderr.log"] != "done\n" || !strings.Contains(files["run.log"], "INFO [stdout] [PROGRESS] 2/4...") || !strings.Contains(files["run.log"], "WARN [stderr] done") {
		t.Fatalf("stderr.log %q run.log %q", files["stderr.log"], files["run.log"])
	}
	if !strings.Contains(files["job.json"], `"state": "SUCCESS"`) {
		t.Fatalf("job.json %s", files["job.json"])
	}
	// inputs.json and the file input in the work directory
	in, err := os.ReadFile(filepath.Join(e.dataDir, "jobs", j.ID, "work", "inputs.json"))
	if err != nil || !strings.Contains(string(in), `"input_1": "single_number.in"`) || !strings.Contains(string(in), `"mode": "ok"`) {
		t.Fatalf("inputs.json %s %v", in, err)
	}
}

func unzip(t *testing.T, b []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		c, _ := io.ReadAll(r)
		r.Close()
		out[f.Name] = string(c)
	}
	return out
}

// TestInvalidInputs: each fault is an error naming the port, and no job
// is made.
func TestInvalidInputs(t *testing.T) {
	e := newEnv(t, "", jobs.Options{})
	never := strings.Repeat("ab", 32)
	tests := []struct {
		name   string
		inputs map[string]any
		want   string
	}{
		{"missing required", map[string]any{}, `input "factor": required number input missing`},
		{"unknown key", map[string]any{"factor": 1, "speed": 2}, `input "speed": unknown input of sleeper@1.0.0`},
		{"wrong type", map[string]any{"factor": "fast"}, `input "factor": must be a finite number, not the string "fast"`},
		{"integer with a fraction", map[string]any{"factor": 1, "steps": 2.5}, `input "steps": must be an integer, not the number 2.5`},
		{"boolean as number", map[string]any{"factor": 1, "verbose": 1}, `input "verbose": must be a boolean`},
		{"below minimum", map[string]any{"factor": -11}, `input "factor": -11 meter is below the minimum -10 meter`},
		{"above maximum", map[string]any{"factor": 1, "steps": 66}, `input "steps": 66 step is above the maximum 65 step`},
		{"not in enum", map[string]any{"factor": 1, "mode": "fly"}, `input "mode": must be one of`},
		{"file never uploaded", map[string]any{"factor": 1, "input_1": never}, `input "input_1": file ` + never + ` was never uploaded`},
		{"not a sha256", map[string]any{"factor": 1, "input_1": "file.txt"}, `input "input_1": "file.txt" is not a sha256`},
		{"string as number", map[string]any{"factor": 1, "note": 3}, `input "note": must be a string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var j jobs.Job
			err := e.call(t, &j, "create_job", "sleeper", "1.0.0", tt.inputs)
			var re *rpc.RemoteError
			if !errors.As(err, &re) || !strings.Contains(re.Message, tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			_, err = e.api.CreateJob(context.Background(), "sleeper", "1.0.0", tt.inputs)
			var ie *jobs.InputError
			if !errors.As(err, &ie) || !errors.Is(err, jobs.ErrInvalidInput) {
				t.Fatalf("in process: %v", err)
			}
		})
	}
	for _, tt := range []struct{ solver, version, want string }{
		{"nope", "", `unknown solver "nope" (solvers: sleeper, tracked)`},
		{"sleeper", "9", `sleeper has no version "9" (versions: 1.0.0, 2.0.0)`},
	} {
		var j jobs.Job
		if err := e.call(t, &j, "create_job", tt.solver, tt.version, map[string]any{}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Fatalf("err = %v, want %q", err, tt.want)
		}
	}
	var page jobs.JobPage
	if err := e.call(t, &page, "list_jobs", jobs.JobFilter{}); err != nil || len(page.Jobs) != 0 {
		t.Fatalf("jobs made: %+v %v", page.Jobs, err)
	}
}

func TestProgressFromStdout(t *testing.T) {
	e := newEnv(t, "", jobs.Options{})
	j := create(t, e, "1.0.0", map[string]any{"factor": 1, "mode": "gate"})
	start(t, e, j.ID)
	got := e.wait(t, j.ID, "at 50%", func(j *jobs.Job) bool { return j.Progress == 50 })
	if got.State != jobs.StateStarted {
		t.Fatalf("job %+v", got)
	}
	if err := os.WriteFile(filepath.Join(e.dataDir, "jobs", j.ID, "work", "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := e.wait(t, j.ID, "final", final); got.State != jobs.StateSuccess || got.Progress != 100 {
		t.Fatalf("job %+v", got)
	}
}

func TestFailure(t *testing.T) {
	e := newEnv(t, "", jobs.Options{})
	j := create(t, e, "1.0.0", map[string]any{"factor": 1, "mode": "fail"})
	start(t, e, j.ID)
	got := e.wait(t, j.ID, "final", final)
	if got.State != jobs.StateFailed || got.ExitCode == nil || *got.ExitCode != 3 || got.Reason != "exit status 3" {
		t.Fatalf("job %+v", got)
	}
	if len(got.StderrTail) != 20 || got.StderrTail[19] != "error line 29" || got.StderrTail[0] != "error line 10" {
		t.Fatalf("stderr tail %q", got.StderrTail)
	}
	run, _ := e.st.GetRun(context.Background(), j.ID)
	if run.Status != store.StatusFailed || run.Message != "exit status 3" {
		t.Fatalf("run %s %q", run.Status, run.Message)
	}
	var outs jobs.JobOutputs
	if err := e.call(t, &outs, "get_job_outputs", j.ID); err != nil || len(outs.Results) != 0 || outs.State != jobs.StateFailed {
		t.Fatalf("outputs %+v %v", outs, err)
	}
}

func TestCrash(t *testing.T) {
	e := newEnv(t, "", jobs.Options{})
	j := create(t, e, "1.0.0", map[string]any{"factor": 1, "mode": "crash"})
	start(t, e, j.ID)
	got := e.wait(t, j.ID, "final", final)
	if got.State != jobs.StateFailed || got.Signal != "killed" || got.ExitCode != nil || got.Reason != "killed by signal killed" {
		t.Fatalf("job %+v", got)
	}
}

func TestBadOutputs(t *testing.T) {
	e := newEnv(t, "", jobs.Options{})
	j := create(t, e, "1.0.0", map[string]any{"factor": 1, "mode": "badout"})
	start(t, e, j.ID)
	got := e.wait(t, j.ID, "final", final)
	if got.State != jobs.StateFailed || !strings.Contains(got.Reason, "outputs.json names outputs sleeper@1.0.0 has not declared: nope") {
		t.Fatalf("job %+v", got)
	}
}

func TestStop(t *testing.T) {
	e := newEnv(t, "", jobs.Options{})
	for _, mode := range []string{"hang", "stubborn"} {
		t.Run(mode, func(t *testing.T) {
			j := create(t, e, "1.0.0", map[string]any{"factor": 1, "mode": mode})
			start(t, e, j.ID)
			e.wait(t, j.ID, "running", func(j *jobs.Job) bool { return j.Progress == 25 })
			var got jobs.Job
			if err := e.call(t, &got, "stop_job", j.ID); err != nil {
				t.Fatal(err)
			}
			if got.State != jobs.StateAborted || got.Reason != "stopped by request" {
				t.Fatalf("job %+v", got)
			}
			if mode == "hang" && (got.ExitCode == nil || *got.ExitCode != 143) {
				t.Fatalf("SIGTERM not handled: %+v", got)
			}
			if mode == "stubborn" && got.Signal != "killed" {
				t.Fatalf("not killed after the grace: %+v", got)
			}
			run, _ := e.st.GetRun(context.Background(), j.ID)
			if run.Status != store.StatusStopped {
				t.Fatalf("run %s", run.Status)
			}
		})
	}
	// a job stopped before it started
	j := create(t, e, "1.0.0", map[string]any{"factor": 1})
	got, err := e.api.StopJob(context.Background(), j.ID)
	if err != nil || got.State != jobs.StateAborted {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := e.api.StartJob(context.Background(), j.ID); !errors.Is(err, jobs.ErrState) {
		t.Fatalf("start of an aborted job: %v", err)
	}
}

func TestTimeLimit(t *testing.T) {
	e := newEnv(t, "", jobs.Options{})
	j := create(t, e, "2.0.0", map[string]any{})
	start(t, e, j.ID)
	got := e.wait(t, j.ID, "final", final)
	if got.State != jobs.StateFailed || got.Reason != "time limit exceeded (300ms)" {
		t.Fatalf("job %+v", got)
	}
}

func TestQueue(t *testing.T) {
	e := newEnv(t, "", jobs.Options{MaxJobs: 1})
	a := create(t, e, "1.0.0", map[string]any{"factor": 1, "mode": "gate"})
	b := create(t, e, "1.0.0", map[string]any{"factor": 2})
	start(t, e, a.ID)
	e.wait(t, a.ID, "running", func(j *jobs.Job) bool { return j.State == jobs.StateStarted })
	start(t, e, b.ID)
	got, _ := e.api.InspectJob(context.Background(), b.ID)
	if got.State != jobs.StatePending || !got.Queued {
		t.Fatalf("second job %+v, want queued", got)
	}
	var page jobs.JobPage
	if err := e.call(t, &page, "list_jobs", jobs.JobFilter{State: jobs.StateStarted}); err != nil || len(page.Jobs) != 1 || page.Jobs[0].ID != a.ID {
		t.Fatalf("started jobs %+v %v", page.Jobs, err)
	}
	os.WriteFile(filepath.Join(e.dataDir, "jobs", a.ID, "work", "release"), nil, 0o644)
	for _, id := range []string{a.ID, b.ID} {
		if got := e.wait(t, id, "final", final); got.State != jobs.StateSuccess {
			t.Fatalf("job %+v", got)
		}
	}
	if err := e.call(t, &page, "list_jobs", jobs.JobFilter{Solver: "sleeper", Version: "1.0.0", State: jobs.StateSuccess}); err != nil || len(page.Jobs) != 2 {
		t.Fatalf("jobs %+v %v", page.Jobs, err)
	}
	if err := e.call(t, &page, "list_jobs", jobs.JobFilter{Solver: "sleeper", Version: "2.0.0"}); err != nil || len(page.Jobs) != 0 {
		t.Fatalf("jobs %+v %v", page.Jobs, err)
	}
}

func TestDelete(t *testing.T) {
	e := newEnv(t, "", jobs.Options{})
	j := create(t, e, "1.0.0", map[string]any{"factor": 1, "mode": "hang"})
	start(t, e, j.ID)
	e.wait(t, j.ID, "running", func(j *jobs.Job) bool { return j.Progress == 25 })
	if err := e.call(t, nil, "delete_job", j.ID); err == nil || !strings.Contains(err.Error(), "stop it first") {
		t.Fatalf("delete of a running job: %v", err)
	}
	e.api.StopJob(context.Background(), j.ID)
	if err := e.call(t, nil, "delete_job", j.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.InspectJob(context.Background(), j.ID); !errors.Is(err, jobs.ErrUnknownJob) {
		t.Fatalf("inspect after delete: %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.dataDir, "jobs", j.ID)); !os.IsNotExist(err) {
		t.Fatalf("job directory left: %v", err)
	}
}

// TestRestart: a job running when its manager died is ABORTED by the next
// manager over the same store, with the reason.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	e1 := newEnv(t, dir, jobs.Options{})
	j := create(t, e1, "1.0.0", map[string]any{"factor": 1, "mode": "hang"})
	keep := create(t, e1, "1.0.0", map[string]any{"factor": 1})
	start(t, e1, j.ID)
	e1.wait(t, j.ID, "running", func(j *jobs.Job) bool { return j.Progress == 25 })
	// inspect shows the job running before the store says so
	for deadline := time.Now().Add(30 * time.Second); !storedStarted(context.Background(), e1.st, j.ID); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the job was never stored as STARTED")
		}
	}
	// a second manager on the same data, as trackd restarted after dying
	// (the first one still holds its process; its Close comes in cleanup)
	m2, err := jobs.New(context.Background(), jobs.StoreRecorder(e1.st), jobs.Options{Dir: filepath.Join(dir, "jobs")})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	got, err := m2.Target().InspectJob(context.Background(), j.ID)
	if err != nil || got.State != jobs.StateAborted || !strings.Contains(got.Reason, "trackd stopped while the job was running") {
		t.Fatalf("after restart: %+v %v", got, err)
	}
	if got, _ := m2.Target().InspectJob(context.Background(), keep.ID); got.State != jobs.StatePending {
		t.Fatalf("a pending job after restart: %+v", got)
	}
}

// TestTrackedSolver: a Go solver using package track finds the server and
// its run in the environment; what it logs lands in its job's run beside
// the inputs (params) and outputs.
func TestTrackedSolver(t *testing.T) {
	e := newEnv(t, "", jobs.Options{Addr: "tracker"})
	var j jobs.Job
	if err := e.call(t, &j, "create_job", "tracked", "", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	start(t, e, j.ID)
	got := e.wait(t, j.ID, "final", final)
	if got.State != jobs.StateSuccess || got.Outputs["energy"] != 81.0 {
		t.Fatalf("job %+v", got)
	}
	run, err := e.st.GetRun(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Params["omega"] != 2.5 || run.Params["mode"] != "track" || run.Status != store.StatusFinished || run.Progress != 100 {
		t.Fatalf("run params %v status %s progress %v", run.Params, run.Status, run.Progress)
	}
	s, err := e.st.Series(context.Background(), j.ID, "energy", store.SeriesQuery{})
	if err != nil || s.Len != 11 { // 10 steps from the solver, then its output
		t.Fatalf("series %+v %v", s, err)
	}
	// The solver's own log records reach the store through the server's
	// log sink, stored every 50 ms after they arrive (best-effort,
	// asynchronous): wait for them rather than read once.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var zipped []byte
		if err := e.call(t, &zipped, "get_job_logfile", j.ID); err != nil {
			t.Fatal(err)
		}
		files := unzip(t, zipped)
		if strings.Contains(files["run.log"], "INFO tracked solver done steps=10") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run.log %q", files["run.log"])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestManyJobs: 20 jobs started at once with 3 slots all succeed, and the
// HTTP log file of one is a zip.
func TestManyJobs(t *testing.T) {
	e := newEnv(t, "", jobs.Options{MaxJobs: 3})
	var ids []string
	for i := range 20 {
		j := create(t, e, "1.0.0", map[string]any{"factor": float64(i) / 4})
		start(t, e, j.ID)
		ids = append(ids, j.ID)
	}
	for _, id := range ids {
		if got := e.wait(t, id, "final", final); got.State != jobs.StateSuccess {
			t.Fatalf("job %+v", got)
		}
	}
	var page jobs.JobPage
	if err := e.call(t, &page, "list_jobs", jobs.JobFilter{State: jobs.StateSuccess, Limit: 15}); err != nil || len(page.Jobs) != 15 || page.Next == "" {
		t.Fatalf("page of %d, next %q, %v", len(page.Jobs), page.Next, err)
	}
	if err := e.call(t, &page, "list_jobs", jobs.JobFilter{State: jobs.StateSuccess, After: page.Next}); err != nil || len(page.Jobs) != 5 {
		t.Fatalf("second page of %d, %v", len(page.Jobs), err)
	}
	rec := httptest.NewRecorder()
	e.m.HTTPHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/jobs/"+ids[0]+"/logfile.zip", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/zip" || !strings.Contains(unzip(t, rec.Body.Bytes())["stdout.log"], "[PROGRESS] 3/3") {
		t.Fatalf("HTTP log file: %d %q", rec.Code, rec.Header())
	}
	rec = httptest.NewRecorder()
	e.m.HTTPHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/jobs/nope/logfile.zip", nil))
	if rec.Code != 404 {
		t.Fatalf("unknown job: %d", rec.Code)
	}
}

// beatRecorder reports the runs told alive on beats.
type beatRecorder struct {
	jobs.Recorder
	beats chan string
}

func (r beatRecorder) Alive(_ context.Context, run string) {
	select {
	case r.beats <- run:
	default:
	}
}

// TestHeartbeats: the runs of created, queued and running jobs are kept
// alive; a final job's is not.
func TestHeartbeats(t *testing.T) {
	beats := make(chan string, 100)
	e := newEnvWith(t, "", jobs.Options{MaxJobs: 1, HeartbeatInterval: 5 * time.Millisecond}, func(r jobs.Recorder) jobs.Recorder {
		return beatRecorder{r, beats}
	})
	seen := func(id string) {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case got := <-beats:
				if got == id {
					return
				}
			case <-timeout:
				t.Fatalf("no heartbeat for %s", id)
			}
		}
	}
	pending := create(t, e, "1.0.0", map[string]any{"factor": 1})
	seen(pending.ID)
	running := create(t, e, "1.0.0", map[string]any{"factor": 1, "mode": "hang"})
	start(t, e, running.ID)
	e.wait(t, running.ID, "running", func(j *jobs.Job) bool { return j.Progress == 25 })
	seen(running.ID)
	e.api.StopJob(context.Background(), running.ID)
	e.api.StopJob(context.Background(), pending.ID)
}

// TestLines: every stdout line of a job is a log record of its run, in
// order.
func TestLines(t *testing.T) {
	e := newEnv(t, "", jobs.Options{})
	j := create(t, e, "1.0.0", map[string]any{"factor": 1, "steps": 65})
	start(t, e, j.ID)
	if got := e.wait(t, j.ID, "final", final); got.State != jobs.StateSuccess {
		t.Fatalf("job %+v", got)
	}
	page, err := e.st.Logs(context.Background(), store.LogQuery{Run: j.ID})
	if err != nil {
		t.Fatal(err)
	}
	var progress []string
	for _, l := range page.Logs {
		if l.Logger == "stdout" && strings.HasPrefix(l.Message, "[PROGRESS]") {
			progress = append(progress, l.Message)
		}
	}
	if len(progress) != 65 || progress[0] != "[PROGRESS] 1/65..." || progress[64] != "[PROGRESS] 65/65..." {
		t.Fatalf("%d progress lines: %q", len(progress), progress)
	}
}
