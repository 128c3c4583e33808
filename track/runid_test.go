package track_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

// TestStartRefusesBadID: a run id that is not a plain name is refused
// by Start before it names a spool directory.
func TestStartRefusesBadID(t *testing.T) {
	base := t.TempDir()
	spool := filepath.Join(base, "spool")
	for _, id := range []string{"../escaped", "a/b", ".."} {
		run, err := track.Start(context.Background(), track.Options{ID: id, SpoolDir: spool, Addr: "127.0.0.1:1", NoMetadata: true})
		if err == nil {
			run.End(context.Background(), track.StatusFinished)
		}
		if !errors.Is(err, store.ErrBadRunID) {
			t.Errorf("Start with ID %q: %v", id, err)
		}
	}
	if _, err := os.Stat(filepath.Join(base, "escaped")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a spool directory outside SpoolDir: %v", err)
	}
}

// TestNewIDValid: NewID's ids pass store.CheckRunID.
func TestNewIDValid(t *testing.T) {
	for range 1000 {
		if id := track.NewID(); store.CheckRunID(id) != nil {
			t.Fatalf("%q: %v", id, store.CheckRunID(id))
		}
	}
}

// TestServerOnlyRecordsReported: a run that tags itself "job" or writes
// the metadata "job" (records only trackd's jobs write) hears so at End;
// its other records are stored.
func TestServerOnlyRecordsReported(t *testing.T) {
	ts := startServer(t, "", "", server.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := track.Start(ctx, track.Options{Addr: ts.addr, SpoolDir: t.TempDir(), NoMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	run.AddTag("job")
	run.AddMetadata("job", map[string]any{"state": "PENDING"})
	run.AddTag("mine")
	err = run.End(ctx, track.StatusFinished)
	t.Logf("End: %v", err)
	if err == nil || !strings.Contains(err.Error(), "only the server writes") {
		t.Errorf("End: %v", err)
	}
	r, err := ts.st.GetRun(ctx, run.ID())
	if err != nil || r.Metadata["job"] != nil || len(r.Tags) != 1 || r.Tags[0] != "mine" || r.Status != store.StatusFinished {
		t.Errorf("run %+v %v", r, err)
	}
}
