package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/server"
)

// The HTTP attacks of issue 22, each against the real daemon.

// httpClient leaves no idle connection (nor goroutine) behind.
var httpClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}

// request sends one HTTP request to addr with the given Host header.
func request(t *testing.T, ctx context.Context, method, addr, host, path, body string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s (Host %s): %v", method, path, host, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// TestDaemonRebindingRefused: a page of evil.example whose name now
// resolves to 127.0.0.1 calls trackd from its own origin: "Host:
// evil.example:PORT" with a matching Origin. trackd answered every
// tracker and jobs method and opened /sync; now every route refuses it
// with 421, the loopback names still work, and --public-addr admits a
// name.
func TestDaemonRebindingRefused(t *testing.T) {
	port := freePort(t)
	d := startTrackd(t, port, t.TempDir())
	defer d.stop(t)
	addr := "127.0.0.1:" + port
	ctx := ctxT(t, 60*time.Second)
	evil := "evil.example:" + port
	call := `{"method":"list_runs","args":[{}]}`
	jsonHdr := func(origin string) map[string]string {
		return map[string]string{"Content-Type": "application/json", "Origin": origin}
	}

	resp, body := request(t, ctx, "POST", addr, evil, "/api/call", call, jsonHdr("http://"+evil))
	if resp.StatusCode != http.StatusMisdirectedRequest || !strings.Contains(body, "--public-addr") {
		t.Errorf("rebinding POST /api/call: %d %q", resp.StatusCode, body)
	}
	for _, path := range []string{"/", "/static/app.js", "/artifacts/" + strings.Repeat("0", 64), "/runs/x/export.json", "/jobs/x/logfile.zip"} {
		if resp, body := request(t, ctx, "GET", addr, evil, path, "", nil); resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("rebinding GET %s: %d %q", path, resp.StatusCode, body)
		}
	}
	// The live state over WebSocket.
	wsd := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, wresp, err := wsd.DialContext(ctx, "ws://"+addr+"/sync", http.Header{"Host": {evil}, "Origin": {"http://" + evil}})
	if err == nil {
		ws.Close()
		t.Errorf("rebinding /sync: the WebSocket opened")
	} else if wresp == nil || wresp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("rebinding /sync: %v (%v)", err, wresp)
	}

	// trackd's own names are served.
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "[::1]:" + port} {
		resp, body := request(t, ctx, "POST", addr, host, "/api/call", call, jsonHdr("http://"+host))
		if resp.StatusCode != 200 || !strings.Contains(body, `"result"`) {
			t.Errorf("Host %s: %d %q", host, resp.StatusCode, body)
		}
	}
	ws, _, err = wsd.DialContext(ctx, "ws://"+addr+"/sync", http.Header{"Origin": {"http://" + addr}})
	if err != nil {
		t.Fatalf("/sync from the dashboard's own origin: %v", err)
	}
	ws.Close()

	// A name given with --public-addr is served.
	port2 := freePort(t)
	d2 := startTrackd(t, port2, t.TempDir(), "--public-addr", "trackd.lab.example:443,other.example:"+port2)
	defer d2.stop(t)
	for _, host := range []string{"trackd.lab.example", "other.example:" + port2} {
		resp, body := request(t, ctx, "POST", "127.0.0.1:"+port2, host, "/api/call", call, jsonHdr("http://"+host))
		if resp.StatusCode != 200 {
			t.Errorf("public Host %s: %d %q", host, resp.StatusCode, body)
		}
	}
	if resp, _ := request(t, ctx, "GET", "127.0.0.1:"+port2, "evil.example:"+port2, "/", "", nil); resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("with --public-addr, another name: %d", resp.StatusCode)
	}
}

// TestDaemonArtifactSandboxed: a 236-byte uploaded HTML file, opened at
// /artifacts/SHA?name=x.html, ran script on trackd's origin that called
// /api/call. Now it comes as an attachment, nosniff, sandboxed.
func TestDaemonArtifactSandboxed(t *testing.T) {
	port := freePort(t)
	d := startTrackd(t, port, t.TempDir())
	defer d.stop(t)
	addr := "127.0.0.1:" + port
	ctx := ctxT(t, 60*time.Second)
	page := []byte(`<!doctype html><script>fetch("/api/call",{method:"POST",headers:{"Content-Type":"application/json"},body:'{"method":"list_runs","args":[{}]}'}).then(r=>r.text()).then(t=>document.title=t)</script>`)
	sum := sha256.Sum256(page)
	sha := hex.EncodeToString(sum[:])
	c, err := rpc.Dial(ctx, addr, server.TargetName, rpc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var n int64
	if err := c.CallInto(ctx, &n, "write_blob", sha, int64(0), page); err != nil {
		t.Fatal(err)
	}
	if err := c.CallInto(ctx, &n, "commit_blob", sha); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/artifacts/" + sha + "?name=x.html", "/artifacts/" + sha, "/artifacts/" + sha + "?name=x.svg"} {
		resp, body := request(t, ctx, "GET", addr, addr, path, "", nil)
		h := resp.Header
		if resp.StatusCode != 200 || !bytes.Equal([]byte(body), page) {
			t.Fatalf("%s: %d %q", path, resp.StatusCode, body)
		}
		csp := h.Get("Content-Security-Policy")
		if !strings.HasPrefix(csp, "sandbox") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", path, h.Get("X-Content-Type-Options"))
		}
		if !strings.HasPrefix(h.Get("Content-Disposition"), "attachment") {
			t.Errorf("%s: Content-Disposition %q", path, h.Get("Content-Disposition"))
		}
	}
	// The dashboard's CSP covers the other pages trackd serves.
	for _, path := range []string{"/", "/runs/nope/export.json", "/jobs/x/logfile.zip"} {
		resp, _ := request(t, ctx, "GET", addr, addr, path, "", nil)
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s (%d): CSP %q", path, resp.StatusCode, csp)
		}
	}
}

