package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
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
	waitServing(t, port)
	first.stop(t)
	// Once the first has ended, the directory is free again.
	again := startTrackd(t, port, data)
	waitServing(t, port)
	again.stop(t)
}

// waitServing waits until the trackd on port answers HTTP: startTrackd
// returns once the port listens, which is before the store is open (the
// kernel queues connections meanwhile), and a SIGTERM during the store's
// migration ends trackd with its context's error.
func waitServing(t *testing.T, port string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := c.Get("http://127.0.0.1:" + port + "/")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("trackd on %s does not answer HTTP: %v", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "4096": 4096, "512M": 512 << 20, "1G": 1 << 30, "1GiB": 1 << 30, "2gb": 2 << 30, "1.5K": 1536, "1T": 1 << 40} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1G", "1P", "1e30"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) took it", in)
		}
	}
}

// TestMinFreeRefusesNewRun: trackd reads the free space under --data
// (statfs); with a watermark above it a new run is refused as unavailable.
func TestMinFreeRefusesNewRun(t *testing.T) {
	port, data := freePort(t), t.TempDir()
	startTrackd(t, port, data, "--min-free", "1000000T")
	ctx := ctxT(t, 20*time.Second)
	c, err := rpc.Dial(ctx, "127.0.0.1:"+port, server.TargetName, rpc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := store.Batch{Run: "r1", Records: []store.Record{{Seq: 1, Kind: store.KindStart, Key: "p", Value: "n", Time: time.Now().UnixNano()}}}
	var ack store.Ack
	err = c.CallInto(ctx, &ack, "log_batch", b, []string{}, []int64{}, []int64{}, []int64{}, []int64{}, []float64{})
	if err == nil || !store.UnavailableText(err.Error()) || !strings.Contains(err.Error(), "--min-free") {
		t.Fatalf("new run below the watermark: %v", err)
	}
}

// TestStopWhileStarting: trackd listens before its store is open, so a
// SIGTERM can arrive during the store's migration; that is a requested
// shutdown (exit 0), not a failure (it exited 1 with "context canceled").
func TestStopWhileStarting(t *testing.T) {
	for range 3 {
		startTrackd(t, freePort(t), t.TempDir()).stop(t)
	}
}
