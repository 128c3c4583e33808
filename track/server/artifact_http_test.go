package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

// xssPage is the kind of file that ran script on the dashboard's origin
// (issue 22, stored XSS): served as a page of trackd, it could call
// /api/call with the dashboard's credentials.
const xssPage = `<!doctype html><script>fetch("/api/call",{method:"POST",headers:{"Content-Type":"application/json"},body:JSON.stringify({method:"delete_run",args:["victim"]})})</script>`

// noKeepAlive leaves no idle connection (nor goroutine) behind.
var noKeepAlive = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}

func upload(t *testing.T, addr string, data []byte) string {
	t.Helper()
	c := dial(t, addr)
	ctx := ctxT(t)
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	var n int64
	if err := c.CallInto(ctx, &n, "write_blob", sha, int64(0), data); err != nil {
		t.Fatal(err)
	}
	if err := c.CallInto(ctx, &n, "commit_blob", sha); err != nil {
		t.Fatal(err)
	}
	return sha
}

// TestArtifactNotActive: an uploaded HTML (or SVG) artifact is served so
// that no browser runs it as a page of trackd's origin — nosniff, the
// sandbox CSP, an attachment, a Content-Type never sniffed — by every
// route that serves artifacts; text, CSV and raster images stay viewable
// inline for previews, still sandboxed.
func TestArtifactNotActive(t *testing.T) {
	addr, _ := start(t, server.Options{})
	html := upload(t, addr, []byte(xssPage))
	svg := upload(t, addr, []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`))
	txt := upload(t, addr, []byte("plain text, or so it says <script>alert(1)</script>"))
	png := upload(t, addr, []byte("\x89PNG\r\n\x1a\n not really"))

	c := dial(t, addr)
	ctx := ctxT(t)
	b := startRecords("r1")
	art := func(seq int64, name, sha, ctype string) store.Record {
		return store.Record{Seq: seq, Kind: store.KindArtifact, Key: name, Time: time.Now().UnixNano(),
			Value: map[string]any{"sha256": sha, "size": int64(1), "content_type": ctype}}
	}
	b.Records = append(b.Records, art(3, "page.html", html, "text/html"), art(4, "pic.svg", svg, "image/svg+xml"),
		art(5, "notes", txt, "text/plain; charset=utf-7"), art(6, "img.png", png, "image/png"), art(7, "odd", html, ""))
	if _, err := logBatch(ctx, c, b); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		path   string
		ctype  string // want, exactly
		inline bool
	}{
		{"/artifacts/" + html + "?name=x.html", "text/html", false},
		{"/artifacts/" + html, "application/octet-stream", false}, // was sniffed as text/html
		{"/artifacts/" + html + "?name=x.svg", "image/svg+xml", false},
		{"/artifacts/" + html + "?name=x.txt", "text/plain; charset=utf-8", true}, // shown as text, not run
		{"/runs/r1/artifacts/page.html", "text/html", false},
		{"/runs/r1/artifacts/pic.svg", "image/svg+xml", false},
		{"/runs/r1/artifacts/odd", "application/octet-stream", false},
		{"/runs/r1/artifacts/notes", "text/plain; charset=utf-8", true},
		{"/runs/r1/artifacts/img.png", "image/png", true},
		{"/artifacts/" + png + "?name=a.png", "image/png", true},
	} {
		t.Run(tc.path, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+tc.path, nil)
			resp, err := noKeepAlive.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			h := resp.Header
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := h.Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
			if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", got)
			}
			csp := h.Get("Content-Security-Policy")
			if !strings.HasPrefix(csp, "sandbox") || !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("Content-Security-Policy %q, want a sandbox with default-src 'none'", csp)
			}
			disp := h.Get("Content-Disposition")
			if tc.inline != strings.HasPrefix(disp, "inline") || !tc.inline && !strings.HasPrefix(disp, "attachment") {
				t.Errorf("Content-Disposition %q, inline %v", disp, tc.inline)
			}
		})
	}
}
