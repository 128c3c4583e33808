package main

import (
	"context"
	"os"
	"os/signal"
)

// signaller is the part of os/signal rpctool uses; tests substitute it.
type signaller interface {
	Notify(c chan<- os.Signal)
	Stop(c chan<- os.Signal)
}

type osSignals struct{}

func (osSignals) Notify(c chan<- os.Signal) { signal.Notify(c, os.Interrupt) }
func (osSignals) Stop(c chan<- os.Signal)   { signal.Stop(c) }

// interruptible returns a context that Ctrl-C (SIGINT) cancels with cause
// errInterrupted, until stop is called. Outside such a window SIGINT keeps
// its default effect (the process ends), which is what a user waiting on
// a blocked read expects.
func (e *env) interruptible(ctx context.Context) (context.Context, func()) {
	s := e.signals
	if s == nil {
		s = osSignals{}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	ch := make(chan os.Signal, 1)
	s.Notify(ch)
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-ch:
			cancel(errInterrupted)
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		s.Stop(ch)
		cancel(nil)
		<-done
	}
}
