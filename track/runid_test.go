package track_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sigoco/sigoco/track"
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
