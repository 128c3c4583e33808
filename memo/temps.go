package memo

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// tempMaxAge: a ".tmp-*" file older than this is left over from a process
// killed while writing (a write takes seconds, not an hour).
const tempMaxAge = time.Hour

// removeOldTemps removes the leftover temporary files of dir.
func removeOldTemps(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, de := range ents {
		if !strings.HasPrefix(de.Name(), ".tmp-") {
			continue
		}
		if fi, err := de.Info(); err == nil && time.Since(fi.ModTime()) > tempMaxAge {
			os.Remove(filepath.Join(dir, de.Name()))
		}
	}
}
