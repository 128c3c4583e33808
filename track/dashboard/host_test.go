package dashboard_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/track/dashboard"
)

// TestHostCheck: DNS rebinding (issue 22). A page of evil.example whose
// name now points at 127.0.0.1 sends "Host: evil.example:3250" and a
// matching Origin; the Origin check alone let every method through.
func TestHostCheck(t *testing.T) {
	cases := []struct {
		name   string
		opts   dashboard.HostOptions
		host   string
		tls    bool
		served bool
	}{
		{"localhost", dashboard.HostOptions{Listen: "127.0.0.1:3250"}, "localhost:3250", false, true},
		{"LOCALHOST.", dashboard.HostOptions{Listen: "127.0.0.1:3250"}, "LocalHost.:3250", false, true},
		{"127.0.0.1", dashboard.HostOptions{Listen: "127.0.0.1:3250"}, "127.0.0.1:3250", false, true},
		{"::1", dashboard.HostOptions{Listen: "127.0.0.1:3250"}, "[::1]:3250", false, true},
		{"rebinding", dashboard.HostOptions{Listen: "127.0.0.1:3250"}, "evil.example:3250", false, false},
		{"rebinding no port", dashboard.HostOptions{Listen: "127.0.0.1:80"}, "evil.example", false, false},
		{"loopback other port", dashboard.HostOptions{Listen: "127.0.0.1:3250"}, "localhost:8080", false, false},
		{"no port means 80", dashboard.HostOptions{Listen: "127.0.0.1:80"}, "localhost", false, true},
		{"no port means 443 under TLS", dashboard.HostOptions{Listen: "127.0.0.1:443"}, "localhost", true, true},
		{"no port not 80", dashboard.HostOptions{Listen: "127.0.0.1:3250"}, "localhost", false, false},
		{"empty", dashboard.HostOptions{Listen: "127.0.0.1:3250"}, "", false, false},
		{"bind address", dashboard.HostOptions{Listen: "10.1.2.3:3250"}, "10.1.2.3:3250", false, true},
		{"other address", dashboard.HostOptions{Listen: "10.1.2.3:3250"}, "10.1.2.4:3250", false, false},
		{"public", dashboard.HostOptions{Listen: "0.0.0.0:3250", Public: []string{"trackd.lab:3250"}}, "TRACKD.lab:3250", false, true},
		{"public other port", dashboard.HostOptions{Listen: "0.0.0.0:3250", Public: []string{"trackd.lab:3250"}}, "trackd.lab:9", false, false},
		{"public behind a proxy", dashboard.HostOptions{Listen: "127.0.0.1:3250", Public: []string{"trackd.lab:443"}}, "trackd.lab", false, true},
		{"public any port", dashboard.HostOptions{Listen: "127.0.0.1:3250", Public: []string{"trackd.lab"}}, "trackd.lab:8443", false, true},
		{"public v6", dashboard.HostOptions{Listen: "127.0.0.1:3250", Public: []string{"[fd00::1]:3250"}}, "[FD00::1]:3250", false, true},
		{"every interface: loopback IP", dashboard.HostOptions{Listen: "[::]:3250"}, "127.0.0.1:3250", false, true},
		{"v6 written otherwise", dashboard.HostOptions{Listen: "127.0.0.1:3250", Public: []string{"[fd00::1]:3250"}}, "[fd00:0:0::0001]:3250", false, true},
		{"v4-mapped loopback", dashboard.HostOptions{Listen: "127.0.0.1:3250"}, "[::ffff:127.0.0.1]:3250", false, true},
		{"every interface: the bind address", dashboard.HostOptions{Listen: "0.0.0.0:3250"}, "0.0.0.0:3250", false, true},
		{"every interface: not ours", dashboard.HostOptions{Listen: "0.0.0.0:3250"}, "192.0.2.77:3250", false, false},
		{"every interface: a name", dashboard.HostOptions{Listen: "0.0.0.0:3250"}, "evil.example:3250", false, false},
		{"zero value: loopback, any port", dashboard.HostOptions{}, "localhost:1234", false, true},
		{"zero value: other", dashboard.HostOptions{}, "evil.example:1234", false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hc, err := dashboard.NewHostCheck(c.opts)
			if err != nil {
				t.Fatal(err)
			}
			reached := false
			h := hc.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }))
			req := httptest.NewRequest("POST", "/api/call", strings.NewReader(`{"method":"delete_run","args":["x"]}`))
			req.Host = c.host
			req.Header.Set("Origin", "http://"+c.host)
			if c.tls {
				req.TLS = &tls.ConnectionState{}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if reached != c.served {
				t.Fatalf("Host %q served %v, want %v (%d %s)", c.host, reached, c.served, rec.Code, rec.Body)
			}
			if !c.served {
				if rec.Code != http.StatusMisdirectedRequest || !strings.Contains(rec.Body.String(), "--public-addr") {
					t.Errorf("refusal: %d %q", rec.Code, rec.Body)
				}
				if rec.Header().Get("Content-Security-Policy") == "" || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
					t.Errorf("refusal headers: %v", rec.Header())
				}
			}
		})
	}
	for _, bad := range []string{"http://x/", "a b:1", "user@host:1"} {
		if _, err := dashboard.NewHostCheck(dashboard.HostOptions{Public: []string{bad}}); !errors.Is(err, dashboard.ErrHosts) {
			t.Errorf("public %q: %v", bad, err)
		}
	}
	if _, err := dashboard.NewHostCheck(dashboard.HostOptions{Listen: "nonsense"}); !errors.Is(err, dashboard.ErrHosts) {
		t.Errorf("listen nonsense: %v", err)
	}
}

// TestCSPOnEveryResponse: the dashboard's CSP and nosniff cover every
// response served through it, the routes behind it (Next: artifacts,
// jobs' files, /sync) included, unless those set a stricter CSP of their
// own; so do the answers of the access check. (At 6239f85 only the
// index page had a CSP.)
func TestCSPOnEveryResponse(t *testing.T) {
	next := http.NewServeMux()
	next.HandleFunc("GET /jobs/j/logfile.zip", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "PK") })
	next.HandleFunc("GET /artifacts/x", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'")
	})
	h := dashboard.New(dashboard.Options{Next: next})
	auth, err := dashboard.ParseAuth([]byte("token 0123456789abcdef0123\n"))
	if err != nil {
		t.Fatal(err)
	}
	// The dashboard's policy: its own origin's scripts only, no framing.
	dashCSP := func(csp string) bool {
		return strings.Contains(csp, "default-src 'self'") && strings.Contains(csp, "frame-ancestors 'none'") &&
			!strings.Contains(csp, "unsafe-eval") && !strings.Contains(csp, "script-src 'self' 'unsafe-inline'")
	}
	for _, c := range []struct {
		h    http.Handler
		path string
		ok   func(string) bool
	}{
		{h, "/", dashCSP},
		{h, "/static/app.js", dashCSP},
		{h, "/jobs/j/logfile.zip", dashCSP},
		{h, "/nope", dashCSP},
		{h, "/artifacts/x", func(csp string) bool { return csp == "sandbox; default-src 'none'" }},
		{auth.Wrap(h), "/", dashCSP}, // 401
	} {
		rec := httptest.NewRecorder()
		c.h.ServeHTTP(rec, httptest.NewRequest("GET", c.path, nil))
		hd := rec.Header()
		if !c.ok(hd.Get("Content-Security-Policy")) || hd.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s (%d): CSP %q, nosniff %q", c.path, rec.Code, hd.Get("Content-Security-Policy"), hd.Get("X-Content-Type-Options"))
		}
	}
}
