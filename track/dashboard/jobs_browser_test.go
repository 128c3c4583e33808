package dashboard_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/sigoco/sigoco/track/dashboard"
	"github.com/sigoco/sigoco/track/jobs"
	"github.com/sigoco/sigoco/track/server"
)

// testSolvers: the example's sleeper 2.1.6 and a solver with the port
// types it lacks (enum, string, number), run by the same program.
const testSolvers = `
[[solver]]
name = "sleeper"
version = "2.1.6"
description = "Sleeps a given time, then writes a random number (1-9) to a file"
command = ["{config_dir}/sleeper"]
time_limit = "2m"
grace = "2s"

  [[solver.input]]
  key = "input_1"
  label = "File with int number"
  order = 1
  type = "file"
  content_type = "text/plain"
  filename = "input_number.txt"
  required = false

  [[solver.input]]
  key = "input_2"
  label = "Sleep interval"
  order = 2
  type = "integer"
  unit = "second"
  min = 0
  max = 65
  default = 2

  [[solver.input]]
  key = "input_3"
  label = "Fail after sleep"
  order = 3
  type = "boolean"
  default = false

  [[solver.output]]
  key = "output_1"
  type = "file"
  content_type = "text/plain"
  filename = "single_number.txt"
  required = true

  [[solver.output]]
  key = "output_2"
  type = "number"
  unit = "second"

[[solver]]
name = "typed"
version = "1.0"
description = "every port type"
command = ["{config_dir}/sleeper"]

  [[solver.input]]
  key = "mode"
  type = "enum"
  values = ["fast", "slow"]
  default = "fast"

  [[solver.input]]
  key = "title"
  type = "string"
  default = "x"

  [[solver.input]]
  key = "rate"
  type = "number"
  unit = "Hz"
  min = 0.5
  default = 1.5
`

// sleeperDir builds examples/sigoco-solver into a directory with the test's
// solvers file and returns that file.
func sleeperDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "sleeper"), "github.com/sigoco/sigoco/examples/sigoco-solver").CombinedOutput()
	if err != nil {
		t.Fatalf("building examples/sigoco-solver: %v\n%s", err, out)
	}
	f := filepath.Join(dir, "solvers.toml")
	if err := os.WriteFile(f, []byte(testSolvers), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// startJobsStack is startStack with jobs enabled as trackd builds them:
// a manager recording through the server, its target and HTTP handler
// added before the server serves, the dashboard calling it in-process.
func startJobsStack(t *testing.T, solvers string) *stack {
	t.Helper()
	cfg, err := jobs.LoadConfig(solvers)
	if err != nil {
		t.Fatal(err)
	}
	jobsDir := t.TempDir()
	return startStackWith(t, "", "", "", server.Options{}, func(s *server.Server) dashboard.Caller {
		mgr, err := jobs.New(context.Background(), s, jobs.Options{Solvers: cfg.Solvers, Dir: jobsDir, MaxJobs: 2})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { mgr.Close() }) // before the stack stops (cleanups run last first)
		if err := s.AddTarget(jobs.TargetName, mgr.Target()); err != nil {
			t.Fatal(err)
		}
		s.HandleHTTP("GET /jobs/", mgr.HTTPHandler())
		l, err := s.Local(jobs.TargetName)
		if err != nil {
			t.Fatal(err)
		}
		return l
	})
}

