package simsvc_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/sigoco/sigoco/simsvc"
	"go.uber.org/goleak"
)

// envChild, set in the environment of the test binary, makes it a service
// process (for Spawn's tests): its value picks the behaviour.
const envChild = "SIMSVC_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(envChild); mode != "" {
		os.Exit(childMain(mode))
	}
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
}

// childMain is the service process of the spawn tests.
func childMain(mode string) int {
	if mode == "manager" {
		return managerChild()
	}
	c := newCounter()
	switch mode {
	case "serve":
	case "crash-at-step": // the process dies in its third step
		c.onStep = func(n int) {
			if n == 3 {
				fmt.Fprintln(os.Stderr, "counter: simulated crash at step 3")
				os.Exit(3)
			}
		}
	case "exit-early": // dies before serving
		fmt.Fprintln(os.Stderr, "counter: cannot load the model")
		return 7
	case "ignore-term": // does not stop on SIGTERM: Close must kill it
		c.onStep = func(int) { time.Sleep(time.Hour) }
	case "noisy":
		fmt.Println("hello on stdout")
		fmt.Fprintln(os.Stderr, "hello on stderr")
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q\n", mode)
		return 2
	}
	if err := simsvc.ServeChild(context.Background(), c, simsvc.Options{Name: "counter"}); err != nil {
		fmt.Fprintln(os.Stderr, "counter:", err)
		return 1
	}
	return 0
}
