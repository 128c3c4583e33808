package track

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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

// snapshotSource records, in the background, a tar.gz of the project's
// source (SimplyPy keeps the main script's source) and, in a git checkout
// with changes, their diff. The project is Options.ProjectPath, else the
// main module's tree, else the directory of the main package's files
// (found from main.main's frame; only its .go files, go.mod and go.sum).
// In a git checkout the files git tracks are taken; elsewhere every regular
// file under the directory (hidden ones and links left out). Files past
// maxBytes in total are left out (and counted in the metadata).
func (r *Run) snapshotSource(maxBytes int64) {
	dir, how := r.sourceDir()
	if dir == "" {
		return
	}
	r.srcDone = make(chan struct{})
	ctx, cancel := context.WithTimeout(r.ctx, 30*time.Second)
	r.srcCancel = cancel
	go func() {
		defer close(r.srcDone)
		defer cancel()
		names, git := sourceFiles(ctx, dir, how)
		if len(names) == 0 || (len(names) == 1 && names[0] == "") {
			return
		}
		buf, total, skipped := tarFiles(ctx, dir, names, maxBytes)
		if ctx.Err() != nil {
			return // End gave up on the snapshot
		}
		r.AddMetadata("source.dir", dir)
		r.AddMetadata("source.from", how)
		r.AddMetadata("source.bytes", total)
		if skipped > 0 {
			r.AddMetadata("source.skipped_files", skipped)
		}
		r.LogArtifactReader("source.tar.gz", buf)
		if !git {
			return
		}
		if diff, err := exec.CommandContext(ctx, "git", "-C", dir, "diff", "HEAD").Output(); err == nil && len(diff) > 0 && int64(len(diff)) <= maxBytes {
			r.LogArtifactReader("source.diff", bytes.NewReader(diff))
		}
	}()
}

// sourceDir is the project's directory (absolute when it can be) and how
// it was found; "" when none was.
func (r *Run) sourceDir() (dir, how string) {
	dir, how = r.opts.ProjectPath, "project_path"
	if dir == "" {
		dir, how = moduleDir(), "module"
	}
	if dir == "" {
		dir, how = mainPackageDir(), "main package"
	}
	if dir == "" {
		return "", ""
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return dir, how
}

// sourceFiles lists the files of the snapshot, relative to dir: the ones
// git tracks (git: true), else the main package's or every regular file
// under dir.
func sourceFiles(ctx context.Context, dir, how string) (names []string, git bool) {
	if out, err := exec.CommandContext(ctx, "git", "-C", dir, "ls-files", "-z").Output(); err == nil {
		return strings.Split(strings.TrimRight(string(out), "\x00"), "\x00"), true
	}
	if how == "main package" {
		return mainPackageFiles(dir), false
	}
	return walkFiles(ctx, dir), false
}

// tarFiles is a tar.gz of the regular files names under dir, up to
// maxBytes of contents in total: total is their size, skipped counts the
// files left out past it. It stops early when ctx ends.
func tarFiles(ctx context.Context, dir string, names []string, maxBytes int64) (_ *bytes.Buffer, total int64, skipped int) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, name := range names {
		if testHookSourceFile != nil {
			testHookSourceFile(ctx)
		}
		if ctx.Err() != nil {
			break
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
	return &buf, total, skipped
}

// maxWalkFiles bounds the files a snapshot outside git considers.
const maxWalkFiles = 10_000

// walkFiles lists the regular files under dir (relative, slash-separated
// order of WalkDir), leaving out hidden files and directories and links.
func walkFiles(ctx context.Context, dir string) []string {
	var names []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || ctx.Err() != nil {
			return filepath.SkipDir
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if rel, err := filepath.Rel(dir, p); err == nil {
			names = append(names, rel)
		}
		if len(names) >= maxWalkFiles {
			return filepath.SkipAll
		}
		return nil
	})
	return names
}

// mainPackageDir is the directory of the main package's source files, as
// main.main's frame on the calling goroutine's stack records it, or ""
// (not called from main's goroutine, a build with -trimpath, a test).
func mainPackageDir() string {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(2, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if f.Function == "main.main" && filepath.IsAbs(f.File) {
			return filepath.Dir(f.File)
		}
		if !more {
			return ""
		}
	}
}

// mainPackageFiles lists the main package's own files in dir: its .go
// files, go.mod and go.sum.
func mainPackageFiles(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if e.Type().IsRegular() && (strings.HasSuffix(n, ".go") || n == "go.mod" || n == "go.sum") {
			names = append(names, n)
		}
	}
	return names
}
