package server_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/sqlite"
)

// The memo target's behaviour is tested with its client, in package memo
// (track_test.go); here: its wiring.

// withMemo adds the memo target, as trackd does.
func withMemo(t *testing.T) func(*server.Server) {
	return func(s *server.Server) {
		m, err := server.NewMemo(s, server.MemoOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AddTarget(server.MemoTargetName, m); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAddTargets: targets added before Serve are served beside the
// tracker; a name taken is refused.
func TestAddTargets(t *testing.T) {
	addr, _ := startWith(t, server.Options{}, func(s *server.Server) {
		withMemo(t)(s)
		if err := s.AddTarget("other", pinger{}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddTarget(server.TargetName, pinger{}); err == nil {
			t.Error("a second tracker target")
		}
	})
	ctx := ctxT(t)
	c, err := rpc.Dial(ctx, addr, server.MemoTargetName, rpc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, want := range []string{server.TargetName, server.MemoTargetName, "other"} {
		if !slices.Contains(c.Targets(), want) {
			t.Fatalf("targets %v lack %q", c.Targets(), want)
		}
	}
	var ok bool
	if err := c.CallInto(ctx, &ok, "exists", store.MemoKey{Project: "p", Name: "m", Params: "1"}); err != nil || ok {
		t.Fatalf("exists: %v %v", ok, err)
	}
}

type pinger struct{}

func (pinger) Ping() string { return "pong" }

// noMemo is a store without memo entries.
type noMemo struct{ store.Store }

func TestMemoNeedsMemoStore(t *testing.T) {
	st, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := server.New(context.Background(), noMemo{st}, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	_, err = server.NewMemo(srv, server.MemoOptions{})
	if err == nil || !strings.Contains(err.Error(), "keeps no memo entries") {
		t.Fatalf("got %v", err)
	}
}
