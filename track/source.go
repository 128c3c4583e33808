package track

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"
)

// DefaultMaxSourceBytes bounds the source snapshot (Options.MaxSourceBytes).
const DefaultMaxSourceBytes = 8 << 20

// moduleDir finds the directory of the main module when the program runs
// from its module tree: the working directory or a parent whose go.mod
// declares the main module's path.
func moduleDir() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Path == "" {
		return ""
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			sc := bufio.NewScanner(bytes.NewReader(b))
			for sc.Scan() {
				if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "module" {
					if strings.Trim(f[1], `"`) == bi.Main.Path {
						return dir
					}
					return ""
				}
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// testHookSourceFile, set by tests, runs before each file of the source
// snapshot is read: it stands in for a large tree on a slow machine.
var testHookSourceFile func(context.Context)

// snapshotSource records, in the background, a tar.gz of the main module's
// files tracked by git (SimplyPy keeps the main script's source) and, when
// the tree has changes, their diff. Files past maxBytes in total are left
// out (and listed in the metadata).
func (r *Run) snapshotSource(maxBytes int64) {
	dir := moduleDir()
	if dir == "" {
		return
	}
	r.srcDone = make(chan struct{})
	ctx, cancel := context.WithTimeout(r.ctx, 30*time.Second)
	r.srcCancel = cancel
	go func() {
		defer close(r.srcDone)
		defer cancel()
		out, err := exec.CommandContext(ctx, "git", "-C", dir, "ls-files", "-z").Output()
		if err != nil {
			return // not a git checkout, or no git
		}
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		var total int64
		skipped := 0
		for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
			if testHookSourceFile != nil {
				testHookSourceFile(ctx)
			}
			if ctx.Err() != nil {
				return // End gave up on the snapshot
			}
			if name == "" {
				continue
			}
			p := filepath.Join(dir, name)
			fi, err := os.Lstat(p)
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			if total+fi.Size() > maxBytes {
				skipped++
				continue
			}
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			total += int64(len(b))
			tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(name), Mode: int64(fi.Mode().Perm()), Size: int64(len(b)), ModTime: fi.ModTime()})
			tw.Write(b)
		}
		tw.Close()
		gz.Close()
		if ctx.Err() != nil {
			return
		}
		r.AddMetadata("source.dir", dir)
		r.AddMetadata("source.bytes", total)
		if skipped > 0 {
			r.AddMetadata("source.skipped_files", skipped)
		}
		r.LogArtifactReader("source.tar.gz", &buf)
		if diff, err := exec.CommandContext(ctx, "git", "-C", dir, "diff", "HEAD").Output(); err == nil && len(diff) > 0 && int64(len(diff)) <= maxBytes {
			r.LogArtifactReader("source.diff", bytes.NewReader(diff))
		}
	}()
}
