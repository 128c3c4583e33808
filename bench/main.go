// Command bench runs sigoco and its peers (gRPC, NATS, net/rpc, a raw TCP
// ping-pong, ...) in one process on loopback and prints one line per
// figure:
//
//	NAME VALUE UNIT
//
// Ratios against a peer measured in the same run ("rpc.parallel.seq.vs_grpc", >1
// means sigoco is better) are what to compare between machines: absolute
// times on shared machines drift by 30% from one minute to the next.
//
// bench is its own module (its peers' dependencies stay out of the
// toolkit's go.mod). From the repository root:
//
//	go run -C bench . [-quick] [-only PREFIX]
//
// (or cd bench && go run . …).
//
// A group of figures is one file with an init function calling register;
// groups run in the order of their files' names.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// config is what every suite gets.
type config struct {
	quick bool // finish the whole program in under 60 s
}

// result is one printed figure.
type result struct {
	name  string
	value float64
	unit  string
}

type suite struct {
	name string
	run  func(cfg config) ([]result, error)
}

// suites is filled by register calls in the other files' init functions:
// a new group of figures is one file whose init calls
//
//	register("name", runName)
var suites []suite

func register(name string, run func(cfg config) ([]result, error)) {
	suites = append(suites, suite{name, run})
}

func main() {
	if addr := os.Getenv(viewersEnv); addr != "" {
		os.Exit(viewersMain(addr)) // the dash suite's subscribers, see dashviewers.go
	}
	if addr := os.Getenv(sinksEnv); addr != "" {
		os.Exit(sinksMain(addr)) // the dash suite's write floor, see dashfloor.go
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the suites args select, prints their figures on stdout and
// their failures on stderr, and returns the exit code: 0, 1 when a suite
// failed, 2 for bad arguments.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "short runs (the whole program finishes in under 60 s)")
	only := fs.String("only", "", "run only the suites whose name starts with this prefix (logfwd, pyon, rpc, sync, ...)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench: unexpected arguments: %q\n", fs.Args())
		return 2
	}
	failed, ran := false, 0
	for _, s := range suites {
		if !strings.HasPrefix(s.name, *only) {
			continue
		}
		ran++
		results, err := s.run(config{quick: *quick})
		if err != nil {
			fmt.Fprintf(stderr, "bench: %s: %v\n", s.name, err)
			failed = true
			continue
		}
		for _, r := range results {
			fmt.Fprintf(stdout, "%s %s %s\n", r.name, formatValue(r.value), r.unit)
		}
	}
	if ran == 0 {
		fmt.Fprintf(stderr, "bench: no suite starts with %q\n", *only)
		return 2
	}
	if failed {
		return 1
	}
	return 0
}

func formatValue(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}
