package logfwd

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/wire/auth"
)

// errCatcher keeps the errors logged as "err".
type errCatcher struct {
	mu   sync.Mutex
	errs []error
}

func (h *errCatcher) Enabled(context.Context, slog.Level) bool { return true }
func (h *errCatcher) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *errCatcher) WithGroup(string) slog.Handler            { return h }
func (h *errCatcher) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if e, ok := a.Value.Any().(error); ok && a.Key == "err" {
			h.mu.Lock()
			h.errs = append(h.errs, e)
			h.mu.Unlock()
		}
		return true
	})
	return nil
}

func (h *errCatcher) has(target error) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.errs {
		if errors.Is(e, target) {
			return true
		}
	}
	return false
}

// identityCatcher is a collector that also checks that every record
// arrives with the forwarder's identity in its context.
type identityCatcher struct {
	*collector
	want string
	bad  chan string
}

func (h identityCatcher) Handle(ctx context.Context, r slog.Record) error {
	if id, ok := auth.FromContext(ctx); !ok || id.Name != h.want {
		select {
		case h.bad <- id.Name:
		default:
		}
	}
	return h.collector.Handle(ctx, r)
}

// TestServerAuth: with ServerOptions.Auth a forwarder's records are
// handled only with a token the access file knows (native and SiPyCo's
// protocol do not matter to the forwarder: it speaks native here), the
// identity reaches the handler, and a refused forwarder learns why
// (auth.ErrUnauthenticated).
func TestServerAuth(t *testing.T) {
	t.Setenv(auth.EnvToken, "")
	const tok = "runner-token-0123456789"
	a, err := auth.Parse([]byte("token rudi runner " + tok))
	if err != nil {
		t.Fatal(err)
	}
	c := identityCatcher{newCollector(), "rudi", make(chan string, 1)}
	addr, _, _ := serve(t, c, transports[0], ServerOptions{Auth: a}, "")
	f := forward(t, addr, ForwarderOptions{Token: tok})
	slog.New(f).Info("hello")
	flush(t, f)
	c.wait(t, 1)
	select {
	case name := <-c.bad:
		t.Fatalf("record with identity %q", name)
	default:
	}
	for _, bad := range []string{"", "wrong-token-0123456789"} {
		logs := &errCatcher{}
		f := forward(t, addr, ForwarderOptions{Token: bad, Logger: slog.New(logs)})
		slog.New(f).Info("refused")
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		if err := f.Flush(ctx); err == nil {
			t.Fatalf("token %q: flushed", bad)
		}
		cancel()
		if !logs.has(auth.ErrUnauthenticated) {
			t.Fatalf("token %q: logged %v, want auth.ErrUnauthenticated", bad, logs.errs)
		}
	}
	if n := len(c.all()); n != 1 {
		t.Fatalf("%d records handled, want 1", n)
	}
}
