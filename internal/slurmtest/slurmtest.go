// Package slurmtest starts a throwaway Slurm cluster on loopback for
// tests (track/jobs/testdata/slurm/up.sh: its own munged, slurmctld and
// slurmd, as root) and stops it. Tests of track/jobs and trackd share it.
package slurmtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// script is the path of one of the cluster's scripts (up.sh, down.sh),
// found beside this source file.
func script(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "track", "jobs", "testdata", "slurm", name)
}

// Start starts a cluster of nodes slurmd, each declaring cpus CPUs, and
// returns its directory and slurm.conf; dir is set (for Stop) even when
// it fails. With CI=true, up.sh installs the packages when missing.
func Start(nodes, cpus int) (dir, conf string, err error) {
	if os.Geteuid() != 0 {
		return "", "", fmt.Errorf("the test cluster needs root (munged, slurmd)")
	}
	dir, err = os.MkdirTemp("", "jobs-slurm-")
	if err != nil {
		return "", "", err
	}
	os.Chmod(dir, 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, script("up.sh"), dir, fmt.Sprint(nodes))
	cmd.Env = append(os.Environ(), fmt.Sprintf("SLURM_UP_CPUS=%d", cpus))
	if os.Getenv("CI") == "true" {
		cmd.Env = append(cmd.Env, "SLURM_UP_INSTALL=1")
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := stderr.String()
		if len(msg) > 2000 {
			msg = msg[len(msg)-2000:]
		}
		return dir, "", fmt.Errorf("up.sh: %v: %s", err, msg)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "export SLURM_CONF="); ok {
			conf = strings.TrimSpace(v)
		}
	}
	if conf == "" {
		return dir, "", fmt.Errorf("up.sh printed no SLURM_CONF: %q", out)
	}
	return dir, conf, nil
}

// Stop stops the cluster in dir (a no-op for "") and removes dir.
func Stop(dir string) {
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	exec.CommandContext(ctx, script("down.sh"), dir).Run()
	cancel()
	os.RemoveAll(dir)
}

// SkipOrFail skips t saying why the cluster could not be started (err),
// or fails it with CI=true.
func SkipOrFail(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Slurm: %v", err)
		}
		t.Skipf("Slurm cannot be started here (CI=true makes this a failure): %v", err)
	}
}
