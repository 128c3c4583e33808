package main

import (
	"testing"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/wire/auth"
)

// TestExposeGrant: an object a run exposes is callable by its owner and
// by the roles it grants (track.ExposeOptions.CallableBy), and by nobody
// else: another runner calls the object granted to runners but not the
// owner's own, a viewer calls only the one granted to viewers.
func TestExposeGrant(t *testing.T) {
	t.Setenv(auth.EnvToken, "")
	port := freePort(t)
	d := startTrackd(t, port, t.TempDir(), "--access", writeAccess(t, accessLines()...))
	defer d.stop(t)
	addr := "127.0.0.1:" + port
	ctx := ctxT(t, 60*time.Second)
	run, err := track.Start(ctx, track.Options{Project: "grant", Addr: addr, Token: runnerToken, SpoolDir: t.TempDir(), NoMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	defer run.End(ctx, track.StatusFinished)
	run.LogParam("p", 1)
	if err := run.Flush(ctx); err != nil { // the run is stored, and owned
		t.Fatal(err)
	}
	for name, role := range map[string]auth.Role{"own": auth.None, "team": auth.Runner, "open": auth.Viewer} {
		if err := run.ExposeWith(name, &echo{}, track.ExposeOptions{CallableBy: role}); err != nil {
			t.Fatal(err)
		}
	}
	dial := func(tok string) *rpc.Client {
		c, err := rpc.Dial(ctx, addr, "tracker", rpc.ClientOptions{Token: tok})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	rudi, rita, vera := dial(runnerToken), dial(ritaToken), dial(viewerToken)
	call := func(c *rpc.Client, name string) error {
		var res string
		err := c.CallInto(ctx, &res, "call_exposed", run.ID(), name, "echo", []any{"hi"}, map[string]any{})
		if err == nil && res != "hi" {
			t.Fatalf("%s answered %q", name, res)
		}
		return err
	}
	// Wait until the owner reaches all three objects.
	for _, name := range []string{"own", "team", "open"} {
		for deadline := time.Now().Add(20 * time.Second); call(rudi, name) != nil; {
			if time.Now().After(deadline) {
				t.Fatalf("the owner cannot call %q: %v", name, call(rudi, name))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, c := range []struct {
		who    string
		client *rpc.Client
		name   string
		ok     bool
	}{
		{"rita (runner)", rita, "own", false},
		{"rita (runner)", rita, "team", true},
		{"rita (runner)", rita, "open", true},
		{"vera (viewer)", vera, "own", false},
		{"vera (viewer)", vera, "team", false},
		{"vera (viewer)", vera, "open", true},
	} {
		err := call(c.client, c.name)
		if c.ok && err != nil {
			t.Errorf("%s calling %q: %v", c.who, c.name, err)
		}
		if !c.ok && err == nil {
			t.Errorf("%s called %q, which grants it nothing", c.who, c.name)
		}
	}
	// The dashboard's /api/call applies the same rule.
	if code := httpCall(t, addr, viewerToken, "call_exposed", run.ID(), "open", "echo", []any{"x"}, map[string]any{}); code != 200 {
		t.Errorf("viewer over HTTP calling the open object: %d", code)
	}
	if code := httpCall(t, addr, viewerToken, "call_exposed", run.ID(), "own", "echo", []any{"x"}, map[string]any{}); code != 403 {
		t.Errorf("viewer over HTTP calling the owner's object: %d, want 403", code)
	}
}
