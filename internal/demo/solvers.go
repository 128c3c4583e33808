package demo

// The demo solvers that `trackd --demo` serves as jobs: their
// configuration (solvers.toml), a shell solver (countdown.sh) and a Go
// solver that reports through package track (Sweep, run as `trackd solver
// sweep`). See docs/jobs.md.

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/jobs"
)

// SolversConfig is solvers.toml; CountdownSH is countdown.sh. Write
// CountdownSH beside the configuration's directory before parsing it with
// jobs.ParseConfig(SolversConfig, "solvers.toml", dir).
var (
	//go:embed solvers.toml
	SolversConfig []byte
	//go:embed countdown.sh
	CountdownSH []byte
)

// InstallSolvers writes countdown.sh into dir and returns the parsed
// configuration whose {config_dir} is dir.
func InstallSolvers(dir string) (*jobs.Config, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(dir+"/countdown.sh", CountdownSH, 0o755); err != nil {
		return nil, err
	}
	return jobs.ParseConfig(SolversConfig, "solvers.toml", dir)
}

// sweepInputs are oscillator-sweep's input ports.
type sweepInputs struct {
	GammaMin float64 `json:"gamma_min"`
	GammaMax float64 `json:"gamma_max"`
	Points   int     `json:"points"`
}

// Sweep is the oscillator-sweep solver, run in its job's working
// directory: the steady amplitude of x” + 2γx' + ω²x = cos(ω_d t) for γ
// from gamma_min to gamma_max, logged as a stepped result of its run,
// written to curve.csv, and the largest reported as peak_amplitude.
func Sweep(ctx context.Context) error {
	data, err := os.ReadFile(jobs.InputsFile)
	if err != nil {
		return err
	}
	var in sweepInputs
	if err := json.Unmarshal(data, &in); err != nil {
		return fmt.Errorf("%s: %w", jobs.InputsFile, err)
	}
	if in.Points < 2 || !(in.GammaMax > in.GammaMin) {
		return fmt.Errorf("need points ≥ 2 and gamma_max > gamma_min, got %+v", in)
	}
	run, err := track.Start(ctx, track.Options{NoMetadata: true, SpoolDir: "spool"})
	if err != nil {
		return err
	}
	run.SetStatus(track.StatusRunning)
	const omega, drive = 2 * math.Pi, 1.8 * math.Pi
	var csv strings.Builder
	csv.WriteString("gamma,amplitude\n")
	peak := 0.0
	for i := range in.Points {
		g := in.GammaMin + (in.GammaMax-in.GammaMin)*float64(i)/float64(in.Points-1)
		amp := 1 / math.Sqrt(math.Pow(omega*omega-drive*drive, 2)+math.Pow(2*g*drive, 2))
		peak = max(peak, amp)
		fmt.Fprintf(&csv, "%g,%g\n", g, amp)
		run.LogResult("amplitude", amp, int64(i))
		run.SetStep(int64(i))
		run.SetProgress(100 * float64(i+1) / float64(in.Points))
		fmt.Printf("[PROGRESS] %d/%d\n", i+1, in.Points)
	}
	if err := os.WriteFile("curve.csv", []byte(csv.String()), 0o644); err != nil {
		return err
	}
	out, _ := json.Marshal(map[string]any{"peak_amplitude": peak})
	if err := os.WriteFile(jobs.OutputsFile, out, 0o644); err != nil {
		return err
	}
	return run.End(ctx, track.StatusFinished)
}
