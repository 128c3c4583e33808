package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"

	"github.com/sigoco/sigoco/syncstruct"
	"github.com/sigoco/sigoco/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// publisher stands in for examples/sigoco-controller: the notifier "state" on one
// port through a wire.Mux, WebSocket at /sync, accepting the page's origin.
func publisher(t *testing.T, origin string) (*syncstruct.Notifier, string) {
	t.Helper()
	state, err := syncstruct.NewNotifier(map[string]any{"attenuation": 5.5, "last_settings": []any{}}, syncstruct.NotifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pub := syncstruct.NewPublisher(map[string]*syncstruct.Notifier{"state": state}, syncstruct.PublisherOptions{
		CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == origin },
	})
	mux := wire.NewMux(wire.MuxOptions{})
	hm := http.NewServeMux()
	hm.Handle("/sync", pub)
	mux.HandleHTTP(hm)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		mux.Serve(context.Background(), ln)
	}()
	t.Cleanup(func() {
		pub.Close()
		mux.Close()
		<-done
	})
	return state, ln.Addr().String()
}

// chromium finds the browser; outside CI a missing one skips the test.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH (CI installs Debian's chromium)")
	}
	t.Skip("no chromium on PATH")
	return ""
}

// profileDir is a profile directory for Chromium, removed after the test.
// Not t.TempDir: Chromium's helper processes may still be writing to it
// for a moment after the browser was stopped, and t.TempDir fails the test
// when its removal does.
func profileDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "sigoco-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 50 {
			if err = os.RemoveAll(dir); err == nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("leaving %s: %v", dir, err)
	})
	return dir
}

// TestPageShowsStateLive loads the page in headless Chromium and checks it
// shows the state, then a change.
func TestPageShowsStateLive(t *testing.T) {
	path := chromium(t)
	page := httptest.NewServer(handler())
	t.Cleanup(page.Close)
	state, addr := publisher(t, page.URL)

	actx, acancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(profileDir(t)))
	t.Cleanup(acancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, tcancel := context.WithTimeout(ctx, 60*time.Second) // only against a hang
	t.Cleanup(tcancel)

	shows := func(id, text string) chromedp.Action {
		return chromedp.Poll(`document.getElementById("`+id+`").textContent === "`+text+`"`, nil, chromedp.WithPollingInterval(20*time.Millisecond))
	}
	if err := chromedp.Run(ctx,
		chromedp.Navigate(page.URL+"/?ws=ws://"+addr+"/sync"),
		shows("status", "live"),
		shows("attenuation", "5.5"),
	); err != nil {
		t.Fatalf("the page did not show the initial state: %v", err)
	}
	if err := state.Set("attenuation", 7.25); err != nil {
		t.Fatal(err)
	}
	if err := state.At("last_settings").Append(map[string]any{"db": 7.25}); err != nil {
		t.Fatal(err)
	}
	var tree string
	if err := chromedp.Run(ctx,
		shows("attenuation", "7.25"),
		chromedp.Poll(`document.getElementById("tree").textContent.includes('"db": 7.25')`, nil),
		chromedp.Text("#tree", &tree),
	); err != nil {
		t.Fatalf("the page did not follow a change: %v (tree %q)", err, tree)
	}
	// A burst: the publisher sends the mods it finds queued several to a
	// WebSocket message (a JSON array), which the page's replica applies
	// in order.
	for i := range 300 {
		if err := state.Set("attenuation", float64(i)+0.5); err != nil {
			t.Fatal(err)
		}
		if err := state.At("last_settings").Append(map[string]any{"db": float64(i) + 0.5}); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Run(ctx,
		shows("attenuation", "299.5"),
		chromedp.Poll(`document.getElementById("tree").textContent.includes('"db": 299.5')`, nil),
		shows("status", "live"),
	); err != nil {
		t.Fatalf("the page did not follow a burst of mods: %v", err)
	}
}

// TestPageServed: the page at "/", syncstruct's replica module at
// "/replica.js", nothing else.
func TestPageServed(t *testing.T) {
	rec := httptest.NewRecorder()
	handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" || rec.Body.Len() != len(page) {
		t.Fatalf("GET / = %d %q, %d bytes", rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len())
	}
	rec = httptest.NewRecorder()
	handler().ServeHTTP(rec, httptest.NewRequest("GET", "/replica.js", nil))
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/javascript") || !bytes.Equal(rec.Body.Bytes(), syncstruct.WebReplicaJS) {
		t.Fatalf("GET /replica.js = %d %q, %d bytes", rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len())
	}
	if !bytes.Contains(page, []byte(`from "./replica.js"`)) {
		t.Error("the page does not import ./replica.js")
	}
	rec = httptest.NewRecorder()
	handler().ServeHTTP(rec, httptest.NewRequest("GET", "/other", nil))
	if rec.Code != 404 {
		t.Fatalf("GET /other = %d, want 404", rec.Code)
	}
}
