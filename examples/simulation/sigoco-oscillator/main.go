// Command oscillator runs the tracked demo simulation (internal/demo, the
// one `trackd --demo` runs) against a tracking server (trackd;
// SIGOCO_TRACK_ADDR or --addr).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sigoco/sigoco/internal/demo"
	"github.com/sigoco/sigoco/track"
)

func main() {
	addr := flag.String("addr", "", "tracking server (default $SIGOCO_TRACK_ADDR or 127.0.0.1:3250)")
	steps := flag.Int64("steps", 5000, "steps (0: until stopped)")
	rate := flag.Float64("rate", 500, "steps per second")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := demo.Simulate(ctx, track.Options{Addr: *addr, LogToStderr: true}, demo.SimConfig{Steps: *steps, Rate: *rate})
	if err != nil {
		fmt.Fprintln(os.Stderr, "oscillator:", err)
		os.Exit(1)
	}
}
