// Command bench runs sigoco and its peers (net/rpc, a raw TCP ping-pong,
// ...) in one process on loopback and prints one line per figure:
//
//	NAME VALUE UNIT
//
// Ratios against a peer measured in the same run ("rpc.seq.vs_netrpc", >1
// means sigoco is better) are what to compare between machines: absolute
// times on shared machines drift by 30% from one minute to the next.
//
// Usage:
//
//	go run ./bench [-quick] [-only PREFIX]
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// config is what every suite gets.
type config struct {
	quick bool // finish the whole program in under 20 s
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

// suites is filled by register calls in the other files' init functions.
var suites []suite

func register(name string, run func(cfg config) ([]result, error)) {
	suites = append(suites, suite{name, run})
}

func main() {
	quick := flag.Bool("quick", false, "short runs (the whole program finishes in under 20 s)")
	only := flag.String("only", "", "run only the suites whose name starts with this prefix")
	flag.Parse()
	failed := false
	for _, s := range suites {
		if !strings.HasPrefix(s.name, *only) {
			continue
		}
		results, err := s.run(config{quick: *quick})
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s: %v\n", s.name, err)
			failed = true
			continue
		}
		for _, r := range results {
			fmt.Printf("%s %s %s\n", r.name, formatValue(r.value), r.unit)
		}
	}
	if failed {
		os.Exit(1)
	}
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
