// Package leakcheck fails a test binary whose tests leave goroutines
// running. Use it from TestMain:
//
//	func TestMain(m *testing.M) { leakcheck.Main(m) }
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Main runs the tests, then waits up to five seconds for goroutines started
// by the tests to end. If some remain it prints their stacks and exits 1.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := Wait(5 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "leakcheck: goroutines still running after the tests:\n\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// Wait polls until no unexpected goroutine is left or timeout passes, and
// returns the stacks of those left ("" if none).
func Wait(timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	for {
		leaked := Leaked()
		if leaked == "" || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Leaked returns the stacks of running goroutines other than the caller's
// and the runtime's and testing package's own.
func Leaked() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 || ignored(g) { // the first stack is the caller's
			continue
		}
		out = append(out, g)
	}
	return strings.Join(out, "\n\n")
}

func ignored(stack string) bool {
	for _, s := range []string{
		"testing.(*M).",
		"testing.RunTests",
		"testing.runFuzzing",
		"testing.(*T).Run",
		"testing.tRunner.func",
		"runtime.goexit()\n\t", // bare system goroutines print only this
		"os/signal.signal_recv",
		"created by os/signal.Notify",
		"internal/poll.runtime_pollWait", // only if nothing of ours is on the stack, see below
	} {
		if strings.Contains(stack, s) && !strings.Contains(stack, "github.com/sigoco/sigoco/") {
			return true
		}
	}
	return strings.Contains(stack, "runtime.ensureSigM") ||
		strings.Contains(stack, "created by runtime.gc") ||
		strings.Contains(stack, "runtime.ReadTrace")
}
