package main

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/simsvc"
	"github.com/sigoco/sigoco/track"
)

// heat is a 2-D heat-diffusion model on an n×n grid with its edges held
// at 0: the explicit finite-difference (FTCS) update
//
//	u' = u + α·(u[i-1][j] + u[i+1][j] + u[i][j-1] + u[i][j+1] − 4·u[i][j])
//
// with α = diffusivity·dt/dx², stable for α ≤ 0.25. It starts with a hot
// square in the middle. As a simsvc.Service: run allocates the grid, init
// sets the initial condition and registers the service functions
// mean_temperature and temperature_at, start resets the clock, each step
// advances one dt; steer applies a diffusivity set since the last steer
// (SimService's steering: set the data, then signal).
type heat struct {
	mu      sync.Mutex // guards the fields (the server already serialises the calls; the lock keeps the race detector's view simple)
	n       int
	u, next []float64
	alpha   float64 // in use
	pending float64 // set through the property, applied by steer
	t       float64 // steps × dt, dt = 1
}

func newHeat(n int) *heat { return &heat{n: n, alpha: 0.2, pending: 0.2} }

func (h *heat) Run(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.u, h.next = make([]float64, h.n*h.n), make([]float64, h.n*h.n)
	// Tracked (--track): the run of this service is in ctx; nil otherwise,
	// and a nil run's methods do nothing.
	track.FromContext(ctx).LogParams(map[string]any{"size": h.n, "diffusivity": h.alpha})
	return nil
}

func (h *heat) Init(ctx context.Context) (bool, error) {
	h.mu.Lock()
	n := h.n
	for i := n * 3 / 8; i < n*5/8; i++ {
		for j := n * 3 / 8; j < n*5/8; j++ {
			h.u[i*n+j] = 100
		}
	}
	h.mu.Unlock()
	host := simsvc.HostFrom(ctx)
	if err := host.RegisterDoc("mean_temperature", h.meanTemperature,
		rpc.MethodDoc{Doc: "The mean temperature of the grid."}); err != nil {
		return false, err
	}
	if err := host.RegisterDoc("temperature_at", h.temperatureAt,
		rpc.MethodDoc{Params: []string{"i", "j"}, Doc: "The temperature of cell (i, j)."}); err != nil {
		return false, err
	}
	return true, nil
}

func (h *heat) Start(ctx context.Context) (bool, error) {
	h.mu.Lock()
	h.t = 0
	h.mu.Unlock()
	return true, nil
}

func (h *heat) Step(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	n, a, u, v := h.n, h.alpha, h.u, h.next
	for i := 1; i < n-1; i++ {
		for j := 1; j < n-1; j++ {
			k := i*n + j
			v[k] = u[k] + a*(u[k-n]+u[k+n]+u[k-1]+u[k+1]-4*u[k])
		}
	}
	h.u, h.next = v, u
	h.t++
	if step := int64(h.t); step%10 == 0 {
		track.FromContext(ctx).LogResult("centre_temperature", v[(n/2)*n+n/2], step)
	}
	return nil
}

func (h *heat) Steer(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.alpha = h.pending
	track.FromContext(ctx).LogResult("diffusivity", h.alpha, int64(h.t))
	return nil
}

func (h *heat) Finish(ctx context.Context) error { return nil }

func (h *heat) Stop(ctx context.Context, terminate bool) error { return nil }

func (h *heat) Properties() []simsvc.Property {
	alpha := simsvc.NewProperty("diffusivity", func() float64 {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.alpha
	}, func(a float64) error {
		if !(a > 0 && a <= 0.25) {
			return fmt.Errorf("%w: diffusivity %g is outside (0, 0.25] (unstable)", rpc.ErrValue, a)
		}
		h.mu.Lock()
		h.pending = a
		h.mu.Unlock()
		return nil
	})
	alpha.Doc = "α = D·dt/dx², applied at the next steer"
	size := simsvc.NewProperty("size", func() int { return h.n }, nil)
	size.Doc = "cells per side"
	clock := simsvc.NewProperty("time", func() float64 {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.t
	}, nil)
	clock.Doc = "simulated time, in steps"
	return []simsvc.Property{alpha, size, clock}
}

func (h *heat) meanTemperature() float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := 0.0
	for _, x := range h.u {
		s += x
	}
	return s / float64(len(h.u))
}

func (h *heat) temperatureAt(i, j int) (float64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if i < 0 || j < 0 || i >= h.n || j >= h.n {
		return math.NaN(), fmt.Errorf("%w: cell (%d, %d) is outside the %d×%d grid", rpc.ErrValue, i, j, h.n, h.n)
	}
	return h.u[i*h.n+j], nil
}
