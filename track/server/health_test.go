package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/sqlite"
	"github.com/sigoco/sigoco/wire/auth"
)

func opsServer(t *testing.T, ops OpsOptions, withAuth bool) (*Server, store.Store, http.Handler) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Ops: ops}
	if withAuth {
		opts.Auth = auth.Everyone{Role: auth.Viewer}
	}
	s, err := New(ctx, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); st.Close() })
	refused := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "next", http.StatusTeapot) })
	return s, st, s.opsHandler(refused)
}

func get(h http.Handler, path, remote string) (int, string) {
	r := httptest.NewRequest("GET", path, nil)
	r.RemoteAddr = remote
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(b)
}

// TestHealthAndMetrics: /healthz and /readyz answer anyone; /readyz says
// 503 when the store fails; /metrics reports ingest, open runs and batch
// latency in Prometheus' text format.
func TestHealthAndMetrics(t *testing.T) {
	s, st, h := opsServer(t, OpsOptions{}, false)
	if code, body := get(h, "/healthz", "192.0.2.1:1"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	if code, body := get(h, "/readyz", "192.0.2.1:1"); code != 200 {
		t.Fatalf("/readyz: %d %q", code, body)
	}
	if code, _ := get(h, "/runs/x", "127.0.0.1:1"); code != http.StatusTeapot {
		t.Fatalf("other paths go on: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const run = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
	b := &store.Batch{Run: run, Records: []store.Record{{Seq: 1, Kind: store.KindStart, Key: "p", Value: "n", Time: 1}}}
	b.Points = store.Points{Keys: []string{"x"}, Key: []int64{0, 0}, Seq: []int64{2, 3}, Step: []int64{0, 1}, Time: []int64{1, 2}, Value: []float64{1, 2}}
	if _, err := s.Ingest(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ingest(ctx, &store.Batch{Run: "no such/run"}); err == nil {
		t.Fatal("a bad run id was stored")
	}
	code, body := get(h, "/metrics", "192.0.2.1:1")
	if code != 200 {
		t.Fatalf("/metrics: %d %q", code, body)
	}
	for _, want := range []string{
		"sigoco_track_ingested_records_total 3\n",
		`sigoco_track_batches_total{result="stored"} 1` + "\n",
		"sigoco_track_open_runs 1\n",
		"sigoco_track_batch_seconds_count 1\n",
		"sigoco_track_viewers 0\n",
		"sigoco_track_connections 0\n", // the handler called directly
		`sigoco_track_batches_total{result="unavailable"} 0` + "\n",
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	st.Close()
	if code, body := get(h, "/readyz", "192.0.2.1:1"); code != http.StatusServiceUnavailable || !strings.HasPrefix(body, "not ready:") {
		t.Fatalf("/readyz with the store closed: %d %q", code, body)
	}
	if _, body := get(h, "/metrics", "127.0.0.1:1"); !strings.Contains(body, `sigoco_track_store_errors_total{op="ready"} 1`) {
		t.Errorf("the failed readiness check is not counted")
	}
}

// TestMetricsAccess: with access control, /metrics needs a viewer
// identity, or a loopback address passing the Host check.
func TestMetricsAccess(t *testing.T) {
	hostOK := func(r *http.Request) bool { return r.Host == "node.lab:3250" }
	identity := func(r *http.Request) (auth.Identity, error) {
		switch r.Header.Get("Authorization") {
		case "Bearer viewer":
			return auth.Identity{Name: "v", Role: auth.Viewer, Method: auth.MethodToken}, nil
		case "Bearer none":
			return auth.Identity{Name: "n", Role: auth.None, Method: auth.MethodToken}, nil
		case "":
			return auth.Identity{Name: "anonymous", Role: auth.Admin, Method: auth.MethodAnonymous}, nil
		}
		return auth.Identity{}, errors.New("bad token")
	}
	_, _, h := opsServer(t, OpsOptions{Identity: identity, HostAllowed: hostOK}, true)
	for _, c := range []struct {
		remote, host, token string
		want                int
	}{
		{"192.0.2.1:1", "10.1.1.1:3250", "viewer", 200}, // a scraper by IP, with a token
		{"192.0.2.1:1", "node.lab:3250", "", 401},       // no credential, not loopback
		{"192.0.2.1:1", "node.lab:3250", "none", 401},   // a credential without a role
		{"192.0.2.1:1", "node.lab:3250", "forged", 401}, // a bad one
		{"127.0.0.1:1", "node.lab:3250", "", 200},       // loopback past the Host check
		{"127.0.0.1:1", "evil.example:3250", "", 421},   // loopback, DNS rebinding
		{"[::1]:1", "node.lab:3250", "", 200},           // IPv6 loopback
		{"192.0.2.1:1", "evil.example:3250", "", 421},   // neither
	} {
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.RemoteAddr, r.Host = c.remote, c.host
		if c.token != "" {
			r.Header.Set("Authorization", "Bearer "+c.token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("%+v: %d, want %d", c, w.Code, c.want)
		}
	}
	// Health is open whatever the Host.
	r := httptest.NewRequest("GET", "/healthz", nil)
	r.RemoteAddr, r.Host = "192.0.2.1:1", "evil.example"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Errorf("/healthz from anywhere: %d", w.Code)
	}
}
