package rpc

import (
	"context"
	"errors"
	"github.com/sigoco/sigoco/wire"
	"github.com/vmihailenco/msgpack/v5"
	"testing"
	"time"
)

// stallTarget's Stall, run on the server's reader goroutine (no context,
// serialised), stops the server reading until release is closed.
type stallTarget struct {
	started chan struct{}
	release chan struct{}
}

func (s *stallTarget) Stall() {
	close(s.started)
	<-s.release
}

func (s *stallTarget) Echo(b []byte) int { return len(b) }

// TestCancelWhileWriteBlocked: a call whose request cannot be written (the
// server stopped reading and the socket buffers are full) returns when its
// context ends, instead of blocking in the write.
func TestCancelWhileWriteBlocked(t *testing.T) {
	forEachTransportMux(t, func(t *testing.T, tr transport) {
		st := &stallTarget{started: make(chan struct{}), release: make(chan struct{})}
		ts := startServer(t, tr, map[string]any{"s": st}, ServerOptions{})
		c := ts.dial(t, "s")
		stalled := make(chan error, 1)
		go func() { stalled <- c.CallInto(context.Background(), nil, "stall") }()
		t.Cleanup(func() {
			close(st.release)
			<-stalled
		})
		<-st.started

		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- c.CallInto(ctx, nil, "echo", make([]byte, 48<<20)) }()
		select {
		case err := <-done:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("got %v, want context.DeadlineExceeded", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the call did not return when its context ended: blocked in the write")
		}
	})
}

// TestReplyNotHeldBySlowerCall: the reply to a quick call goes out while a
// slow call sent right behind it (in the same write) is still running, on
// the reader goroutine: for a serialised target (flushBehind's timer) and
// in parallel mode (the watchdog of serverhandoff.go).
func TestReplyNotHeldBySlowerCall(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts ServerOptions
	}{{"serialised", ServerOptions{}}, {"parallel", ServerOptions{AllowParallel: true}}} {
		t.Run(mode.name, func(t *testing.T) {
			forEachTransportMux(t, func(t *testing.T, tr transport) {
				st := &stallTarget{started: make(chan struct{}), release: make(chan struct{})}
				ts := startServer(t, tr, map[string]any{"s": st}, mode.opts)
				rc := ts.raw(t)
				rc.handshake("s")
				t.Cleanup(func() { close(st.release) })
				var burst []byte
				burst = wire.AppendFrame(burst, mustPayload(t, []any{"call", 1, "echo", []any{[]byte("x")}}))
				burst = wire.AppendFrame(burst, mustPayload(t, []any{"call", 2, "stall", []any{}}))
				if _, err := rc.Write(burst); err != nil {
					t.Fatal(err)
				}
				<-st.started
				rc.SetReadDeadline(time.Now().Add(5 * time.Second))
				frame, err := readFrame(rc.r, 0)
				if err != nil {
					t.Fatalf("no reply to call 1 while call 2 runs: %v", err)
				}
				var m []any
				if err := msgpack.Unmarshal(frame, &m); err != nil || len(m) < 3 || m[0] != "result" || toInt(m[1]) != 1 {
					t.Fatalf("got %v (%v), want the result of call 1", m, err)
				}
			})
		})
	}
}
