package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/wire/auth"
)

// waitExit waits for trackd to exit (failing, not hanging, after d) and
// checks that it exited 0.
func (d *daemon) waitExit(t *testing.T, timeout time.Duration) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("trackd after shutdown_server: %v\n%s", err, d.stderr)
		}
	case <-time.After(timeout):
		d.cmd.Process.Kill()
		<-done
		t.Fatalf("trackd did not exit after shutdown_server\n%s", d.stderr)
	}
}

// TestShutdownServer: a viewer's and a runner's shutdown_server are
// refused (auth.ErrForbidden through the wire) and trackd serves on; an
// admin's makes trackd stop as on SIGTERM: exit 0, a log line naming the
// admin, and the run left open is still open (not crashed) after a
// restart, and its client ends it.
func TestShutdownServer(t *testing.T) {
	t.Setenv(auth.EnvToken, "")
	port, data := freePort(t), t.TempDir()
	access := writeAccess(t, accessLines()...)
	d := startTrackd(t, port, data, "--access", access)
	addr := "127.0.0.1:" + port
	ctx := ctxT(t, 90*time.Second)

	run, err := track.Start(ctx, track.Options{Project: "shutdown", Addr: addr, Token: runnerToken, SpoolDir: t.TempDir(), NoMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	run.LogParam("p", 1)
	if err := run.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{viewerToken, runnerToken} {
		err := track.ShutdownServer(ctx, addr, track.OpenOptions{Token: tok})
		if !errors.Is(err, auth.ErrForbidden) {
			t.Errorf("shutdown_server with %s: %v, want auth.ErrForbidden", tok, err)
		}
	}
	rd, err := track.Open(ctx, addr, track.OpenOptions{Token: viewerToken})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rd.GetRun(ctx, run.ID()); err != nil {
		t.Fatalf("trackd after refused shutdowns: %v", err)
	}
	rd.Close()

	if err := track.ShutdownServer(ctx, addr, track.OpenOptions{Token: adminToken}); err != nil {
		t.Fatalf("admin's shutdown_server: %v", err)
	}
	d.waitExit(t, 30*time.Second)
	if out := d.stderr.String(); !strings.Contains(out, "shutdown_server called by") || !strings.Contains(out, "(admin, by token)") {
		t.Errorf("no log line naming the admin:\n%s", out)
	}

	d = startTrackd(t, port, data, "--access", access)
	rd, err = track.Open(ctx, addr, track.OpenOptions{Token: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	info, err := rd.GetRun(ctx, run.ID())
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != store.StatusRunning && info.Status != store.StatusRegistered {
		t.Errorf("open run after a requested shutdown: status %q", info.Status)
	}
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatalf("End after the restart: %v", err)
	}
	if info, err = rd.GetRun(ctx, run.ID()); err != nil || info.Status != store.StatusFinished {
		t.Errorf("run after End: %v %v", info.Status, err)
	}
	d.stop(t)
}

// TestShutdownServerRPCTool: rpctool's "call -t tracker shutdown_server"
// is refused for a runner (PermissionError, trackd serves on) and stops
// trackd for an admin.
func TestShutdownServerRPCTool(t *testing.T) {
	if testing.Short() {
		t.Skip("builds rpctool")
	}
	ctx := ctxT(t, 5*time.Minute)
	bin := filepath.Join(t.TempDir(), "rpctool")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/sigoco/sigoco/rpctool").CombinedOutput(); err != nil {
		t.Fatalf("building rpctool: %v\n%s", err, out)
	}
	port := freePort(t)
	d := startTrackd(t, port, t.TempDir(), "--access", writeAccess(t, accessLines()...))
	rt := func(token string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, bin, append([]string{"--no-history", "--color", "never", "127.0.0.1", port}, args...)...)
		cmd.Env = append(os.Environ(), auth.EnvToken+"="+token)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	out, err := rt(runnerToken, "call", "-t", "tracker", "shutdown_server")
	if err == nil || !strings.Contains(out, "PermissionError") {
		t.Fatalf("runner's rpctool shutdown_server: %v\n%s", err, out)
	}
	if out, err := rt(runnerToken, "call", "-t", "tracker", "list_runs", "{}"); err != nil {
		t.Fatalf("trackd after a refused shutdown: %v\n%s", err, out)
	}
	if out, err := rt(adminToken, "call", "-t", "tracker", "shutdown_server"); err != nil {
		t.Fatalf("admin's rpctool shutdown_server: %v\n%s", err, out)
	}
	d.waitExit(t, 30*time.Second)
}
