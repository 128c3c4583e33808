package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/dashboard"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/wire/auth"
)

// steerable is an object a run exposes.
type steerable struct{}

func (steerable) Get(key string) map[string]any {
	return map[string]any{"key": key, "n": 3, "xs": []float64{1, 2.5}, "b": []byte("raw")}
}

func rawPost(t *testing.T, h http.Handler, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest("POST", "http://dash.test/api/call", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// TestLocalAnswersAsOverTheWire: the dashboard's answers through the
// server's in-process handle (what trackd gives it) are byte for byte the
// answers through an rpc client of the same server (what trackd's dial
// back into its own port gave), for the calls the app makes: results of
// every shape (runs, series, logs, values of the PYON types, exposed
// objects' descriptions and results) and errors.
func TestLocalAnswersAsOverTheWire(t *testing.T) {
	s := startStack(t, "", "", "", server.Options{})
	ctx := ctxT(t, 60*time.Second)
	run, err := track.Start(ctx, track.Options{Project: "p", Name: "n", Addr: s.addr, SpoolDir: t.TempDir(), NoMetadata: true, NoSource: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ectx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		run.End(ectx, track.StatusFinished)
	})
	run.LogParams(map[string]any{
		"omega": 2.5, "n": 3, "name": "x", "list": []any{1, "a", 2.5}, "nested": map[string]any{"a": map[string]any{"b": true}},
		"tuple": pyon.Tuple{int64(1), "b"}, "bytes": []byte("hi"), "c": complex(1, 2), "frac": pyon.NewFraction(1, 3),
	})
	run.AddMetadata("host", "lab-3")
	for i := range int64(500) {
		run.LogResult("x", float64(i)/3, i)
	}
	run.LogResult("v", []float64{1, 2, 3}, 0)
	run.AddNote("a note")
	run.AddTag("t")
	run.Logger().Info("hello", "k", 1)
	if err := run.LogArtifactReader("a.csv", strings.NewReader("a,b\n1,2\n")); err != nil {
		t.Fatal(err)
	}
	if err := run.Expose("sim", steerable{}); err != nil {
		t.Fatal(err)
	}
	if err := run.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := rpc.Dial(ctx, s.addr, server.TargetName, rpc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	overWire := dashboard.New(dashboard.Options{Tracker: c})
	local := dashboard.New(dashboard.Options{Tracker: s.tracker})
	id := `"` + run.ID() + `"`
	// The run's exposed object and its logs arrive on their own
	// connections: wait for them before comparing.
	waitFor(t, ctx, "the exposed object and the log", func() bool {
		_, body := rawPost(t, local, `{"method":"get_run","args":[`+id+`]}`)
		_, logs := rawPost(t, local, `{"method":"logs","args":[{"run":`+id+`}]}`)
		return strings.Contains(body, `"sim"`) && strings.Contains(logs, "hello")
	})
	for _, body := range []string{
		`{"method":"list_runs","args":[{}]}`,
		`{"method":"list_runs","args":[{"project":"p","limit":1}]}`,
		`{"method":"get_run","args":[` + id + `]}`,
		`{"method":"series","args":[` + id + `,"x",{}]}`,
		`{"method":"series","args":[` + id + `,"x",{"max_points":10}]}`,
		`{"method":"logs","args":[{"run":` + id + `}]}`,
		`{"method":"get_value","args":[` + id + `,"param","nested"]}`,
		`{"method":"get_value","args":[` + id + `,"param","tuple"]}`,
		`{"method":"get_value","args":[` + id + `,"param","bytes"]}`,
		`{"method":"get_value","args":[` + id + `,"param","c"]}`,
		`{"method":"get_value","args":[` + id + `,"param","frac"]}`,
		`{"method":"get_value","args":[` + id + `,"result","v"]}`,
		`{"method":"export_run","args":[` + id + `]}`,
		`{"method":"call_exposed","args":[` + id + `,"sim","get",["k"],{}]}`,
		`{"method":"GetRun","args":[` + id + `]}`,
		`{"method":"get_run","args":["no-such-run"]}`,
		`{"method":"get_run","args":[` + id + `,2]}`,
		`{"method":"series","args":[` + id + `]}`,
		`{"method":"series","args":[` + id + `,"x",{"nope":1}]}`,
		`{"method":"get_rnu","args":[` + id + `]}`,
		`{"method":"add_tag","args":[` + id + `,"t"],"kwargs":{"extra":1}}`,
	} {
		// The run is live: an answer may change between the two calls
		// (a heartbeat, a count); a difference that stays is a failure.
		var wc, lc int
		var wb, lb string
		for range 3 {
			wc, wb = rawPost(t, overWire, body)
			lc, lb = rawPost(t, local, body)
			if wc == lc && sameJSON(wb, lb) {
				break
			}
		}
		if wc != lc || !sameJSON(wb, lb) {
			t.Errorf("%s\nover the wire: %d %.3000s\nin-process:    %d %.3000s", body, wc, wb, lc, lb)
		}
		if wc != 200 || !json200(wb) {
			t.Errorf("%s: %d %.300s", body, wc, wb)
		}
	}
}

// sameJSON reports whether a and b are the same JSON value: members of an
// object may come in another order (a Go struct is written in its
// fields' order, the map decoded from the wire in sorted order).
func sameJSON(a, b string) bool {
	decode := func(s string) (any, bool) {
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		var v any
		return v, d.Decode(&v) == nil
	}
	va, oka := decode(a)
	vb, okb := decode(b)
	return oka && okb && reflect.DeepEqual(va, vb)
}

func json200(b string) bool {
	return strings.HasPrefix(b, `{"result":`) || strings.HasPrefix(b, `{"error":`)
}

func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if ctx.Err() != nil {
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// identityProbe is a target that reports the identity its calls run as.
type identityProbe struct{}

func (identityProbe) Whoami(ctx context.Context) string {
	id, ok := auth.FromContext(ctx)
	if !ok {
		return "in-process"
	}
	return id.Name + "/" + id.Role.String()
}

// TestCallsAsHTTPUser: through Auth.Wrap and the in-process handle, the
// target sees the identity of the HTTP request (not the dashboard's own),
// and the server's role table refuses what that identity may not call.
func TestCallsAsHTTPUser(t *testing.T) {
	access, err := auth.Parse([]byte("basic vera viewer vera-password-0001\nbasic ada admin ada-password-000002\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := startStackWith(t, "", "", "", server.Options{Auth: access}, func(srv *server.Server) dashboard.Caller {
		if err := srv.AddTarget("probe", identityProbe{}); err != nil {
			t.Fatal(err)
		}
		l, err := srv.Local("probe")
		if err != nil {
			t.Fatal(err)
		}
		return l
	})
	// "jobs" is the probe here: the dashboard's second target.
	h := dashboard.NewAuth(access).Wrap(dashboard.New(dashboard.Options{Tracker: s.tracker, Jobs: s.jobs}))
	call := func(user, pw, body string) (int, string) {
		req := httptest.NewRequest("POST", "http://dash.test/api/call", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(user, pw)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	for _, tc := range []struct{ user, pw, want string }{{"vera", "vera-password-0001", `"vera/viewer"`}, {"ada", "ada-password-000002", `"ada/admin"`}} {
		// whoami is not in the role table: admins only.
		code, body := call(tc.user, tc.pw, `{"target":"jobs","method":"whoami"}`)
		if tc.user == "ada" && (code != 200 || body != `{"result":`+tc.want+`}`) {
			t.Errorf("%s: %d %s", tc.user, code, body)
		}
		if tc.user == "vera" && (code != 200 || !strings.Contains(body, `"PermissionError"`) || !strings.Contains(body, "vera")) {
			t.Errorf("%s: %d %s", tc.user, code, body)
		}
	}
	// A viewer reads the tracker and may not write it.
	if code, body := call("vera", "vera-password-0001", `{"method":"list_runs","args":[{}]}`); code != 200 || !bytes.HasPrefix([]byte(body), []byte(`{"result":`)) {
		t.Errorf("viewer list_runs: %d %s", code, body)
	}
	if code, body := call("vera", "vera-password-0001", `{"method":"add_tag","args":["r","t"]}`); code != 200 || !strings.Contains(body, `"PermissionError"`) || !strings.Contains(body, "vera") {
		t.Errorf("viewer add_tag: %d %s", code, body)
	}
}
