package rpc

import (
	"context"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingConn counts the Write calls made on a connection.
type countingConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// TestConcurrentCallsShareWrites: callers that a batch of replies wakes
// together send their next calls in shared writes (writer.sendCtx's
// yield), not one system call each. On one P the schedule is the same
// every run: without the yield, every call is a write of its own.
func TestConcurrentCallsShareWrites(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	ts := startServer(t, transports[0], map[string]any{"bench": benchTarget{}}, ServerOptions{AllowParallel: true})
	raw, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	conn := &countingConn{Conn: raw}
	c, err := NewClientConn(testCtx(t), conn, "bench", ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const callers, each = 16, 50
	before := conn.writes.Load()
	callTogether(t, c, "add", callers, each)
	writes := conn.writes.Load() - before
	t.Logf("%d calls in %d writes", callers*each, writes)
	if writes > callers*each/4 {
		t.Errorf("%d calls from %d goroutines took %d writes; want at most a quarter as many", callers*each, callers, writes)
	}
}

// TestConcurrentRepliesShareWrites: the replies of calls that run on
// their own goroutines (a method with a context) share writes too, while
// other such calls run (serverConn.send's yield). On one P, without the
// yield, every reply is a write of its own.
func TestConcurrentRepliesShareWrites(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	srv, err := NewServer(map[string]any{"bench": benchTarget{}}, ServerOptions{AllowParallel: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := &countingConn{}
	done := make(chan error, 1)
	go func() {
		raw, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		served.Conn = raw
		done <- srv.ServeConn(context.Background(), served)
	}()
	c, err := Dial(testCtx(t), ln.Addr().String(), "bench", ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const callers, each = 16, 50
	before := served.writes.Load()
	callTogether(t, c, "add_ctx", callers, each)
	writes := served.writes.Load() - before
	c.Close()
	<-done
	t.Logf("%d replies in %d writes", callers*each, writes)
	if writes > callers*each/2 {
		t.Errorf("%d replies to %d goroutines took %d writes; want at most half as many", callers*each, callers, writes)
	}
}

// callTogether makes each of callers goroutines call method(1, 2) each
// times on c, and waits for them.
func callTogether(t *testing.T, c *Client, method string, callers, each int) {
	t.Helper()
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for range each {
				var r int
				if err := c.CallInto(testCtx(t), &r, method, 1, 2); err != nil || r != 3 {
					t.Errorf("%s: %d, %v", method, r, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// sleepTarget's Sleep takes d: a type of its own, as what a method's calls
// took is remembered per method (napTarget's belong to its tests).
type sleepTarget struct{}

func (sleepTarget) Sleep(d time.Duration) { time.Sleep(d) }

// TestWokenCountsBalance: the client's count of woken callers (which
// decides whether a caller yields) returns to zero whatever way its calls
// end: replies, contexts that end while the server naps, a lost
// connection. A count left above zero would make every later call yield.
func TestWokenCountsBalance(t *testing.T) {
	ts := startServer(t, transports[0], map[string]any{"s": sleepTarget{}}, ServerOptions{AllowParallel: true})
	c := ts.dial(t, "s")
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(testCtx(t), time.Duration(i%4)*time.Millisecond)
			defer cancel()
			c.CallInto(ctx, nil, "sleep", time.Duration(i%3)*time.Millisecond) // some end by their context
		})
	}
	wg.Wait()
	if n := c.woken.Load(); n != 0 {
		t.Fatalf("after replies and ended contexts: woken %d, want 0", n)
	}
	for range 16 {
		wg.Go(func() {
			c.CallInto(testCtx(t), nil, "sleep", 200*time.Millisecond) // fails with the connection
		})
	}
	time.Sleep(50 * time.Millisecond) // the calls are sent
	ts.Server.Close()
	wg.Wait()
	if n := c.woken.Load(); n != 0 {
		t.Fatalf("after a lost connection: woken %d, want 0", n)
	}
}
