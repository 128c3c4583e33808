package simsvc_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigoco/sigoco/simsvc"
)

func childFactory(mode string) simsvc.Factory {
	return func(args ...string) (*exec.Cmd, error) {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), envChild+"="+mode, "GORACE=atexit_sleep_ms=0")
		return cmd, nil
	}
}

// TestManager: factories by name, unique process names (served as the
// targets), lookup, listing, Close of one proxy, CloseAll and Close.
func TestManager(t *testing.T) {
	m := simsvc.NewManager(simsvc.ManagerOptions{})
	t.Cleanup(func() { m.Close() })
	must(t, m.Register("counter", childFactory("serve")))
	if err := m.Register("counter", childFactory("serve")); !errors.Is(err, simsvc.ErrRegistered) {
		t.Fatalf("second Register: %v", err)
	}
	if !m.IsRegistered("counter") || m.IsRegistered("heat") || !slices.Equal(m.Services(), []string{"counter"}) {
		t.Fatalf("registry: %v", m.Services())
	}
	ctx := testCtx(t)
	if _, err := m.Spawn(ctx, "heat"); !errors.Is(err, simsvc.ErrUnknownService) {
		t.Fatalf("Spawn(heat): %v", err)
	}
	p1, err := m.Spawn(ctx, "counter")
	must(t, err)
	p2, err := m.Spawn(ctx, "counter")
	must(t, err)
	if p1.ProcessName() != "counter-1" || p2.ProcessName() != "counter-2" || p1.Name() != "counter-1" || p2.Name() != "counter-2" {
		t.Fatalf("names: %q %q, targets %q %q", p1.ProcessName(), p2.ProcessName(), p1.Name(), p2.Name())
	}
	if got := m.Processes(); !slices.Equal(got, []string{"counter-1", "counter-2"}) {
		t.Fatalf("Processes: %v", got)
	}
	if p, ok := m.Lookup("counter-2"); !ok || p != p2 {
		t.Fatal("Lookup(counter-2)")
	}
	must(t, p2.Run(ctx))
	if st, err := p1.Status(ctx); err != nil || st != simsvc.StatusRegistered {
		t.Fatalf("counter-1: %v %v", st, err)
	}
	must(t, p1.Close())
	if _, ok := m.Lookup("counter-1"); ok {
		t.Fatal("a closed proxy stayed in the manager")
	}
	p3, err := m.Spawn(ctx, "counter")
	must(t, err)
	if p3.ProcessName() != "counter-3" {
		t.Fatalf("third process: %q (names are never reused)", p3.ProcessName())
	}
	must(t, m.CloseAll())
	if got := m.Processes(); len(got) != 0 {
		t.Fatalf("after CloseAll: %v", got)
	}
	if _, err := p2.Status(ctx); err == nil {
		t.Fatal("a process closed by CloseAll still answers")
	}
	must(t, m.Close())
	must(t, m.Close())
	if _, err := m.Spawn(ctx, "counter"); !errors.Is(err, simsvc.ErrClosed) {
		t.Fatalf("Spawn after Close: %v", err)
	}
}

// managerChild is a program with a Manager catching SIGTERM: it spawns a
// service, prints the service's pid and waits to be signalled.
func managerChild() int {
	m := simsvc.NewManager(simsvc.ManagerOptions{Signals: []os.Signal{syscall.SIGTERM}})
	if err := m.Register("counter", childFactory("serve")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := m.Spawn(ctx, "counter")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(p.Pid())
	<-ctx.Done()
	return 4 // not signalled in time
}

// TestManagerClosesOnSignal: a program whose Manager watches SIGTERM
// closes its services when it gets one, then dies of it.
func TestManagerClosesOnSignal(t *testing.T) {
	exe, err := os.Executable()
	must(t, err)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"=manager", "GORACE=atexit_sleep_ms=0")
	out, err := cmd.StdoutPipe()
	must(t, err)
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = 2 * time.Second
	must(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill() })
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- s
	}()
	var pid int
	select {
	case s := <-line:
		if pid, err = strconv.Atoi(strings.TrimSpace(s)); err != nil {
			t.Fatalf("manager program printed %q", s)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the manager program did not start its service")
	}
	must(t, cmd.Process.Signal(syscall.SIGTERM))
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("manager program: %v, want death by SIGTERM", err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGTERM {
		t.Fatalf("manager program ended with %v, want SIGTERM", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("service process %d still there after its manager's program got SIGTERM: %v", pid, err)
	}
}
