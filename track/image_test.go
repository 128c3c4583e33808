package track_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

// TestLogImage: each step's image is stored once by content and the
// series holds a file reference per step; the same image twice is one
// blob; bytes that are no image are an error of the run.
func TestLogImage(t *testing.T) {
	ts := startServer(t, "", "", server.Options{})
	ctx := ctxT(t, 60*time.Second)
	run, err := track.Start(ctx, track.Options{Addr: ts.addr, SpoolDir: t.TempDir(), NoSource: true, NoSysMetrics: true})
	if err != nil {
		t.Fatal(err)
	}
	var pngs [][]byte
	for step := range 3 {
		img := image.NewGray(image.Rect(0, 0, 4+step, 3))
		img.Set(step, 1, color.White)
		var buf bytes.Buffer
		png.Encode(&buf, img)
		pngs = append(pngs, buf.Bytes())
		if step == 1 {
			run.LogImage("field", buf.Bytes(), int64(step*10)) // bytes
		} else {
			run.LogImage("field", img, int64(step*10))
		}
	}
	run.LogImage("field", pngs[0], 40) // the same content again
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}
	rd, err := track.Open(ctx, ts.addr, track.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	s, err := rd.Series(ctx, run.ID(), "field", store.SeriesQuery{})
	if err != nil || len(s.Values) != 4 {
		t.Fatalf("series: %v %+v", err, s)
	}
	for i, v := range s.Values {
		m, _ := v.(map[string]any)
		want := pngs[i%3]
		sum := sha256.Sum256(want)
		if s.Step[i] != []int64{0, 10, 20, 40}[i] || m["sha256"] != hex.EncodeToString(sum[:]) || m["content_type"] != "image/png" ||
			m["width"] != int64(4+i%3) || m["height"] != int64(3) || m["size"] != int64(len(want)) {
			t.Fatalf("point %d at step %d: %v", i, s.Step[i], m)
		}
		var got bytes.Buffer
		if _, err := rd.Artifact(ctx, m["sha256"].(string), &got); err != nil || !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("image %d: %v (%d bytes)", i, err, got.Len())
		}
	}
	info, err := rd.GetRun(ctx, run.ID())
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Artifacts) != 0 {
		t.Fatalf("stepped images listed as artifacts: %+v", info.Artifacts)
	}

	bad, err := track.Start(ctx, track.Options{Addr: ts.addr, SpoolDir: t.TempDir(), NoSource: true, NoSysMetrics: true})
	if err != nil {
		t.Fatal(err)
	}
	bad.LogImage("x", []byte("GIF89a not a png"), 0)
	if err := bad.End(ctx, track.StatusFinished); err == nil || !strings.Contains(err.Error(), "not a PNG or JPEG") {
		t.Fatalf("End after a bad image: %v", err)
	}
}
