package track_test

import (
	"os"
	"strings"
	"testing"
)

// TestSourceSnapshotDocumented: the source snapshot, uploaded by default,
// is announced where users read (README, docs/tracking.md) with its off
// switch, not only in go doc.
func TestSourceSnapshotDocumented(t *testing.T) {
	for _, f := range []string{"../README.md", "../docs/tracking.md"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"source.tar.gz", "NoSource", "on by default"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s does not mention %q", f, want)
			}
		}
	}
}
