// Package demo is what `trackd --demo` runs, in one place for trackd and
// the examples that run it alone: a small tracked simulation (a damped,
// driven harmonic oscillator integrated step by step, which logs its
// params, stepped results, a note, logs and a CSV artifact to a tracking
// server, and exposes set_rate and stop so it can be steered from rpctool
// or the dashboard; examples/simulation/sigoco-oscillator runs it alone) and the
// demo solvers served as jobs (solvers.go).
package demo

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/sigoco/sigoco/track"
)

// SimConfig is the model and its pacing.
type SimConfig struct {
	Omega  float64             // natural angular frequency (rad/s); default 2π
	Gamma  float64             // damping rate (1/s); default 0.1
	Drive  float64             // drive amplitude; default 0.5
	DriveW float64             // drive angular frequency; default 0.9 Omega
	Dt     float64             // time step (s); default 1 ms
	Steps  int64               // steps; 0 runs until stopped
	Rate   float64             // steps per second of wall time; default 200
	Every  int64               // log results every this many steps; default 1
	Sleep  func(time.Duration) // default time.Sleep
	// OnStart, if set, is called with the run once it is started and its
	// Control exposed (trackd --demo prints how to steer it).
	OnStart func(run *track.Run)
}

func (c *SimConfig) defaults() {
	if c.Omega == 0 {
		c.Omega = 2 * math.Pi
	}
	if c.Gamma == 0 {
		c.Gamma = 0.1
	}
	if c.Drive == 0 {
		c.Drive = 0.5
	}
	if c.DriveW == 0 {
		c.DriveW = 0.9 * c.Omega
	}
	if c.Dt == 0 {
		c.Dt = 1e-3
	}
	if c.Rate == 0 {
		c.Rate = 200
	}
	if c.Every == 0 {
		c.Every = 1
	}
}

//go:generate go run github.com/sigoco/sigoco/cmd/sigoco-gen -type Control

// Control is the object the run exposes ("sim"): set_rate and stop, from
// the run's page or call_exposed.
type Control struct {
	mu      sync.Mutex // guards rate and stopped
	rate    float64
	stopped bool
}

// SetRate sets the simulation speed, rate, in steps per second (1 to
// 100000) and returns it.
func (c *Control) SetRate(rate float64) (float64, error) {
	if !(rate >= 1 && rate <= 100000) {
		return 0, fmt.Errorf("rate %g is outside 1–100000 steps/s", rate)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rate = rate
	return c.rate, nil
}

// Stop ends the simulation after the current step (status stopped).
func (c *Control) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
}

func (c *Control) state() (float64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rate, c.stopped
}

// Simulate runs the model as one tracked run and ends it with finished,
// stopped (Control.Stop, or ctx cancelled) or failed.
func Simulate(ctx context.Context, opts track.Options, cfg SimConfig) error {
	cfg.defaults()
	if opts.Project == "" {
		opts.Project = "demo"
	}
	if opts.Name == "" {
		opts.Name = "damped oscillator"
	}
	run, err := track.Start(ctx, opts)
	if err != nil {
		return err
	}
	log := run.Logger()
	ctl := &Control{rate: cfg.Rate}
	if err := run.Expose("sim", ctl); err != nil {
		run.End(context.Background(), track.StatusFailed, err.Error())
		return err
	}
	if cfg.OnStart != nil {
		cfg.OnStart(run)
	}
	run.LogParams(map[string]any{"omega": cfg.Omega, "gamma": cfg.Gamma, "drive": cfg.Drive, "drive_omega": cfg.DriveW, "dt": cfg.Dt, "steps": cfg.Steps})
	run.AddTag("demo")
	run.AddNote("Semi-implicit Euler integration of x'' + 2γx' + ω²x = F cos(ω_d t).")
	run.SetStatus(track.StatusLoaded)
	run.SetStatus(track.StatusInitialized)
	run.SetStatus(track.StatusStarted)
	log.Info("simulation started", "omega", cfg.Omega, "gamma", cfg.Gamma)
	x, v := 1.0, 0.0
	var csv bytes.Buffer
	csv.WriteString("step,t,x,v,energy\n")
	status := track.StatusFinished
	run.SetStatus(track.StatusRunning)
	sleep := cfg.Sleep
	if sleep == nil {
		sleep = time.Sleep
	}
	var step int64
	for ; cfg.Steps == 0 || step < cfg.Steps; step++ {
		rate, stopped := ctl.state()
		if stopped || ctx.Err() != nil {
			status = track.StatusStopped
			log.Warn("simulation stopped", "step", step)
			break
		}
		t := float64(step) * cfg.Dt
		a := -2*cfg.Gamma*v - cfg.Omega*cfg.Omega*x + cfg.Drive*math.Cos(cfg.DriveW*t)
		v += a * cfg.Dt
		x += v * cfg.Dt
		if step%cfg.Every == 0 {
			e := 0.5*v*v + 0.5*cfg.Omega*cfg.Omega*x*x
			run.LogResult("x", x, step)
			run.LogResult("v", v, step)
			run.LogResult("energy", e, step)
			run.SetStep(step)
			if cfg.Steps > 0 {
				run.SetProgress(100 * float64(step) / float64(cfg.Steps))
			}
			if csv.Len() < 1<<20 {
				fmt.Fprintf(&csv, "%d,%g,%g,%g,%g\n", step, t, x, v, e)
			}
		}
		if step%1000 == 0 && step > 0 {
			log.Info("progress", "step", step, "x", x)
		}
		sleep(time.Duration(float64(time.Second) / rate))
	}
	if status == track.StatusFinished {
		run.SetProgress(100)
	}
	if err := run.LogArtifactReader("trajectory.csv", &csv); err != nil {
		log.Error("artifact", "err", err)
	}
	log.Info("simulation ended", "steps", step, "status", string(status))
	ectx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return run.End(ectx, status)
}
