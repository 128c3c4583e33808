package main

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/logfwd"
	"github.com/sigoco/sigoco/syncstruct"
	"github.com/sigoco/sigoco/wire"
)

// The controller publishes its state on its own port, over TCP, WebSocket
// and SiPyCo's sync_struct, and every setting shows up in the replicas.
func TestControllerPublishesState(t *testing.T) {
	addr, _ := start(t)
	c := dial(t, addr, wire.TLSConfig{})
	for _, sub := range []struct {
		name, addr string
		protocol   syncstruct.Protocol
	}{
		{"tcp", addr, syncstruct.ProtocolNative},
		{"websocket", "ws://" + addr + "/sync", syncstruct.ProtocolNative},
		{"sipyco", addr, syncstruct.ProtocolSiPyCo},
	} {
		t.Run(sub.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := syncstruct.NewSubscriber(sub.addr, "state", syncstruct.SubscriberOptions{Protocol: sub.protocol})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.WaitSynced(ctx); err != nil {
				t.Fatal(err)
			}
			for _, db := range []float64{1, 2, 3} {
				if _, err := c.Call(ctx, "set_attenuation", db); err != nil {
					t.Fatal(err)
				}
			}
			for {
				var att any
				var last int
				s.Read(func(tree any) {
					m := tree.(map[string]any)
					att, last = m["attenuation"], len(m["last_settings"].([]any))
				})
				if att == 3.0 && last >= 3 {
					return
				}
				select {
				case <-ctx.Done():
					t.Fatalf("replica has attenuation %v and %d settings; want 3 and at least 3", att, last)
				case <-time.After(10 * time.Millisecond):
				}
			}
		})
	}
	// The list of last settings stays bounded.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range maxLastSettings + 5 {
		if _, err := c.Call(ctx, "set_attenuation", float64(i)); err != nil {
			t.Fatal(err)
		}
	}
	s, err := syncstruct.NewSubscriber(addr, "state", syncstruct.SubscriberOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	s.Read(func(tree any) {
		if n := len(tree.(map[string]any)["last_settings"].([]any)); n != maxLastSettings {
			t.Errorf("%d last settings, want %d", n, maxLastSettings)
		}
	})
}

// recordHandler collects the records a log server re-emits.
type recordHandler struct {
	mu   sync.Mutex
	recs []slog.Record
	got  chan struct{}
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordHandler) WithGroup(string) slog.Handler            { return h }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.recs = append(h.recs, r)
	h.mu.Unlock()
	select {
	case h.got <- struct{}{}:
	default:
	}
	return nil
}

// With --log-server the controller's INFO records reach the log server
// (no -v needed: -v/-q set what stderr shows),
// tagged with its source.
func TestControllerForwardsLogs(t *testing.T) {
	h := &recordHandler{got: make(chan struct{}, 1)}
	srv := logfwd.NewServer(h, logfwd.ServerOptions{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})

	addr, _ := start(t, "--log-server", ln.Addr().String())
	c := dial(t, addr, wire.TLSConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Call(ctx, "set_attenuation", 7.5); err != nil {
		t.Fatal(err)
	}
	for {
		h.mu.Lock()
		for _, r := range h.recs {
			attrs := map[string]string{}
			r.Attrs(func(a slog.Attr) bool {
				attrs[a.Key] = a.Value.String()
				return true
			})
			if r.Message == "attenuation set" && attrs["db"] == "7.5" && attrs[logfwd.SourceKey] == "controller_lda" {
				h.mu.Unlock()
				return
			}
		}
		n := len(h.recs)
		h.mu.Unlock()
		select {
		case <-h.got:
		case <-ctx.Done():
			t.Fatalf("no forwarded 'attenuation set' record among %d records", n)
		}
	}
}
