package track_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

// TestStartWithParent: Options.Parent (or $SIGOCO_TRACK_PARENT) makes the
// run a child of an existing run, listed among its children; a parent
// that does not exist is refused by the server and Flush reports it (the
// run is made without one); an id that is no run id is refused by Start.
func TestStartWithParent(t *testing.T) {
	ts := startServer(t, "", "", server.Options{})
	ctx := ctxT(t, 60*time.Second)
	opts := func() track.Options {
		return track.Options{Project: "p", Addr: ts.addr, SpoolDir: t.TempDir(), NoMetadata: true}
	}
	parent, err := track.Start(ctx, opts())
	if err != nil {
		t.Fatal(err)
	}
	defer parent.End(ctx, track.StatusFinished)
	if err := parent.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	o := opts()
	o.Parent = parent.ID()
	child, err := track.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	child.LogParam("trial", 1)
	if err := child.End(ctx, track.StatusFinished); err != nil {
		t.Fatalf("a child of an existing run: %v", err)
	}
	t.Setenv(track.EnvParent, parent.ID())
	viaEnv, err := track.Start(ctx, opts())
	if err != nil {
		t.Fatal(err)
	}
	if err := viaEnv.End(ctx, track.StatusFinished); err != nil {
		t.Fatalf("a child by $%s: %v", track.EnvParent, err)
	}
	t.Setenv(track.EnvParent, "")
	for _, id := range []string{child.ID(), viaEnv.ID()} {
		r, err := ts.st.GetRun(ctx, id)
		if err != nil || r.Parent != parent.ID() {
			t.Fatalf("run %s: parent %q, %v", id, r.Parent, err)
		}
	}
	page, err := ts.st.ListRuns(ctx, store.RunFilter{Parent: parent.ID()})
	if err != nil || len(page.Runs) != 2 {
		t.Fatalf("children listed: %v %v", page, err)
	}

	o = opts()
	o.Parent = track.NewID() // no such run
	orphan, err := track.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	err = orphan.Flush(ctx)
	if err == nil || !strings.Contains(err.Error(), "parent") || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("a parent that does not exist: Flush = %v", err)
	}
	orphan.End(ctx, track.StatusFinished)
	if r, err := ts.st.GetRun(ctx, orphan.ID()); err != nil || r.Parent != "" {
		t.Errorf("the refused parent's run: %+v %v", r, err)
	}

	o = opts()
	o.Parent = "../x"
	if _, err := track.Start(ctx, o); err == nil || !strings.Contains(err.Error(), "Options.Parent") {
		t.Errorf("a bad parent id: Start = %v", err)
	}
}
