package rpc

import (
	"bytes"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

// In parallel mode a call without a context runs on the reader goroutine;
// when it runs long, the read role moves to a new goroutine, so calls
// behind it on the same connection still run at once, in parallel, and
// their replies overtake it.
func TestParallelHandOff(t *testing.T) {
	forEachTransportMux(t, func(t *testing.T, tr transport) {
		a := newAttenuator()
		ts := startServer(t, tr, map[string]any{"lda": a}, ServerOptions{AllowParallel: true})
		release := releaseOnCleanup(t, a.release) // a failing assertion must not leave it blocked
		c := ts.dial(t, "lda")
		ctx := testCtx(t)
		var wg sync.WaitGroup
		results := make(chan string, 3)
		hold := func(tag string) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var r string
				if err := c.CallInto(ctx, &r, "hold", tag); err != nil {
					t.Errorf("hold %s: %v", tag, err)
				}
				results <- r
			}()
		}
		started := func(want string) {
			t.Helper()
			select {
			case got := <-a.started:
				if got != want {
					t.Fatalf("started %q, want %q", got, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%q did not start while an earlier call held the reader", want)
			}
		}
		hold("a")
		started("a")
		hold("b") // behind a call that does not end: needs the read role handed off
		started("b")
		hold("c")
		started("c")
		for i := range 50 { // quick calls meanwhile, replies overtaking the held ones
			var r int
			if err := c.CallInto(ctx, &r, "add", i, 1); err != nil || r != i+1 {
				t.Fatalf("add during holds: %d, %v", r, err)
			}
		}
		release()
		wg.Wait()
		close(results)
		got := map[string]bool{}
		for r := range results {
			got[r] = true
		}
		if !got["a"] || !got["b"] || !got["c"] {
			t.Fatalf("results %v", got)
		}
		for i := range 50 { // and the connection goes on as before
			var r int
			if err := c.CallInto(ctx, &r, "add", i, 2); err != nil || r != i+2 {
				t.Fatalf("add after: %d, %v", r, err)
			}
		}
	})
}

// A call handed off counts against MaxCallsPerConn as a call on its own
// goroutine does; once it has replied, its slot is free again.
func TestParallelHandOffCounts(t *testing.T) {
	a := newAttenuator()
	ts := startServer(t, transports[0], map[string]any{"lda": a}, ServerOptions{AllowParallel: true, MaxCallsPerConn: 1})
	release := releaseOnCleanup(t, a.release)
	c := ts.dial(t, "lda")
	ctx := testCtx(t)
	done := make(chan error, 1)
	go func() {
		_, err := c.Call(ctx, "hold", "first")
		done <- err
	}()
	<-a.started
	// The second call is read only once the first one's read role has been
	// handed off, and then the first one counts.
	_, err := c.Call(ctx, "add", 1, 2)
	var re *RemoteError
	if !errors.As(err, &re) || re.Type != TypeTooManyCalls {
		t.Fatalf("second call: %v, want a %s remote error", err, TypeTooManyCalls)
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("first call: %v", err)
	}
	for i := range 20 {
		var r int
		if err := c.CallInto(ctx, &r, "add", i, 1); err != nil || r != i+1 {
			t.Fatalf("call %d after the first finished: %d, %v", i, r, err)
		}
	}
}

// A connection whose read role was handed off ends cleanly when the
// client goes away while a handed-off call still runs: the server waits
// for it and nothing leaks (TestMain checks goroutines).
func TestParallelHandOffClose(t *testing.T) {
	a := newAttenuator()
	ts := startServer(t, transports[0], map[string]any{"lda": a}, ServerOptions{AllowParallel: true})
	release := releaseOnCleanup(t, a.release)
	c := ts.dial(t, "lda")
	ctx := testCtx(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Call(ctx, "hold", "x")
	}()
	<-a.started
	time.Sleep(20 * time.Millisecond) // past watchPeriod: most likely handed off by now
	c.Close()
	<-done
	release()
}

// napTarget's methods report whether they ran on a call's own goroutine
// (runCall) rather than on the connection's reader; a type of its own, as
// what a method's calls took is remembered per method.
type napTarget struct{}

func (napTarget) Nap(d time.Duration) bool {
	time.Sleep(d) // the method's own work: a slow method
	return onOwnGoroutine()
}

func (napTarget) Quick() bool { return onOwnGoroutine() }

func onOwnGoroutine() bool {
	buf := make([]byte, 64<<10)
	return bytes.Contains(buf[:runtime.Stack(buf, false)], []byte("rpc.(*serverConn).runCall("))
}

// In parallel mode a method whose call ran long gets its own goroutine
// for its next calls (so that it does not hold the reader while calls
// behind it wait), for as long as its calls keep running long; once they
// are quick again, it runs on the reader again. Other methods are not
// affected.
//
// Under -race on a loaded machine a call that does nothing may take longer
// than 50 µs, so the test takes handoffDelay to 5 ms and naps 20 ms: what
// it asserts then depends on no call's speed.
func TestParallelLongMethodGetsGoroutines(t *testing.T) {
	was := handoffDelayNs.Swap(int64(5 * time.Millisecond))
	t.Cleanup(func() { handoffDelayNs.Store(was) })
	const slow = 20 * time.Millisecond
	ts := startServer(t, transports[0], map[string]any{"n": napTarget{}}, ServerOptions{AllowParallel: true})
	c := ts.dial(t, "n")
	ctx := testCtx(t)
	call := func(method string, args ...any) bool {
		t.Helper()
		var own bool
		if err := c.CallInto(ctx, &own, method, args...); err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		return own
	}
	// A first slow call runs on the reader (nothing is known about it yet).
	if call("nap", slow) {
		t.Fatal("the first call of nap ran on its own goroutine")
	}
	for i := range 3 { // slow calls stay on their own goroutines
		if !call("nap", slow) {
			t.Fatalf("slow call %d after a slow one ran on the reader", i)
		}
	}
	if call("quick") {
		t.Fatal("quick ran on its own goroutine: another method's history")
	}
	inline := false
	for i := 0; i < 10*longCallStreak && !inline; i++ { // quick calls of nap: back on the reader
		inline = !call("nap", time.Duration(0))
	}
	if !inline {
		t.Fatalf("nap still ran on its own goroutine after %d quick calls", 10*longCallStreak)
	}
}

// spinTarget's Spin busies the reader for d without blocking.
type spinTarget struct{}

func (spinTarget) Spin(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}

// TestWatchdogBusyReader: a reader kept busy by back-to-back quick calls
// is looked at about twice per watchPeriod (a look, and a follow-up of the
// call it saw), not after every call: the watchdog used to follow each
// new call up within handoffDelay, a timer run (and a write) every few
// tens of microseconds for as long as the burst lasted.
func TestWatchdogBusyReader(t *testing.T) {
	ts := startServer(t, transports[0], map[string]any{"s": spinTarget{}}, ServerOptions{AllowParallel: true})
	c := ts.dial(t, "s")
	const busy = 300 * time.Millisecond
	before := watchdogRuns.Load()
	var wg sync.WaitGroup
	end := time.Now().Add(busy)
	for range 16 {
		wg.Go(func() {
			for time.Now().Before(end) {
				if err := c.CallInto(testCtx(t), nil, "spin", 10*time.Microsecond); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	runs := watchdogRuns.Load() - before
	t.Logf("%d watchdog runs in %v of back-to-back calls", runs, busy)
	if max := 3 * int64(busy/watchPeriod); runs > max { // two a period, and some slack
		t.Fatalf("%d watchdog runs in %v, want at most %d", runs, busy, max)
	}
}
