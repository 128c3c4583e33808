package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/syncstruct"
)

//go:generate go run github.com/sigoco/sigoco/cmd/sigoco-gen -type Attenuator

// Attenuator is a simulated programmable attenuator (0–63 dB), served as
// the rpc target "lda".
type Attenuator struct {
	stepDelay time.Duration // how long one Sweep step takes

	mu     sync.Mutex
	db     float64
	state  *syncstruct.Notifier // published state; nil: none
	logger *slog.Logger         // nil: discard
}

// maxLastSettings bounds the list of last settings in the published state.
const maxLastSettings = 10

// newState returns the notifier the controller publishes as "state".
func newState() (*syncstruct.Notifier, error) {
	return syncstruct.NewNotifier(map[string]any{"attenuation": 0.0, "last_settings": []any{}}, syncstruct.NotifierOptions{})
}

// NewAttenuator returns an attenuator at 0 dB whose sweeps take stepDelay
// per step.
func NewAttenuator(stepDelay time.Duration) *Attenuator {
	return &Attenuator{stepDelay: stepDelay}
}

// MaxAttenuation is the top of the range, in dB.
const MaxAttenuation = 63

// SetAttenuation sets the attenuation in dB; values outside 0–63 dB are an error.
func (d *Attenuator) SetAttenuation(db float64) error {
	if err := checkDB("attenuation", db); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.db = db
	if d.logger != nil {
		d.logger.Info("attenuation set", "db", db)
	}
	if d.state == nil {
		return nil
	}
	// Under d.mu, so the published order is the order of the settings.
	if err := d.state.Set("attenuation", db); err != nil {
		return err
	}
	last := d.state.At("last_settings")
	if err := last.Append(map[string]any{"db": db, "at": time.Now().UTC().Format(time.RFC3339Nano)}); err != nil {
		return err
	}
	var n int
	d.state.Read(func(tree any) { n = len(tree.(map[string]any)["last_settings"].([]any)) })
	for ; n > maxLastSettings; n-- {
		if _, err := last.Pop(0); err != nil {
			return err
		}
	}
	return nil
}

// checkDB refuses NaN, infinities and values outside 0–63 dB. (NaN fails
// every comparison, so a range check alone lets it through.)
func checkDB(what string, db float64) error {
	if math.IsNaN(db) || math.IsInf(db, 0) {
		return fmt.Errorf("%w: %s must be a number of dB, not %g", rpc.ErrValue, what, db)
	}
	if db < 0 || db > MaxAttenuation {
		return fmt.Errorf("%w: %s %g dB out of range 0-%d dB", rpc.ErrValue, what, db, MaxAttenuation)
	}
	return nil
}

// MaxSweepSteps bounds the number of steps of one Sweep, so that a tiny
// step cannot hold the device for ever.
const MaxSweepSteps = 10000

// GetAttenuation returns the attenuation in dB.
func (d *Attenuator) GetAttenuation() float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.db
}

// Ping reports that the device answers.
func (d *Attenuator) Ping() bool { return true }

// Echo returns its argument unchanged.
func (d *Attenuator) Echo(x any) any { return x }

// Add returns a + b.
func (d *Attenuator) Add(a, b int) int { return a + b }

// Sweep steps the attenuation from from to to (inclusive) by step dB,
// taking a while per step, and returns the values it set; at most
// MaxSweepSteps steps. It stops when the
// call is cancelled, leaving the attenuation where it got to.
func (d *Attenuator) Sweep(ctx context.Context, from, to, step float64) ([]float64, error) {
	if math.IsNaN(step) || math.IsInf(step, 0) || step <= 0 {
		return nil, fmt.Errorf("%w: step must be a positive number of dB, not %g", rpc.ErrValue, step)
	}
	if err := checkDB("sweep start", from); err != nil {
		return nil, err
	}
	if err := checkDB("sweep end", to); err != nil {
		return nil, err
	}
	if n := math.Floor(math.Abs(to-from)/step+1e-9) + 1; n > MaxSweepSteps {
		return nil, fmt.Errorf("%w: sweep from %g to %g by %g dB takes %.0f steps, more than %d: use a larger step",
			rpc.ErrValue, from, to, step, n, MaxSweepSteps)
	}
	dir := 1.0
	if to < from {
		dir = -1
	}
	var done []float64
	t := time.NewTimer(0)
	defer t.Stop()
	for i := 0; ; i++ {
		db := from + dir*float64(i)*step
		if dir*(db-to) > 1e-9 {
			return done, nil
		}
		select {
		case <-ctx.Done():
			return done, ctx.Err()
		case <-t.C:
		}
		d.SetAttenuation(db)
		done = append(done, db)
		t.Reset(d.stepDelay)
	}
}
