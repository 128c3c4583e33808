// Command simservice is a 2-D heat-diffusion simulation served as a
// simsvc service, and a driver that spawns it, steps it, steers it and
// reads its properties.
//
// Usage:
//
//	go run ./examples/sigoco-simservice            # the driver: spawns itself as the service
//	go run ./examples/sigoco-simservice serve      # the service alone; it prints its address
//	go run ./examples/sigoco-simservice --track 127.0.0.1:3250   # the service is a tracked run on trackd
//
// With --track ADDR (or, for serve, $SIGOCO_SIMSVC_TRACK) the service
// records itself as a run of project "simservice" on the tracking server
// at ADDR: status, step and progress follow the lifecycle, its params
// and the centre temperature are logged, its rpc target is exposed (the
// service functions through call_function), and the profiler report is
// stored when it finishes.
//
// The service alone can be driven by any rpc client, e.g.
//
//	rpctool 127.0.0.1 PORT call run
//	rpctool 127.0.0.1 PORT call init
//	rpctool 127.0.0.1 PORT call mean_temperature
//
// or by SiPyCo's Python Client (target "heat").
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/simsvc"
	"github.com/sigoco/sigoco/track"
)

func main() {
	ctx := context.Background()
	fs := flag.NewFlagSet("simservice", flag.ContinueOnError)
	trackAddr := fs.String("track", "", "record the service as a tracked run on the tracking server at `ADDR` (host:port)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: simservice [--track ADDR] [serve]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if fs.Arg(0) == "serve" {
		opts := simsvc.Options{Name: "heat", Steps: steps}
		addr := *trackAddr
		if addr == "" {
			addr = os.Getenv(simsvc.EnvTrack) // set by the driver's Spawn
		}
		if addr != "" {
			opts.Track = &track.Options{Project: "simservice", Addr: addr}
		}
		if err := simsvc.ServeChild(ctx, newHeat(size), opts); err != nil {
			fmt.Fprintln(os.Stderr, "simservice:", err)
			os.Exit(1)
		}
		return
	}
	if fs.NArg() > 0 {
		fs.Usage()
		os.Exit(2)
	}
	exe, err := os.Executable()
	if err == nil {
		err = drive(ctx, exec.Command(exe, "serve"), *trackAddr, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "simservice:", err)
		os.Exit(1)
	}
}

const (
	size  = 192 // cells per side
	steps = 400
)

// drive spawns the service (cmd), runs its lifecycle with Execute and
// reports on out: the mean and centre temperatures as it diffuses, a
// steering halfway, the properties, and the top of the profiler report.
// With trackAddr the service is a tracked run on that tracking server.
func drive(ctx context.Context, cmd *exec.Cmd, trackAddr string, out io.Writer) error {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	p, err := simsvc.Spawn(ctx, cmd, simsvc.SpawnOptions{Dial: simsvc.DialOptions{Logger: logger}, Track: trackAddr})
	if err != nil {
		return err
	}
	var report string
	err = simsvc.Execute(ctx, p, simsvc.ExecOptions{Steps: steps, SkipClose: true}, func(step int) error {
		if step == 0 {
			fns, err := p.Functions(ctx)
			if err != nil {
				return err
			}
			for _, f := range fns {
				fmt.Fprintf(out, "service function %s%s: %s\n", f.Name, params(f.Params), f.Doc)
			}
		}
		if step == steps/2 {
			if err := p.Set(ctx, "diffusivity", 0.05); err != nil {
				return err
			}
			if err := p.Steer(ctx); err != nil {
				return err
			}
			fmt.Fprintln(out, "steered: diffusivity 0.2 → 0.05")
		}
		if err := p.Step(ctx); err != nil {
			return err
		}
		if (step+1)%100 == 0 {
			var mean, centre float64
			if err := p.CallInto(ctx, &mean, "mean_temperature"); err != nil {
				return err
			}
			if err := p.CallInto(ctx, &centre, "temperature_at", size/2, size/2); err != nil {
				return err
			}
			fmt.Fprintf(out, "step %3d: mean %.3f, centre %.3f\n", step+1, mean, centre)
		}
		return nil
	})
	if err == nil {
		props, perr := p.Properties(ctx)
		for _, pr := range props {
			v, gerr := p.Get(ctx, pr.Name)
			if gerr != nil {
				perr = gerr
				break
			}
			fmt.Fprintf(out, "property %s (%s) = %v\n", pr.Name, pr.Type, v)
		}
		err = perr
	}
	if err == nil {
		st, _ := p.Status(ctx)
		fmt.Fprintf(out, "status %s\n", st)
		report, err = p.ProfilerReport(ctx)
		lines := strings.Split(report, "\n")
		fmt.Fprintln(out, strings.Join(lines[:min(len(lines), 8)], "\n"))
	}
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	return err
}

func params(ps []rpc.Param) string {
	var b strings.Builder
	b.WriteString("(")
	for i, p := range ps {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.Name + " " + p.Type)
	}
	return b.String() + ")"
}
