package track_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

// TestLogResultPath: a pointer to a file is a result value {"path": ABS},
// nothing uploaded; an artifact logged again under a result file's name
// keeps its result flag.
func TestLogResultPath(t *testing.T) {
	ts := startServer(t, "", "", server.Options{})
	ctx := ctxT(t, 30*time.Second)
	run, err := track.Start(ctx, track.Options{Addr: ts.addr, SpoolDir: t.TempDir(), NoSource: true, NoMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	big := filepath.Join(dir, "big.h5")
	run.LogResultPath("", big, 0) // need not exist
	f := filepath.Join(dir, "out.csv")
	os.WriteFile(f, []byte("a,b\n"), 0o644)
	run.LogResultFile("", f)
	if err := run.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(f, []byte("a,b\n1,2\n"), 0o644)
	run.LogArtifact(f) // the same name, again, not as a result
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}
	rd, err := track.Open(ctx, ts.addr, track.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	info, err := rd.GetRun(ctx, run.ID())
	if err != nil {
		t.Fatal(err)
	}
	v, _ := info.Latest["big.h5"].Value.(map[string]any)
	if v["path"] != big {
		t.Fatalf("big.h5: %#v", info.Latest["big.h5"])
	}
	if len(info.Artifacts) != 1 || info.Artifacts[0].Name != "out.csv" || !info.Artifacts[0].Result || info.Artifacts[0].Size != 8 {
		t.Fatalf("artifacts: %+v", info.Artifacts)
	}
}

// TestProjectPath: outside git, the snapshot holds the regular files
// under ProjectPath, hidden ones and links left out.
func TestProjectPath(t *testing.T) {
	ts := startServer(t, "", "", server.Options{})
	ctx := ctxT(t, 30*time.Second)
	proj := t.TempDir()
	os.MkdirAll(filepath.Join(proj, "sub"), 0o755)
	os.MkdirAll(filepath.Join(proj, ".cache"), 0o755)
	os.WriteFile(filepath.Join(proj, "main.go"), []byte("package main\n"), 0o644)
	os.WriteFile(filepath.Join(proj, "sub", "model.txt"), []byte("model"), 0o644)
	os.WriteFile(filepath.Join(proj, ".cache", "x"), []byte("hidden"), 0o644)
	os.Symlink(filepath.Join(proj, "main.go"), filepath.Join(proj, "link.go"))
	run, err := track.Start(ctx, track.Options{Addr: ts.addr, SpoolDir: t.TempDir(), ProjectPath: proj})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}
	rd, err := track.Open(ctx, ts.addr, track.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	info, err := rd.GetRun(ctx, run.ID())
	if err != nil {
		t.Fatal(err)
	}
	if info.Metadata["source.dir"] != proj || info.Metadata["source.from"] != "project_path" {
		t.Fatalf("metadata: %v %v", info.Metadata["source.dir"], info.Metadata["source.from"])
	}
	i := slices.IndexFunc(info.Artifacts, func(a store.Artifact) bool { return a.Name == "source.tar.gz" })
	if i < 0 {
		t.Fatalf("no source.tar.gz: %+v", info.Artifacts)
	}
	var buf bytes.Buffer
	if _, err := rd.Artifact(ctx, info.Artifacts[i].Sha256, &buf); err != nil {
		t.Fatal(err)
	}
	gz, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"main.go", "sub/model.txt"}) {
		t.Fatalf("snapshot: %v", names)
	}
}
