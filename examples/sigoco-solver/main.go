// Command sleeper is the oSPARC seed's "sleeper" as a sigoco solver: it
// reads its inputs from inputs.json (trackd writes it in the job's work
// directory), sleeps input_2 seconds printing [PROGRESS] lines, fails
// after the sleep if input_3 is true, and reports its outputs in
// outputs.json and single_number.txt.
//
// Run by trackd with the solvers.toml beside this file:
//
//	go build -o examples/sigoco-solver/sleeper ./examples/sigoco-solver
//	go run ./trackd --solvers examples/sigoco-solver/solvers.toml
//
// Version 2.2.0 of the solvers file sets track = true: the program then
// also reports through package track (params, a result per second,
// logs) into its job's run, found from the environment trackd sets.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sigoco/sigoco/track"
)

type inputs struct {
	File     string `json:"input_1"` // the file's name in the work directory, if given
	Sleep    int    `json:"input_2"`
	Fail     bool   `json:"input_3"`
	Distance int    `json:"input_4"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sleeper:", err)
		os.Exit(1)
	}
}

func run() error {
	data, err := os.ReadFile("inputs.json")
	if err != nil {
		return err
	}
	var in inputs
	if err := json.Unmarshal(data, &in); err != nil {
		return fmt.Errorf("inputs.json: %w", err)
	}
	ctx := context.Background()
	var tr *track.Run // nil without track: its methods do nothing
	if os.Getenv(track.EnvRun) != "" {
		if tr, err = track.Start(ctx, track.Options{NoMetadata: true, SpoolDir: "spool"}); err != nil {
			return err
		}
	}
	tr.SetStatus(track.StatusRunning)
	log := tr.Logger()
	extra := 0
	if in.File != "" {
		b, err := os.ReadFile(in.File)
		if err != nil {
			return err
		}
		if extra, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
			return fmt.Errorf("%s does not hold an integer: %w", in.File, err)
		}
	}
	fmt.Printf("Walking %d m to bed\n", in.Distance)
	total := in.Sleep + extra
	fmt.Printf("Will sleep for %d seconds\n", total)
	for i := 1; i <= total; i++ {
		time.Sleep(time.Second)
		fmt.Printf("[PROGRESS] %d/%d...\n", i, total)
		tr.LogResult("slept", float64(i), int64(i))
		tr.SetProgress(100 * float64(i) / float64(total))
	}
	if in.Fail {
		tr.End(ctx, track.StatusFailed)
		return fmt.Errorf("failing after the sleep, as asked (input_3)")
	}
	n := 1 + rand.IntN(9)
	if err := os.WriteFile("single_number.txt", []byte(strconv.Itoa(n)), 0o644); err != nil {
		return err
	}
	out, _ := json.Marshal(map[string]any{"output_2": float64(n)})
	if err := os.WriteFile("outputs.json", out, 0o644); err != nil {
		return err
	}
	log.Info("sleeper done", "number", n)
	return tr.End(ctx, track.StatusFinished)
}
