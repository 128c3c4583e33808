package main

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestSecondTrackdRefused: a second trackd on the same --data exits with
// code 1 and names the first (its pid and address) instead of starting
// and marking the first one's runs crashed; the first keeps serving.
func TestSecondTrackdRefused(t *testing.T) {
	data := t.TempDir()
	port := freePort(t)
	first := startTrackd(t, port, data)
	cmd := exec.Command(trackdBin, "--port", freePort(t), "--data", data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("second trackd still running:\n%s", stderr.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("second trackd: %v, want exit code 1\n%s", err, stderr.String())
	}
	msg := stderr.String()
	for _, want := range []string{"in use by another trackd", fmt.Sprintf("pid %d", first.cmd.Process.Pid), "address 127.0.0.1:" + port} {
		if !strings.Contains(msg, want) {
			t.Errorf("second trackd's message lacks %q:\n%s", want, msg)
		}
	}
	first.stop(t)
	// Once the first has ended, the directory is free again.
	startTrackd(t, port, data).stop(t)
}
