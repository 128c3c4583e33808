package rpc

import (
	"crypto/tls"
	"errors"
	"testing"
	"time"
)

func TestBestEffortClient(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr transport) {
		ln := listen(t)
		addr := ln.Addr().String()
		ln.Close() // nothing listens there yet

		var clientTLS *tls.Config
		if tr.client != nil {
			clientTLS = tr.client(t)
		}
		b := NewBestEffortClient(testCtx(t), addr, "lda", BestEffortOptions{
			ClientOptions: ClientOptions{TLS: clientTLS, HandshakeTimeout: 2 * time.Second},
			RetryInterval: 10 * time.Millisecond,
		})
		defer b.Close()

		// Down: every call fails at once, never with a silent nil.
		for i := 0; i < 3; i++ {
			if _, err := b.Call(testCtx(t), "add", 1, 2); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("call while down = %v", err)
			}
		}

		// Up: the client connects by itself.
		ts := startServerAt(t, addr, tr, map[string]any{"lda": newAttenuator()}, ServerOptions{})
		waitUntilServed(t, b)
		var r int
		if err := b.CallInto(testCtx(t), &r, "add", 2, 3); err != nil || r != 5 {
			t.Fatalf("CallInto = %v, %v", r, err)
		}
		// Remote errors are not outages.
		if _, err := b.Call(testCtx(t), "nope"); !errors.Is(err, ErrUnknownMethod) || errors.Is(err, ErrUnavailable) {
			t.Fatalf("unknown method = %v", err)
		}
		if _, err := b.Call(testCtx(t), "add", 1, 2); err != nil {
			t.Fatalf("call after a remote error = %v", err)
		}

		// Down again: the call that finds out, and the next ones, fail.
		ts.Close()
		if _, err := b.Call(testCtx(t), "add", 1, 2); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("call as the server goes = %v", err)
		}
		if err := b.CallInto(testCtx(t), &r, "add", 1, 2); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("call while down = %v", err)
		}

		// Back: it recovers by itself.
		startServerAt(t, addr, tr, map[string]any{"lda": newAttenuator()}, ServerOptions{})
		waitUntilServed(t, b)

		b.Close()
		if _, err := b.Call(testCtx(t), "add", 1, 2); !errors.Is(err, ErrClosed) {
			t.Fatalf("call after Close = %v", err)
		}
	})
}

// waitUntilServed polls until the best-effort client has reconnected.
func waitUntilServed(t *testing.T, b *BestEffortClient) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := b.Call(testCtx(t), "add", 1, 2)
		if err == nil {
			return
		}
		if !errors.Is(err, ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("not reconnected: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
