package rpc

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestSerialisedByDefault(t *testing.T) {
	forEachTransportMux(t, func(t *testing.T, tr transport) {
		a := newAttenuator()
		ts := startServer(t, tr, map[string]any{"lda": a}, ServerOptions{})
		release := releaseOnCleanup(t, a.release) // a failing assertion must not leave it blocked
		c1, c2 := ts.dial(t, "lda"), ts.dial(t, "lda")
		ctx := testCtx(t)
		var wg sync.WaitGroup
		results := make(chan string, 2)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, _ := c1.Call(ctx, "hold", "first")
			results <- r.(string)
		}()
		if got := <-a.started; got != "first" {
			t.Fatalf("started %q", got)
		}
		// A second call on another connection, and a call with a context
		// (which runs on its own goroutine), must wait for the first.
		wg.Add(2)
		go func() {
			defer wg.Done()
			r, _ := c2.Call(ctx, "hold", "second")
			results <- r.(string)
		}()
		go func() {
			defer wg.Done()
			c2.Call(ctx, "wait", "third")
		}()
		time.Sleep(50 * time.Millisecond) // give them a chance to run, wrongly
		select {
		case tag := <-a.started:
			t.Fatalf("%q started while %q held the target", tag, "first")
		default:
		}
		release()
		wg.Wait()
		<-a.started
		<-a.started
	})
}

func TestParallelAndOutOfOrder(t *testing.T) {
	forEachTransportMux(t, func(t *testing.T, tr transport) {
		a := newAttenuator()
		ts := startServer(t, tr, map[string]any{"lda": a}, ServerOptions{AllowParallel: true})
		release := releaseOnCleanup(t, a.release) // a failing assertion must not leave it blocked
		c := ts.dial(t, "lda")
		ctxA, cancelA := context.WithCancel(testCtx(t))
		defer cancelA()
		errA := make(chan error, 1)
		go func() {
			_, err := c.Call(ctxA, "block", "a")
			errA <- err
		}()
		<-a.started
		// Hold (no context) runs concurrently on the same connection, and its
		// reply overtakes the call to block that is still running.
		done := make(chan error, 1)
		go func() {
			_, err := c.Call(testCtx(t), "hold", "b")
			done <- err
		}()
		if got := <-a.started; got != "b" {
			t.Fatalf("started %q", got)
		}
		release()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-errA:
			t.Fatalf("block returned early: %v", err)
		default:
		}
		cancelA()
		if err := <-errA; !errors.Is(err, context.Canceled) {
			t.Fatalf("block: %v", err)
		}
		if err := <-a.ended; !errors.Is(err, context.Canceled) {
			t.Fatalf("server ctx: %v", err)
		}
	})
}

