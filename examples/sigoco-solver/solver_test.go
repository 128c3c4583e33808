package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track/jobs"
	"github.com/sigoco/sigoco/track/store/sqlite"
)

// TestSolversFile runs the example's solvers file with the program built:
// the seed's workflow with a file input, through a job manager.
func TestSolversFile(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "sleeper"), ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cfgText, err := os.ReadFile("solvers.toml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "solvers.toml"), cfgText, 0o644)
	cfg, err := jobs.LoadConfig(filepath.Join(dir, "solvers.toml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "data"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := jobs.New(ctx, jobs.StoreRecorder(st), jobs.Options{Solvers: cfg.Solvers, Dir: filepath.Join(dir, "jobs")})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	api := m.Target()
	os.WriteFile(filepath.Join(dir, "file_with_number.txt"), []byte("1"), 0o644)
	sha, _, err := jobs.StoreFile(ctx, st, filepath.Join(dir, "file_with_number.txt"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := api.CreateJob(ctx, "sleeper", "2.1.6", map[string]any{"input_1": sha, "input_2": 0, "input_3": "false", "input_4": 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.StartJob(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !j.State.Final() {
		if time.Now().After(deadline) {
			t.Fatalf("job not done: %+v", j)
		}
		time.Sleep(20 * time.Millisecond)
		if j, err = api.InspectJob(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
	}
	if j.State != jobs.StateSuccess || j.Progress != 100 {
		t.Fatalf("job %+v", j)
	}
	outs, err := api.GetJobOutputs(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := outs.Results["output_1"].(map[string]any); !ok || f["filename"] != "single_number.txt" || outs.Results["output_2"] == nil {
		t.Fatalf("outputs %+v", outs.Results)
	}
}