// TestBrowserJobs: the Solvers page, a job form with an invalid value and
// a valid one (with a file upload), the job reaching SUCCESS live, its
// outputs and its log zip.
func TestBrowserJobs(t *testing.T) {
	ctx := browser(t)
	s := startJobsStack(t, sleeperDir(t))
	p := &page{t: t, ctx: ctx, base: "http://" + s.dashAddr, dir: screenshotDir(t)}

	p.open("#/solvers")
	p.wait("solvers listed", `document.querySelector('.solver[data-solver="sleeper"] a[data-version="2.1.6"]') && document.querySelector('.solver[data-solver="typed"]')`, 20*time.Second)
	p.wait("ports shown", `document.querySelector('table.ports-inputs tr[data-port="input_2"]') && document.querySelector('table.ports-inputs tr[data-port="input_2"]').textContent.includes("0 – 65 second") && document.querySelector('table.ports-outputs tr[data-port="output_2"]')`, 10*time.Second)
	p.wait("form fields by type", `document.querySelector('form.job-form input[type=file][name="in-input_1"]') && document.querySelector('form.job-form input[type=number][name="in-input_2"]').value === "2" && document.querySelector('form.job-form input[type=checkbox][name="in-input_3"]')`, 10*time.Second)

	// An invalid value: the server's error shows next to its field, no job.
	form := `form.job-form[data-solver="sleeper"]`
	p.run("submit 70 s", 10*time.Second,
		chromedp.SetValue(form+` input[name="in-input_2"]`, "70", chromedp.ByQuery),
		chromedp.Click(form+` button[type=submit]`, chromedp.ByQuery))
	p.wait("the error shows", `document.querySelector('`+form+` .port-error[data-port="input_2"]').textContent.includes("above the maximum 65")`, 10*time.Second)
	p.shot("job-form-error")
	if page, err := s.jobs.Call(ctxT(t, 10*time.Second), "list_jobs", map[string]any{}); err != nil {
		t.Fatal(err)
	} else if p, _ := page.(*jobs.JobPage); p == nil || len(p.Jobs) != 0 {
		t.Fatalf("an invalid job was made: %v", page)
	}

	// A valid job, with a file input uploaded from the page.
	in := filepath.Join(t.TempDir(), "number.txt")
	if err := os.WriteFile(in, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.run("submit a valid job", 20*time.Second,
		chromedp.SetValue(form+` input[name="in-input_2"]`, "1", chromedp.ByQuery),
		chromedp.SetUploadFiles(form+` input[name="in-input_1"]`, []string{in}, chromedp.ByQuery),
		chromedp.Click(form+` button[type=submit]`, chromedp.ByQuery))
	p.wait("the job is created and started", `document.querySelector('`+form+` .job-form-result.ok a.new-job')`, 20*time.Second)
	var id string
	p.eval(`document.querySelector('`+form+` a.new-job').dataset.job`, &id)
	p.wait("the error is gone", `document.querySelector('`+form+` .port-error[data-port="input_2"]').textContent === ""`, 5*time.Second)
	row := `document.querySelector('tr.job-row[data-job=` + q(id) + `]')`
	p.wait("the job is listed", row, 20*time.Second)
	p.wait("the job reaches SUCCESS", row+`.dataset.state === "SUCCESS" && `+row+`.querySelector(".exit").textContent === "0"`, 60*time.Second)
	p.wait("its outputs show", row+`.querySelector('[data-output="output_2"]') && `+row+`.querySelector('[data-output="output_1"] a[download]')`, 20*time.Second)
	p.wait("the log zip link", row+`.querySelector('a.logzip').getAttribute("href") === "/jobs/`+id+`/logfile.zip"`, 5*time.Second)
	// The form's line about its job follows it, not STARTED forever.
	p.wait("the form says SUCCESS", `document.querySelector('`+form+` a.new-job').dataset.state === "SUCCESS" && document.querySelector('`+form+` .job-form-result').textContent.includes("SUCCESS")`, 20*time.Second)
	var zipOK bool
	p.run("log zip", 10*time.Second, chromedp.Evaluate(`fetch(`+row+`.querySelector('a.logzip').href).then(r => r.ok && r.headers.get("Content-Type") === "application/zip")`, &zipOK,
		func(ep *runtime.EvaluateParams) *runtime.EvaluateParams { return ep.WithAwaitPromise(true) }))
	if !zipOK {
		t.Error("GET /jobs/ID/logfile.zip from the page is not a zip")
	}
	p.shot("solvers")

	// A long job, stopped from the list: ABORTED.
	p.run("submit a long job", 20*time.Second,
		chromedp.SetValue(form+` input[name="in-input_2"]`, "60", chromedp.ByQuery),
		chromedp.Click(form+` button[type=submit]`, chromedp.ByQuery))
	p.wait("the long job is created", `document.querySelector('`+form+` a.new-job') && document.querySelector('`+form+` a.new-job').dataset.job !== `+q(id), 20*time.Second)
	var long string
	p.eval(`document.querySelector('`+form+` a.new-job').dataset.job`, &long)
	lrow := `document.querySelector('tr.job-row[data-job=` + q(long) + `]')`
	p.wait("it runs", lrow+`?.dataset.state === "STARTED" && `+lrow+`.querySelector("button.stop")`, 30*time.Second)
	// Progress comes from the runs replica (the list is not read again for it).
	p.wait("its progress moves live", lrow+`.querySelector(".progress").dataset.value > 0`, 30*time.Second)
	p.shot("job-running")
	p.run("stop it", 10*time.Second, chromedp.Click(`tr.job-row[data-job=`+q(long)+`] button.stop`, chromedp.ByQuery))
	p.wait("it is ABORTED", lrow+`.dataset.state === "ABORTED" && !`+lrow+`.querySelector("button.stop")`, 30*time.Second)

	// The Jobs view lists it too, and its run page opens.
	p.open("#/jobs")
	p.wait("jobs view", row+` && `+row+`.dataset.state === "SUCCESS"`, 20*time.Second)
	p.shot("jobs")
	p.open("#/run/" + id)
	p.wait("the job's run page", `document.querySelector(".run-head .badge")?.textContent === "finished" && document.querySelector(".run-head .job-links a.logzip")`, 20*time.Second)
	// System tags cannot be removed; the job's record is rows with dates.
	p.wait("system tags without ×", `document.querySelector('.tag[data-tag="job"]') && document.querySelector('.tag[data-tag^="state="]') && !document.querySelector('.tag[data-tag="job"] button.x, .tag[data-tag^="state="] button.x, .tag[data-tag^="solver="] button.x')`, 10*time.Second)
	p.wait("job metadata rows, times as dates", `/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(document.querySelector('table.metadata tr[data-key="job.created"] td')?.textContent || "") && document.querySelector('table.metadata tr[data-key="job.state"]')`, 10*time.Second)
	p.shot("job-run")

	// A run id that does not exist: said so, not "connecting…" forever.
	p.open("#/run/0190a1b2-0000-7000-8000-000000000000")
	p.wait("run not found", `document.querySelector(".not-found")?.textContent.includes("Run not found")`, 20*time.Second)

	// The other port types render as their inputs.
	p.open("#/solvers?solver=typed&version=1.0")
	tf := `form.job-form[data-solver="typed"]`
	p.wait("enum, string, number", `document.querySelector('`+tf+` select[name="in-mode"]')?.value === "fast" && document.querySelector('`+tf+` input[type=text][name="in-title"]')?.value === "x" && document.querySelector('`+tf+` input[type=number][name="in-rate"]')?.min === "0.5"`, 20*time.Second)
	p.shot("solver-typed")
}

// TestBrowserJobsDisabled: on a server without jobs the Jobs and Solvers
// pages say how to enable them (--solvers, --demo), not an rpc error.
func TestBrowserJobsDisabled(t *testing.T) {
	ctx := browser(t)
	s := startStack(t, "", "", "", server.Options{})
	p := &page{t: t, ctx: ctx, base: "http://" + s.dashAddr, dir: screenshotDir(t)}
	for _, view := range []string{"#/solvers", "#/jobs"} {
		p.open(view)
		p.wait(view+" says how to enable jobs", `document.querySelector(".jobs-disabled")?.textContent.includes("--solvers FILE")`, 20*time.Second)
	}
}
