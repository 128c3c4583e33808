package simsvc_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/simsvc"
)

// childCmd runs this test binary as a service process in mode.
func childCmd(t *testing.T, mode string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	// GORACE: a race-enabled child would otherwise sleep 1 s at exit.
	cmd.Env = append(os.Environ(), envChild+"="+mode, "GORACE=atexit_sleep_ms=0")
	return cmd
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func spawn(t *testing.T, mode string, opts simsvc.SpawnOptions) *simsvc.Proxy {
	t.Helper()
	p, err := simsvc.Spawn(testCtx(t), childCmd(t, mode), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestSpawn: a child process serves the handed listener; the parent
// drives it and Close ends it (SIGTERM: the child stops the simulation).
func TestSpawn(t *testing.T) {
	p := spawn(t, "serve", simsvc.SpawnOptions{})
	ctx := testCtx(t)
	must(t, simsvc.Execute(ctx, p, simsvc.ExecOptions{Steps: 3, SkipFinish: true, SkipClose: true}, func(int) error { return p.Step(ctx) }))
	if n, _ := p.CurrentStep(ctx); n != 3 {
		t.Fatalf("current_step %d", n)
	}
	if v, err := p.Call(ctx, "add", 1.0); err != nil || v != 4.0 {
		t.Fatalf("add: %v %v", v, err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestSpawnLogs: the child's stdout and stderr become log records.
func TestSpawnLogs(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p := spawn(t, "noisy", simsvc.SpawnOptions{Dial: simsvc.DialOptions{Logger: log}})
	must(t, p.Close())
	out := buf.String()
	for _, want := range []string{`msg="hello on stdout" stream=stdout`, `level=WARN msg="hello on stderr" stream=stderr`} {
		if !strings.Contains(out, want) {
			t.Fatalf("logs lack %q:\n%s", want, out)
		}
	}
}

// TestSpawnCrash: a child that dies in a step is reported with its exit
// status and stderr, by the call, by WaitFor and by Close.
func TestSpawnCrash(t *testing.T) {
	p := spawn(t, "crash-at-step", simsvc.SpawnOptions{})
	ctx := testCtx(t)
	err := simsvc.Execute(ctx, p, simsvc.ExecOptions{Steps: 5, SkipClose: true}, func(int) error { return p.Step(ctx) })
	var ee *simsvc.ExitError
	if !errors.As(err, &ee) || !errors.Is(err, simsvc.ErrChildExited) {
		t.Fatalf("Execute across a crash: %v, want an ExitError", err)
	}
	var xe *exec.ExitError
	if !errors.As(err, &xe) || xe.ExitCode() != 3 || !strings.Contains(ee.Stderr, "simulated crash at step 3") {
		t.Fatalf("exit error %v (stderr %q)", err, ee.Stderr)
	}
	if _, err := p.WaitFor(ctx, func(simsvc.Update) bool { return false }); !errors.Is(err, simsvc.ErrChildExited) {
		t.Fatalf("WaitFor after the crash: %v", err)
	}
	if err := p.Close(); !errors.Is(err, simsvc.ErrChildExited) {
		t.Fatalf("Close after the crash: %v", err)
	}
}

// TestSpawnExitEarly: a child that dies before serving fails Spawn with
// its exit, not a hang.
func TestSpawnExitEarly(t *testing.T) {
	_, err := simsvc.Spawn(testCtx(t), childCmd(t, "exit-early"), simsvc.SpawnOptions{})
	var xe *exec.ExitError
	if !errors.Is(err, simsvc.ErrChildExited) || !errors.As(err, &xe) || xe.ExitCode() != 7 ||
		!strings.Contains(err.Error(), "cannot load the model") {
		t.Fatalf("Spawn of a child that exits: %v", err)
	}
}

// TestSpawnKill: a child that does not end on SIGTERM is killed after the
// grace period.
func TestSpawnKill(t *testing.T) {
	p := spawn(t, "ignore-term", simsvc.SpawnOptions{Grace: 200 * time.Millisecond})
	ctx := testCtx(t)
	must(t, simsvc.Execute(ctx, p, simsvc.ExecOptions{SkipFinish: true, SkipClose: true}, nil))
	stepCtx, cancel := context.WithCancel(ctx)
	go func() { p.Step(stepCtx) }() // hangs in the child
	t.Cleanup(cancel)
	time.Sleep(50 * time.Millisecond)
	err := p.Close()
	var ee *simsvc.ExitError
	if !errors.As(err, &ee) || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("Close of a child that ignores SIGTERM: %v", err)
	}
}

// TestSpawnBadCommand: a program that does not exist.
func TestSpawnBadCommand(t *testing.T) {
	if _, err := simsvc.Spawn(testCtx(t), exec.Command("/nonexistent/simsvc-child"), simsvc.SpawnOptions{}); err == nil {
		t.Fatal("Spawn of a missing program succeeded")
	}
}
