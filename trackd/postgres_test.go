package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/postgres/pgtest"
)

// TestPostgresStore: two trackd nodes started together on one PostgreSQL
// database (--store) migrate it once; a run reported to node A is read,
// complete, from node B, and `trackd export --store` reads it from the
// database.
func TestPostgresStore(t *testing.T) {
	u := pgtest.Database(t)
	portA, portB := freePort(t), freePort(t)
	var a, b *daemon
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a = startTrackd(t, portA, t.TempDir(), "--store", u) }()
	go func() { defer wg.Done(); b = startTrackd(t, portB, t.TempDir(), "--store", u) }()
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	ctx := ctxT(t, 60*time.Second)
	run, err := track.Start(ctx, track.Options{Project: "pg", Addr: "127.0.0.1:" + portA, SpoolDir: t.TempDir(), NoSource: true, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	run.LogParam("omega", 1.5)
	const n = 20_000
	for i := range n {
		run.LogResult("x", float64(i), int64(i))
	}
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatalf("%v; stats %+v", err, run.Stats())
	}
	rd, err := track.Open(ctx, "127.0.0.1:"+portB, track.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	s, err := rd.Series(ctx, run.ID(), "x", store.SeriesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Value) != n {
		t.Fatalf("node B reads %d results, want %d", len(s.Value), n)
	}
	for i, v := range s.Value {
		if v != float64(i) {
			t.Fatalf("result %d is %g", i, v)
		}
	}
	rd.Close()
	a.stop(t)
	b.stop(t)
	out, err := exec.Command(trackdBin, "--store", u, "export", run.ID()).Output()
	if err != nil || !strings.Contains(string(out), `"omega": 1.5`) || !strings.Contains(string(out), `"status": "finished"`) {
		t.Fatalf("trackd export --store: %v\n%.500s", err, out)
	}
}

// TestStoreFlagRefused: a --store that is neither sqlite nor a PostgreSQL
// URL is bad usage (exit 2), and the message does not repeat what follows
// the scheme (it may hold a password).
func TestStoreFlagRefused(t *testing.T) {
	cmd := exec.Command(trackdBin, "--store", "mysql://u:secret@db/x", "export", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 2 || strings.Contains(string(out), "secret") || !strings.Contains(string(out), "--store") {
		t.Fatalf("trackd --store mysql://…: %v\n%s", err, out)
	}
}

// TestPostgresArtifactsInDatabase: with --artifacts postgres two nodes
// with data directories of their own share artifact contents: a file
// uploaded through node A (several chunks) is read whole through node B.
func TestPostgresArtifactsInDatabase(t *testing.T) {
	u := pgtest.Database(t)
	portA, portB := freePort(t), freePort(t)
	dataA, dataB := t.TempDir(), t.TempDir()
	a := startTrackd(t, portA, dataA, "--store", u, "--artifacts", "postgres")
	b := startTrackd(t, portB, dataB, "--store", u, "--artifacts", "postgres")
	ctx := ctxT(t, 60*time.Second)
	run, err := track.Start(ctx, track.Options{Project: "pg", Addr: "127.0.0.1:" + portA, SpoolDir: t.TempDir(), NoSource: true, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	content := make([]byte, 2*track.BlobChunk+12345)
	for i := range content {
		content[i] = byte(i*7 + i/1000)
	}
	if err := run.LogArtifactReader("big.bin", bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatalf("%v; stats %+v", err, run.Stats())
	}
	rd, err := track.Open(ctx, "127.0.0.1:"+portB, track.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	info, err := rd.GetRun(ctx, run.ID())
	if err != nil || len(info.Artifacts) != 1 {
		t.Fatalf("run on B: %+v, %v", info, err)
	}
	var got bytes.Buffer
	if n, err := rd.Artifact(ctx, info.Artifacts[0].Sha256, &got); err != nil || n != int64(len(content)) || !bytes.Equal(got.Bytes(), content) {
		t.Fatalf("artifact through B: %d bytes, %v; equal %v", n, err, bytes.Equal(got.Bytes(), content))
	}
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var size int64
	if err := conn.QueryRow(ctx, `SELECT size FROM blobs WHERE sha256 = $1`, info.Artifacts[0].Sha256).Scan(&size); err != nil || size != int64(len(content)) {
		t.Fatalf("blobs row in the database: %d, %v", size, err)
	}
	for _, d := range []string{dataA, dataB} {
		if _, err := os.Stat(filepath.Join(d, "artifacts")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s/artifacts: %v, want none (contents are in the database)", d, err)
		}
	}
	rd.Close()
	a.stop(t)
	b.stop(t)
}
