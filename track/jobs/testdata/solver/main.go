// Command solver is the test solver of package jobs: a sleeper in the
// spirit of oSPARC's, driven by its inputs.json (mode, steps, a file with a
// number, a factor) and shell-free.
//
//	ok      print [PROGRESS] i/steps, write outputs.json and single_number.txt
//	gate    print [PROGRESS] 1/2, wait for the file "release", then as ok
//	fail    write lines to stderr, exit 3
//	hang    wait until killed (SIGTERM ends it)
//	stubborn  ignore SIGTERM, wait until killed
//	badout  report an undeclared output
//	crash   kill itself with SIGKILL
//	track   report with the track client (no configuration: the
//	        environment names the server and the run)
//	link    as ok, but single_number.txt is a symbolic link to the file
//	        the input "note" names
//	linkdir as ok, but outputs.json names d/BASE as output_1, d being a
//	        link to the directory of "note" and BASE its file name
//	linkjson  as ok, but outputs.json is a link to "note"
//	checkpoint  on SIGUSR1 write the file "ckpt" and wait to be killed;
//	        started again with "ckpt" there, as ok
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sigoco/sigoco/track"
)

func main() {
	data, err := os.ReadFile("inputs.json")
	if err != nil {
		fmt.Fprintln(os.Stderr, "no inputs:", err)
		os.Exit(2)
	}
	var in map[string]any
	if err := json.Unmarshal(data, &in); err != nil {
		fmt.Fprintln(os.Stderr, "bad inputs:", err)
		os.Exit(2)
	}
	fmt.Println("Entrypoint: workdir", mustWd(), "args", strings.Join(os.Args[1:], " "), "pid", os.Getpid())
	fmt.Println("job", os.Getenv("SIGOCO_JOB_ID"), "track", os.Getenv("SIGOCO_TRACK_ADDR"), "env", os.Getenv("SOLVER_GREETING"))
	mode, _ := in["mode"].(string)
	steps := 3
	if s, ok := in["steps"].(float64); ok {
		steps = int(s)
	}
	switch mode {
	case "fail":
		for i := range 30 {
			fmt.Fprintf(os.Stderr, "error line %d\n", i)
		}
		os.Exit(3)
	case "hang":
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		fmt.Println("[PROGRESS] 1/4")
		<-sig
		fmt.Println("got SIGTERM, leaving")
		os.Exit(143)
	case "stubborn":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("[PROGRESS] 1/4")
		for {
			time.Sleep(time.Hour)
		}
	case "checkpoint":
		if _, err := os.Stat("ckpt"); err != nil {
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, syscall.SIGUSR1)
			signal.Ignore(syscall.SIGTERM)
			fmt.Println("[PROGRESS] 1/2 signal", os.Getenv("SIGOCO_JOB_CHECKPOINT_SIGNAL"))
			<-sig
			os.WriteFile("ckpt", []byte("1"), 0o644)
			fmt.Println("checkpointed")
			for {
				time.Sleep(time.Hour)
			}
		}
		fmt.Println("resumed from the checkpoint")
	case "crash":
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(time.Hour)
	case "track":
		tracked(in)
		return
	case "gate":
		fmt.Println("[PROGRESS] 1/2")
		for {
			if _, err := os.Stat("release"); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		fmt.Println("[PROGRESS] 2/2")
	default:
		for i := 1; i <= steps; i++ {
			fmt.Printf("[PROGRESS] %d/%d...\n", i, steps)
		}
	}
	n := 0
	if name, ok := in["input_1"].(string); ok {
		b, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(4)
		}
		n, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	factor, _ := in["factor"].(float64)
	if err := os.WriteFile("single_number.txt", []byte(strconv.Itoa(n+1)), 0o644); err != nil {
		os.Exit(5)
	}
	out := map[string]any{"output_2": float64(n) * factor, "label": fmt.Sprintf("n=%d", n)}
	if mode == "badout" {
		out["nope"] = 1
	}
	note, _ := in["note"].(string)
	switch mode {
	case "link":
		os.Remove("single_number.txt")
		if err := os.Symlink(note, "single_number.txt"); err != nil {
			os.Exit(8)
		}
	case "linkdir":
		if err := os.Symlink(filepath.Dir(note), "d"); err != nil {
			os.Exit(8)
		}
		out["output_1"] = "d/" + filepath.Base(note)
	}
	b, _ := json.Marshal(out)
	if mode == "linkjson" {
		if err := os.Symlink(note, "outputs.json"); err != nil {
			os.Exit(8)
		}
	} else {
		os.WriteFile("outputs.json", b, 0o644)
	}
	fmt.Fprintln(os.Stderr, "done")
}

func mustWd() string {
	wd, _ := os.Getwd()
	return wd
}

// tracked is a solver that reports through package track.
func tracked(in map[string]any) {
	ctx := context.Background()
	run, err := track.Start(ctx, track.Options{NoMetadata: true, SpoolDir: "spool"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(6)
	}
	run.LogParam("omega", 2.5)
	for step := range 10 {
		run.LogResult("energy", float64(step*step), int64(step))
	}
	run.SetProgress(100)
	run.Logger().Info("tracked solver done", "steps", 10)
	os.WriteFile("outputs.json", []byte(`{"energy": 81}`), 0o644)
	if err := run.End(ctx, track.StatusFinished); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(7)
	}
}
