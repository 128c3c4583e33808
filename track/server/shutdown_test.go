package server_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track/server"
)

// TestShutdownServerSignal: over the wire, shutdown_server on a server
// nobody watches is refused as unsupported (nothing would stop); once the
// process watches ShutdownRequested, the call answers, the channel closes
// and ShutdownRequestedBy names the caller; a second call is a no-op.
func TestShutdownServerSignal(t *testing.T) {
	addr, srv := start(t, server.Options{})
	c := dial(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Call(ctx, "shutdown_server"); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("unwatched: %v, want errors.ErrUnsupported", err)
	}
	asked := srv.ShutdownRequested()
	select {
	case <-asked:
		t.Fatal("closed before any request")
	default:
	}
	for range 2 {
		if _, err := c.Call(ctx, "shutdown_server"); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-asked:
	case <-ctx.Done():
		t.Fatal("ShutdownRequested not closed")
	}
	if by := srv.ShutdownRequestedBy(); by == "" {
		t.Errorf("ShutdownRequestedBy is empty")
	}
}