// TestDaemonSlowBodyCutOff: 2,000 connections sending a body at 1 byte
// every 5 s stayed open (no read timeout). With --http-read-timeout 1s, a
// body dripping a byte every 100 ms is cut off after about a second, and
// trackd keeps serving.
func TestDaemonSlowBodyCutOff(t *testing.T) {
	port := freePort(t)
	d := startTrackd(t, port, t.TempDir(), "--http-read-timeout", "1s")
	defer d.stop(t)
	addr := "127.0.0.1:" + port
	ctx := ctxT(t, 60*time.Second)
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	io.WriteString(c, "POST /api/call HTTP/1.1\r\nHost: "+addr+"\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
	stop := make(chan struct{})
	dripped := make(chan struct{})
	go func() {
		defer close(dripped)
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := io.WriteString(c, " "); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, err = io.Copy(io.Discard, c) // until trackd closes the connection
	close(stop)
	<-dripped
	if el := time.Since(start); err != nil || el > 8*time.Second {
		t.Fatalf("slow body held its connection for %v (%v)", el, err)
	}
	if resp, body := request(t, ctx, "GET", addr, addr, "/", "", nil); resp.StatusCode != 200 {
		t.Fatalf("after the slow body: %d %.200q", resp.StatusCode, body)
	}
	// A call's body is bounded too (1 MiB).
	big := `{"method":"list_runs","args":["` + strings.Repeat("x", 2<<20) + `"]}`
	if resp, body := request(t, ctx, "POST", addr, addr, "/api/call", big, map[string]string{"Content-Type": "application/json"}); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("a 2 MiB call: %d %.200q", resp.StatusCode, body)
	}
}

// TestDaemonConnCaps: 19,990 slow-body connections took every file
// descriptor (accept4: too many open files). With lowered caps, one
// address past --max-conns-per-addr and the port past --max-conns are
// refused with a readable 503, the others keep being served, and the
// places come back when connections close.
func TestDaemonConnCaps(t *testing.T) {
	port := freePort(t)
	d := startTrackd(t, port, t.TempDir(), "--max-conns", "6", "--max-conns-per-addr", "3")
	defer d.stop(t)
	addr := "127.0.0.1:" + port
	ctx := ctxT(t, 60*time.Second)
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	hold := func(from string, n int) {
		for range n {
			dd := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
			c, err := dd.DialContext(ctx, "tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			// A request whose body never comes (the attack).
			io.WriteString(c, "POST /api/call HTTP/1.1\r\nHost: "+addr+"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
			held = append(held, c)
		}
	}
	get := func(from string) (int, string) {
		dd := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
		tr := &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, network, a string) (net.Conn, error) { return dd.DialContext(ctx, network, a) }}
		defer tr.CloseIdleConnections()
		cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/static/style.css", nil)
		resp, err := cl.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	// served reports whether a plain GET from an address is served,
	// trying for a while: a closed connection frees its place once
	// trackd has seen it close.
	served := func(from string) bool {
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, body := get(from)
			if code == 200 {
				return true
			}
			if time.Now().After(deadline) {
				t.Errorf("GET from %s: %d %.200q", from, code, body)
				return false
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// trackd accepts once it is ready (startTrackd's probe may wait in
	// the listen queue until then).
	served("127.0.0.9")
	// The connections before (the probe, the GET) must be gone before
	// counting: trackd forgets one after it closed it. One kept-alive
	// connection reads the count from /metrics until it is alone; it
	// stays open, the first of the six.
	mtr := &http.Transport{MaxConnsPerHost: 1, DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.8")}}).DialContext}
	defer mtr.CloseIdleConnections()
	conns := func() string {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/metrics", nil)
		resp, err := (&http.Client{Transport: mtr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, l := range strings.Split(string(b), "\n") {
			if n, ok := strings.CutPrefix(l, "sigoco_track_connections "); ok {
				return n
			}
		}
		t.Fatalf("/metrics: %d, no connection count:\n%.500s", resp.StatusCode, b)
		return ""
	}
	for n := conns(); n != "1"; n = conns() {
		if ctx.Err() != nil {
			t.Fatalf("%s connections open, want only /metrics'", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// One listener accepts in order and counts each connection as it
	// accepts it: a connection dialled after the held ones is counted
	// after them, with no wait.
	hold("127.0.0.1", 3)
	if code, body := get("127.0.0.1"); code != 503 || !strings.Contains(body, "too many connections from 127.0.0.1 (limit 3)") {
		t.Errorf("4th connection from one address: %d %.200q", code, body)
	}
	hold("127.0.0.2", 2)
	if code, body := get("127.0.0.3"); code != 503 || !strings.Contains(body, "too many connections (limit 6)") {
		t.Errorf("7th connection: %d %.200q", code, body)
	}
	// Another address is served once there is room.
	for _, c := range held[3:] {
		c.Close()
	}
	held = held[:3]
	served("127.0.0.3")
	for _, c := range held {
		c.Close()
	}
	held = nil
	served("127.0.0.1")
}
