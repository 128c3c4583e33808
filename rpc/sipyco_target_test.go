package rpc

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Controller is the attenuator controller the SiPyCo tests call (real
// SiPyCo clients against it, the Go client against it); the recorded
// targets' counterparts are in sipyco_replay_targets_test.go.
//
//	set_attenuation(db: float), get_attenuation(), echo(x),
//	add(a, b=1, *, scale=1), fail() (ValueError), fail_custom() (a
//	non-builtin class), async slow(t)
//
// Go has no default values: add's b is required, and scale is a field of
// a trailing options struct (a pointer, so that "not given" is nil).
type Controller struct {
	mu sync.Mutex
	db float64
}

// AddOptions are the keyword arguments of Add.
type AddOptions struct {
	Scale *int
}

// DeviceError is a Go error type with no Python counterpart.
type DeviceError struct{ msg string }

func (e *DeviceError) Error() string { return e.msg }

func (c *Controller) SetAttenuation(db float64) {
	c.mu.Lock()
	c.db = db
	c.mu.Unlock()
}

func (c *Controller) GetAttenuation() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.db
}

func (c *Controller) Echo(x any) any { return x }

func (c *Controller) Add(a, b int, opts AddOptions) int {
	scale := 1
	if opts.Scale != nil {
		scale = *opts.Scale
	}
	return (a + b) * scale
}

func (c *Controller) Fail() error { return fmt.Errorf("%w: attenuation out of range", ErrValue) }

func (c *Controller) FailCustom() error { return &DeviceError{"device not responding"} }

func (c *Controller) Slow(ctx context.Context, t float64) (float64, error) {
	select {
	case <-time.After(time.Duration(t * float64(time.Second))):
		return t, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func init() {
	RegisterDoc((*Controller)(nil), TargetDoc{
		Doc: "Attenuator controller used to record SiPyCo wire transcripts.",
		Methods: map[string]MethodDoc{
			"SetAttenuation": {Params: []string{"db"}, Doc: "Set the attenuation in dB."},
			"GetAttenuation": {Params: []string{}, Doc: "Return the attenuation in dB."},
			"Echo":           {Params: []string{"x"}},
			"Add":            {Params: []string{"a", "b", "opts"}, Doc: "Return (a+b)*scale."},
			"Fail":           {Params: []string{}},
			"FailCustom":     {Params: []string{}},
			"Slow":           {Params: []string{"t"}},
		},
	})
}

// startController serves lda and aux as the recorded server did.
func startController(t testing.TB, tr transport, opts ServerOptions) *testServer {
	t.Helper()
	if opts.Description == "" {
		opts.Description = "transcript server"
	}
	opts.BuiltinTerminate = true
	return startServer(t, tr, map[string]any{"lda": &Controller{}, "aux": &Controller{}}, opts)
}