func TestConcurrentCalls(t *testing.T) {
	forEachTransportMux(t, func(t *testing.T, tr transport) {
		for _, parallel := range []bool{false, true} {
			ts := startServer(t, tr, map[string]any{"lda": newAttenuator()}, ServerOptions{AllowParallel: parallel})
			c := ts.dial(t, "lda")
			var wg sync.WaitGroup
			errs := make(chan error, 32)
			for g := 0; g < 32; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 50; i++ {
						var r int
						if err := c.CallInto(testCtx(t), &r, "add", g, i); err != nil || r != g+i {
							errs <- errors.Join(err, errors.New("wrong sum"))
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
		}
	})
}

func TestCancelAndDeadline(t *testing.T) {
	forEachTransportMux(t, func(t *testing.T, tr transport) {
		a := newAttenuator()
		ts := startServer(t, tr, map[string]any{"lda": a}, ServerOptions{})
		c := ts.dial(t, "lda")

		// Cancelled while running: the caller returns, the method's ctx ends.
		ctx, cancel := context.WithCancel(testCtx(t))
		errc := make(chan error, 1)
		go func() {
			_, err := c.Call(ctx, "block", "x")
			errc <- err
		}()
		<-a.started
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("Call = %v, want context.Canceled", err)
		}
		if err := <-a.ended; !errors.Is(err, context.Canceled) {
			t.Fatalf("method ctx = %v", err)
		}

		// A deadline returns DeadlineExceeded and cancels the method.
		dctx, dcancel := context.WithTimeout(testCtx(t), 50*time.Millisecond)
		defer dcancel()
		if _, err := c.Call(dctx, "block", "y"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Call = %v, want DeadlineExceeded", err)
		}
		<-a.started
		if err := <-a.ended; err == nil {
			t.Fatal("method ctx not ended")
		}

		// The deadline travels with the call.
		rctx, rcancel := context.WithTimeout(testCtx(t), 5*time.Second)
		defer rcancel()
		var left float64
		if err := c.CallInto(rctx, &left, "remaining"); err != nil || left <= 0 || left > 5 {
			t.Fatalf("remaining = %v, %v", left, err)
		}
		if err := c.CallInto(context.Background(), &left, "remaining"); err != nil || left != -1 {
			t.Fatalf("remaining without deadline = %v, %v", left, err)
		}

		// Already done contexts return at once; the connection is fine.
		if _, err := c.Call(ctx, "add", 1, 2); !errors.Is(err, context.Canceled) {
			t.Fatalf("Call with cancelled ctx = %v", err)
		}
		if got, err := c.Call(testCtx(t), "add", 1, 2); err != nil || got != int64(3) {
			t.Fatalf("add after cancel = %v, %v", got, err)
		}
	})
}

// A caller reading its own reply (alone in flight) is interrupted by its
// context while other calls keep going on the same connection.
func TestCancelLeaderHandsOver(t *testing.T) {
	forEachTransportMux(t, func(t *testing.T, tr transport) {
		a := newAttenuator()
		ts := startServer(t, tr, map[string]any{"lda": a}, ServerOptions{AllowParallel: true})
		release := releaseOnCleanup(t, a.release) // a failing assertion must not leave it blocked
		c := ts.dial(t, "lda")
		ctx, cancel := context.WithCancel(testCtx(t))
		errc := make(chan error, 1)
		go func() {
			_, err := c.Call(ctx, "block", "leader") // alone: reads for itself
			errc <- err
		}()
		<-a.started
		res := make(chan any, 1)
		go func() {
			r, err := c.Call(testCtx(t), "wait", "follower")
			if err != nil {
				r = err
			}
			res <- r
		}()
		<-a.started
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("leader = %v", err)
		}
		release()
		if r := <-res; r != "follower" {
			t.Fatalf("follower = %v", r)
		}
		<-a.ended
	})
}

func TestDisconnectCancelsCalls(t *testing.T) {
	forEachTransportMux(t, func(t *testing.T, tr transport) {
		a := newAttenuator()
		ts := startServer(t, tr, map[string]any{"lda": a}, ServerOptions{})
		c, err := Dial(testCtx(t), ts.addr, "lda", ts.clientOpts(t))
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() {
			_, err := c.Call(testCtx(t), "block", "x")
			errc <- err
		}()
		<-a.started
		c.Close()
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Fatalf("call in flight = %v, want ErrClosed", err)
		}
		if err := <-a.ended; !errors.Is(err, context.Canceled) {
			t.Fatalf("method ctx = %v", err)
		}
		if _, err := c.Call(testCtx(t), "add", 1, 2); !errors.Is(err, ErrClosed) {
			t.Fatalf("call after Close = %v", err)
		}
	})
}

func TestConnectionLost(t *testing.T) {
	forEachTransportMux(t, func(t *testing.T, tr transport) {
		a := newAttenuator()
		ts := startServer(t, tr, map[string]any{"lda": a}, ServerOptions{})
		c := ts.dial(t, "lda")
		errs := make(chan error, 2)
		for _, tag := range []string{"a", "b"} {
			go func() {
				_, err := c.Call(testCtx(t), "block", tag)
				errs <- err
			}()
		}
		<-a.started // one runs, the other waits for the target
		ts.Close()
		for i := 0; i < 2; i++ {
			err := <-errs
			var re *RemoteError
			if !errors.Is(err, ErrClosed) || errors.As(err, &re) {
				t.Fatalf("call in flight = %v, want a transport error wrapping ErrClosed", err)
			}
		}
		if _, err := c.Call(testCtx(t), "add", 1, 2); !errors.Is(err, ErrClosed) {
			t.Fatalf("later call = %v", err)
		}
	})
}
