package jobs_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track/jobs"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/sqlite"
)

// forgedStore is a store that holds, besides its real runs, job records
// a client forged on runs whose ids climb out of the jobs directory, as
// a store written before ids were checked may: the manager must refuse
// them on its own, whatever the store holds.
type forgedStore struct {
	*sqlite.Store
	forged map[string]map[string]any // run id → its "job" metadata
}

func (s *forgedStore) GetRun(ctx context.Context, id string) (*store.Run, error) {
	if j, ok := s.forged[id]; ok {
		return &store.Run{ID: id, Project: "jobs", Status: store.StatusRegistered, Metadata: map[string]any{"job": j}}, nil
	}
	return s.Store.GetRun(ctx, id)
}

func (s *forgedStore) DeleteRun(ctx context.Context, id string) error {
	if _, ok := s.forged[id]; ok {
		delete(s.forged, id)
		return nil
	}
	return s.Store.DeleteRun(ctx, id)
}

const victimSecret = "not for the tracker's clients"

// traversal is a manager whose store holds forged jobs, and a directory
// beside its jobs directory (victim) that the forged id names.
type traversal struct {
	m      *jobs.Manager
	st     *forgedStore
	victim string
	id     string // "../../victim", relative to the jobs directory
}

func newTraversal(t *testing.T, state jobs.State) *traversal {
	t.Helper()
	ctx := context.Background()
	base := t.TempDir()
	victim := filepath.Join(base, "victim")
	if err := os.MkdirAll(victim, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"precious.txt", "stdout.log"} {
		if err := os.WriteFile(filepath.Join(victim, f), []byte(victimSecret), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sq, err := sqlite.Open(ctx, filepath.Join(base, "data"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	id := "../../victim" // from base/data/jobs
	st := &forgedStore{Store: sq, forged: map[string]map[string]any{id: {
		"id": id, "solver": "sleeper", "version": "1.0.0", "state": string(state), "progress": 0.0, "created": 1.0,
		"inputs": map[string]any{"mode": "ok", "steps": 1.0, "factor": 1.0, "verbose": false},
	}}}
	cfg, err := jobs.LoadConfig(filepath.Join(solverDir, "solvers.toml"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := jobs.New(ctx, jobs.StoreRecorder(st), jobs.Options{Solvers: cfg.Solvers, Dir: filepath.Join(base, "data", "jobs")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); sq.Close() })
	return &traversal{m: m, st: st, victim: victim, id: id}
}

// checkVictim fails the test if the directory outside the jobs directory
// changed.
func (tr *traversal) checkVictim(t *testing.T) {
	t.Helper()
	ents, err := os.ReadDir(tr.victim)
	if err != nil {
		t.Fatalf("the directory outside the jobs directory: %v", err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "precious.txt,stdout.log" {
		t.Errorf("the directory outside the jobs directory now holds %v", names)
	}
	if b, err := os.ReadFile(filepath.Join(tr.victim, "stdout.log")); err != nil || string(b) != victimSecret {
		t.Errorf("stdout.log outside the jobs directory: %q %v", b, err)
	}
}

func wantBadID(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), "bad job id") {
		t.Errorf("%s: %v, want a bad job id error", what, err)
	}
}

// TestForgedJobDelete: delete_job of a forged job named "../../victim" ran
// RemoveAll on the directory beside the jobs directory.
func TestForgedJobDelete(t *testing.T) {
	tr := newTraversal(t, jobs.StateFailed)
	err := tr.m.Target().DeleteJob(context.Background(), tr.id)
	wantBadID(t, "delete_job", err)
	tr.checkVictim(t)
}

// TestForgedJobStart: start_job of a forged PENDING job wrote
// stdout.log, stderr.log and work/ in the directory beside the jobs
// directory.
func TestForgedJobStart(t *testing.T) {
	tr := newTraversal(t, jobs.StatePending)
	ctx := context.Background()
	api := tr.m.Target()
	_, err := api.StartJob(ctx, tr.id)
	wantBadID(t, "start_job", err)
	if err == nil { // let the job end before looking
		deadline := time.Now().Add(10 * time.Second)
		for {
			j, err := api.InspectJob(ctx, tr.id)
			if err != nil || j.State.Final() || (j.State == jobs.StatePending && !j.Queued) || time.Now().After(deadline) {
				break // ended (the forged store keeps it PENDING)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	tr.checkVictim(t)
}

// TestForgedJobReads: inspect, stop, outputs and the log file (rpc and
// HTTP) of a forged job refuse its id; the log file served
// victim/stdout.log.
func TestForgedJobReads(t *testing.T) {
	tr := newTraversal(t, jobs.StateFailed)
	ctx := context.Background()
	api := tr.m.Target()
	_, err := api.InspectJob(ctx, tr.id)
	wantBadID(t, "inspect_job", err)
	_, err = api.StopJob(ctx, tr.id)
	wantBadID(t, "stop_job", err)
	_, err = api.GetJobOutputs(ctx, tr.id)
	wantBadID(t, "get_job_outputs", err)
	zip, err := api.GetJobLogfile(ctx, tr.id)
	wantBadID(t, "get_job_logfile", err)
	if len(zip) > 0 {
		t.Errorf("get_job_logfile returned %d bytes", len(zip))
	}

	rec := httptest.NewRecorder()
	tr.m.HTTPHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/jobs/..%2F..%2Fvictim/logfile.zip", nil))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "bad job id") {
		t.Errorf("GET /jobs/..%%2F..%%2Fvictim/logfile.zip: %d %.200q", rec.Code, rec.Body.String())
	}
	tr.checkVictim(t)
}

// TestOutputLinks: a solver leaving a symbolic link among its outputs
// (the output file, a directory on its path, outputs.json) fails with
// the reason; the link's target is neither stored nor reported.
func TestOutputLinks(t *testing.T) {
	e := newEnv(t, "", jobs.Options{})
	ctx := context.Background()
	secret := filepath.Join(t.TempDir(), "secret.json")
	content := `{"label": "` + victimSecret + `"}`
	if err := os.WriteFile(secret, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(content))
	for _, tc := range []struct{ mode, link string }{
		{"link", "single_number.txt"},
		{"linkdir", "d"},
		{"linkjson", "outputs.json"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			j := create(t, e, "1.0.0", map[string]any{"factor": 1, "mode": tc.mode, "note": secret})
			start(t, e, j.ID)
			got := e.wait(t, j.ID, "final", final)
			if got.State != jobs.StateFailed || !strings.Contains(got.Reason, tc.link+" is a symbolic link") {
				t.Errorf("job %s %s: %q, want FAILED because %s is a symbolic link", got.State, got.ID, got.Reason, tc.link)
			}
			if slices.ContainsFunc(mapValues(got.Outputs), func(v any) bool { return strings.Contains(toString(v), victimSecret) }) {
				t.Errorf("outputs %v", got.Outputs)
			}
			run, err := e.st.GetRun(ctx, j.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(run.Artifacts) != 0 || run.Latest["label"].Value != nil {
				t.Errorf("run artifacts %+v latest %+v", run.Artifacts, run.Latest)
			}
		})
	}
	if bs, err := e.st.BlobState(ctx, hex.EncodeToString(sum[:])); err != nil || bs.Present || bs.Received != 0 {
		t.Errorf("the link's target was stored: %+v %v", bs, err)
	}
}

func mapValues(m map[string]any) []any {
	var vs []any
	for _, v := range m {
		vs = append(vs, v)
	}
	return vs
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}
