package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track"
)

// TestBackupUnderLoad: `trackd backup` runs while a client keeps logging
// results and artifacts; a second trackd on the copy exports a run
// finished before the backup exactly as the first does, and holds a prefix
// of the live run's series. A second backup to the same DEST copies only
// the new blobs.
func TestBackupUnderLoad(t *testing.T) {
	port, data, dest := freePort(t), t.TempDir(), filepath.Join(t.TempDir(), "backup")
	addr := "127.0.0.1:" + port
	ctx := ctxT(t, 120*time.Second)
	d := startTrackd(t, port, data)

	done, err := track.Start(ctx, track.Options{Project: "backup", Name: "done", Addr: addr, SpoolDir: t.TempDir(), NoSource: true, NoMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	done.LogParam("omega", 1.5)
	for i := range 1000 {
		done.LogResult("x", float64(i), int64(i))
	}
	for i := range 3 {
		if err := done.LogArtifactReader(fmt.Sprintf("a%d.txt", i), strings.NewReader(strings.Repeat(fmt.Sprint(i), 10000))); err != nil {
			t.Fatal(err)
		}
	}
	if err := done.End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}

	live, err := track.Start(ctx, track.Options{Project: "backup", Name: "live", Addr: addr, SpoolDir: t.TempDir(), NoSource: true, NoMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	// calls numbers the live run's flushes as they begin, stored is the
	// number of the last one that returned (every point logged before it
	// began is stored): the test waits on it rather than for a while, so
	// that the copy holds some of the live run and trackd more of it.
	var calls, stored atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := int64(0); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			live.LogResult("y", float64(i), i)
			if i%200 == 0 {
				live.LogArtifactReader(fmt.Sprintf("live%d.txt", i), strings.NewReader(fmt.Sprint("live blob ", i)))
				n := calls.Add(1)
				if live.Flush(ctx) == nil {
					stored.Store(n)
				}
			}
		}
	}()
	// storedSince waits until a flush that began after now has returned.
	storedSince := func() {
		t.Helper()
		mark := calls.Load()
		for stored.Load() <= mark {
			if ctx.Err() != nil {
				t.Fatal("the live run stores nothing")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	storedSince() // the live run has points stored

	backup := func() string {
		out, err := exec.Command(trackdBin, "--data", data, "backup", dest).CombinedOutput()
		if err != nil {
			t.Fatalf("trackd backup: %v\n%s", err, out)
		}
		t.Logf("%s", out)
		return string(out)
	}
	backup()
	first := blobFiles(t, dest)
	if len(first) < 3 {
		t.Fatalf("backup holds %d blobs, want at least the 3 of the finished run", len(first))
	}
	storedSince() // new points (and a new blob) since the first backup
	backup()
	second := blobFiles(t, dest)
	for sha, fi := range first {
		if !os.SameFile(fi, second[sha]) {
			t.Errorf("blob %s copied again by the second backup", sha[:12])
		}
	}
	if len(second) <= len(first) {
		t.Logf("no new blob between the backups (%d)", len(first))
	}
	storedSince() // points stored after the second backup: trackd holds more than the copy
	close(stop)
	wg.Wait()
	if err := live.End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}

	port2 := freePort(t)
	addr2 := "127.0.0.1:" + port2
	d2 := startTrackd(t, port2, dest)
	export := func(addr, id string) []byte {
		out, err := exec.Command(trackdBin, "export", "--addr", addr, id).Output()
		if err != nil {
			t.Fatalf("trackd export --addr %s %s: %v\n%.500s", addr, id, err, out)
		}
		return out
	}
	if a, b := export(addr, done.ID()), export(addr2, done.ID()); string(a) != string(b) {
		t.Errorf("finished run differs in the backup:\nlive:   %.1000s\nbackup: %.1000s", a, b)
	}
	// The live run in the backup: a prefix of what the daemon holds now.
	full, part := seriesSteps(t, export(addr, live.ID()), "y"), seriesSteps(t, export(addr2, live.ID()), "y")
	if len(part) == 0 || len(part) >= len(full) {
		t.Fatalf("live run: %d points in the backup, %d in trackd; want a non-empty proper prefix", len(part), len(full))
	}
	for i := range part {
		if part[i] != full[i] {
			t.Fatalf("live run: backup point %d has step %v, trackd %v", i, part[i], full[i])
		}
	}
	// Every artifact the backup shows as uploaded has its content there.
	var run struct {
		Run struct {
			Artifacts []struct {
				Sha256  string `json:"sha256"`
				Present bool   `json:"present"`
			} `json:"artifacts"`
		} `json:"run"`
	}
	if err := json.Unmarshal(export(addr2, live.ID()), &run); err != nil {
		t.Fatal(err)
	}
	for _, a := range run.Run.Artifacts {
		if _, ok := second[a.Sha256]; a.Present && !ok {
			t.Errorf("backup shows artifact %s without its content", a.Sha256[:12])
		}
	}
	d2.stop(t)
	d.stop(t)
	// With trackd stopped, over a copy a trackd has run on: only the blobs
	// logged since are copied, and a fourth backup copies none.
	backup()
	for sha, fi := range second {
		if fi2, ok := blobFiles(t, dest)[sha]; !ok || !os.SameFile(fi, fi2) {
			t.Errorf("blob %s copied again by the third backup", sha[:12])
		}
	}
	if out := backup(); !strings.Contains(out, " 0 artifacts copied") {
		t.Errorf("fourth backup copied blobs again: %s", out)
	}
	if out, err := exec.Command(trackdBin, "--data", dest, "export", done.ID()).Output(); err != nil || !strings.Contains(string(out), `"omega": 1.5`) {
		t.Errorf("trackd export from the backup: %v\n%.500s", err, out)
	}
}

func blobFiles(t *testing.T, dir string) map[string]fs.FileInfo {
	t.Helper()
	m := map[string]fs.FileInfo{}
	err := filepath.WalkDir(filepath.Join(dir, "blobs"), func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !validBlobName(e.Name()) {
			return err
		}
		fi, err := os.Stat(p)
		m[e.Name()] = fi
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func seriesSteps(t *testing.T, export []byte, key string) []any {
	t.Helper()
	var doc struct {
		Series map[string]struct {
			Step []any `json:"step"`
		} `json:"series"`
	}
	if err := json.Unmarshal(export, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Series[key].Step
}
