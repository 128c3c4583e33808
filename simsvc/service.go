package simsvc

import (
	"context"
)

// Service is a simulation driven through its lifecycle: SimService's
// PySimService, on the side of the service. Serve calls its methods one at
// a time (never two at once), each with the context of the call (cancelled
// when the caller cancels or disconnects) and in the order the state
// machine allows:
//
//	Run → Init (until true) → Start (until true) → Step … → Finish | Stop
//
// Init and Start return false for "not yet, call again" (SimService's bool
// results): the status stays where it was and the caller calls again. An
// error from any method (or a panic, reported as "panic: …") sets the
// status to SIM_FAILED and its text to error_message, and is returned to
// the caller.
//
// The ctx of every call carries the service's Host (HostFrom), through
// which a service registers service functions and properties at any stage
// of its life.
type Service interface {
	// Run loads the simulation: all preparation is done when it returns.
	Run(ctx context.Context) error
	// Init initializes it; false: call Init again.
	Init(ctx context.Context) (bool, error)
	// Start gets it ready to step; false: call Start again.
	Start(ctx context.Context) (bool, error)
	// Step executes one step.
	Step(ctx context.Context) error
	// Finish ends it normally.
	Finish(ctx context.Context) error
	// Stop ends it early; terminate false means the simulation may
	// complete (SimService's stop(terminate_sim=False), which ends in
	// SIM_FINISHED).
	Stop(ctx context.Context, terminate bool) error
}

// Steerer is a Service that takes steering: a signal for ad-hoc changes to
// the service and its data, allowed between run and finish.
type Steerer interface {
	Steer(ctx context.Context) error
}

// PropertyLister is a Service with properties from the start (Serve reads
// them once); Host.AddProperty adds more later.
type PropertyLister interface {
	Properties() []Property
}

type hostKey struct{}

// HostFrom returns the Host of the service whose lifecycle call ctx
// belongs to, or nil outside one. A service may keep it.
func HostFrom(ctx context.Context) *Host {
	h, _ := ctx.Value(hostKey{}).(*Host)
	return h
}

// Register registers a service function with the Host carried by ctx (see
// Host.Register); outside a lifecycle call it fails.
func Register(ctx context.Context, name string, fn any) error {
	h := HostFrom(ctx)
	if h == nil {
		return errNoHost
	}
	return h.Register(name, fn)
}
