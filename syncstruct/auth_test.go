package syncstruct

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sigoco/sigoco/wire/auth"
)

// TestPublisherAuth: with PublisherOptions.Auth a subscriber is served
// only with a token the access file knows (native, over TCP and a Mux);
// a refused one is told so, and its error matches auth.ErrUnauthenticated.
func TestPublisherAuth(t *testing.T) {
	t.Setenv(auth.EnvToken, "")
	const tok = "viewer-token-0123456789"
	a, err := auth.Parse([]byte("token ann viewer " + tok))
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"tcp", "mux"} {
		t.Run(kind, func(t *testing.T) {
			n := mustNotifier(t, map[string]any{"x": int64(1)}, NotifierOptions{})
			p := NewPublisher(map[string]*Notifier{"s": n}, PublisherOptions{Auth: a})
			ep := serve(t, p, kind)
			good := subscribe(t, ep, "s", SubscriberOptions{Token: tok})
			waitSynced(t, good)
			for _, bad := range []string{"", "wrong-token-0123456789"} {
				s := subscribe(t, ep, "s", SubscriberOptions{Token: bad, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
				ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
				err := s.WaitSynced(ctx)
				cancel()
				if err == nil {
					t.Fatalf("token %q: synced", bad)
				}
				if _, last := s.State(); !errors.Is(last, auth.ErrUnauthenticated) {
					t.Fatalf("token %q: last error %v, want auth.ErrUnauthenticated", bad, last)
				}
			}
		})
	}
}
