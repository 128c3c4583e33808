package dashboard_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/dashboard"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

// fakeTracker records calls and answers with res or err.
type fakeTracker struct {
	method string
	args   []any
	res    any
	err    error
}

func (f *fakeTracker) Call(ctx context.Context, method string, args ...any) (any, error) {
	f.method, f.args = method, args
	return f.res, f.err
}

func post(t *testing.T, h http.Handler, body string, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest("POST", "http://dash.test/api/call", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("answer %q is not JSON: %v", rec.Body.String(), err)
	}
	return rec.Code, out
}

func TestCallArguments(t *testing.T) {
	f := &fakeTracker{}
	h := dashboard.New(dashboard.Options{Tracker: f})
	cases := []struct {
		body   string
		method string
		args   []any
	}{
		{`{"method":"list_runs","args":[]}`, "list_runs", []any{}},
		{`{"method":"add_note","args":["r1","hello"]}`, "add_note", []any{"r1", "hello"}},
		{`{"method":"x","args":[1, 1.0, 2.5, -3, 123456789012345678901234567890, true, null]}`, "x",
			[]any{int64(1), 1.0, 2.5, int64(-3), mustBig("123456789012345678901234567890"), true, nil}},
		{`{"method":"x","args":[{"max_points":1000}, [1,[2]]]}`, "x", []any{map[string]any{"max_points": int64(1000)}, []any{int64(1), []any{int64(2)}}}},
		{`{"method":"x","args":[{"__jsonclass__":["tuple",[[1,"a"]]]}, {"__jsonclass__":["bytes",["aGk="]]}, {"__jsonclass__":["complex",[1,2]]}]}`, "x",
			[]any{pyon.Tuple{int64(1), "a"}, []byte("hi"), complex(1, 2)}},
		{`{"method":"call_exposed","args":["r","sim","set_rate",[100.0],{}],"kwargs":{"timeout":2}}`, "call_exposed",
			[]any{"r", "sim", "set_rate", []any{100.0}, map[string]any{}, rpc.Kwargs{"timeout": int64(2)}}},
	}
	for _, c := range cases {
		f.res = "ok"
		code, out := post(t, h, c.body, nil)
		if code != 200 || out["result"] != "ok" {
			t.Errorf("%s: %d %v", c.body, code, out)
			continue
		}
		if f.method != c.method || !reflect.DeepEqual(f.args, c.args) {
			t.Errorf("%s: called %s%#v, want %s%#v", c.body, f.method, f.args, c.method, c.args)
		}
	}
}

func mustBig(s string) *big.Int {
	b, _ := new(big.Int).SetString(s, 10)
	return b
}

func TestCallResults(t *testing.T) {
	f := &fakeTracker{}
	h := dashboard.New(dashboard.Options{Tracker: f})
	tm := time.Unix(1700000000, 500000000)
	cases := []struct {
		res  any
		want string
	}{
		{nil, `null`},
		{int64(3), `3`},
		{2.0, `2.0`},
		{math.NaN(), `null`},
		{"a<b", `"a<b"`},
		{[]byte("hi"), `{"__jsonclass__":["bytes",["aGk="]]}`},
		{pyon.Tuple{int64(1), "x"}, `{"__jsonclass__":["tuple",[[1,"x"]]]}`},
		{pyon.Dict{{Key: int64(1), Value: "one"}}, `{"__jsonclass__":["dict",[[[1,"one"]]]]}`},
		{complex(1, -2), `{"__jsonclass__":["complex",[1.0,-2.0]]}`},
		{map[string]any{"b": int64(1), "a": []any{true}}, `{"a":[true],"b":1}`},
		{tm.UTC(), `"2023-11-14T22:13:20.5Z"`}, // pyon's form of a TextMarshaler
		{struct{ OmegaRate float64 }{1}, `{"omega_rate":1.0}`},
		{&store.SeriesInfo{Key: "x", Scalar: true, Len: 3}, `{"key":"x","scalar":true,"len":3}`},
		{pyon.NDArray{Shape: []int{2}, DType: "<f8", Data: make([]byte, 16)}, `{"__jsonclass__":["nparray",[[2],"<f8","AAAAAAAAAAAAAAAAAAAAAA=="]]}`},
	}
	for _, c := range cases {
		f.res = c.res
		req := httptest.NewRequest("POST", "/api/call", strings.NewReader(`{"method":"m","args":[]}`))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if got, want := rec.Body.String(), `{"result":`+c.want+`}`; got != want {
			t.Errorf("%#v: got %s, want %s", c.res, got, want)
		}
	}
}

func TestCallErrors(t *testing.T) {
	f := &fakeTracker{}
	h := dashboard.New(dashboard.Options{Tracker: f, MaxBodySize: 200})
	type want struct {
		code   int
		typ    string
		remote bool
	}
	cases := []struct {
		name string
		body string
		hdr  map[string]string
		err  error
		want want
	}{
		{"remote", `{"method":"m","args":[]}`, nil, &rpc.RemoteError{Type: "ValueError", Message: "bad"}, want{200, "ValueError", true}},
		{"unreachable", `{"method":"m","args":[]}`, nil, errors.New("connection refused"), want{502, dashboard.TypeUnavailable, false}},
		{"timeout", `{"method":"m","args":[]}`, nil, context.DeadlineExceeded, want{504, dashboard.TypeTimeout, false}},
		{"not json", `{"method":`, nil, nil, want{400, dashboard.TypeBadCall, false}},
		{"trailing", `{"method":"m"} {}`, nil, nil, want{400, dashboard.TypeBadCall, false}},
		{"unknown field", `{"method":"m","extra":1}`, nil, nil, want{400, dashboard.TypeBadCall, false}},
		{"bad method", `{"method":"a b"}`, nil, nil, want{400, dashboard.TypeBadCall, false}},
		{"bad class", `{"method":"m","args":[{"__jsonclass__":["eval",["x"]]}]}`, nil, nil, want{400, dashboard.TypeBadCall, false}},
		{"too large", `{"method":"m","args":["` + strings.Repeat("x", 300) + `"]}`, nil, nil, want{413, dashboard.TypeBadCall, false}},
		{"content type", `{"method":"m"}`, map[string]string{"Content-Type": "text/plain"}, nil, want{415, dashboard.TypeBadCall, false}},
		{"other origin", `{"method":"m"}`, map[string]string{"Origin": "http://evil.example"}, nil, want{403, dashboard.TypeForbidden, false}},
		{"same origin", `{"method":"m"}`, map[string]string{"Origin": "http://dash.test"}, nil, want{200, "", false}},
		{"target tracker", `{"target":"tracker","method":"m"}`, nil, nil, want{200, "", false}},
		{"other target", `{"target":"logs","method":"m"}`, nil, nil, want{400, dashboard.TypeBadCall, false}},
		{"no jobs", `{"target":"jobs","method":"m"}`, nil, nil, want{503, dashboard.TypeUnavailable, false}},
		{"not served", `{"method":"m"}`, nil, fmt.Errorf("%w: no target", rpc.ErrIncompatibleServer), want{503, dashboard.TypeUnavailable, false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.err, f.res = c.err, "ok"
			code, out := post(t, h, c.body, c.hdr)
			e, _ := out["error"].(map[string]any)
			typ, _ := e["type"].(string)
			remote, _ := e["remote"].(bool)
			if code != c.want.code || typ != c.want.typ || remote != c.want.remote {
				t.Errorf("got %d %v, want %+v", code, out, c.want)
			}
		})
	}
	req := httptest.NewRequest("GET", "/api/call", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 405 {
		t.Errorf("GET: %d", rec.Code)
	}
	code, out := post(t, dashboard.New(dashboard.Options{}), `{"method":"m"}`, nil)
	if code != 503 {
		t.Errorf("no tracker: %d %v", code, out)
	}
	// The target picks the Caller.
	tr, jb := &fakeTracker{res: "t"}, &fakeTracker{res: "j"}
	h = dashboard.New(dashboard.Options{Tracker: tr, Jobs: jb})
	if code, out := post(t, h, `{"target":"jobs","method":"list_solvers"}`, nil); code != 200 || out["result"] != "j" || jb.method != "list_solvers" || tr.method != "" {
		t.Errorf("jobs call: %d %v; tracker saw %q, jobs %q", code, out, tr.method, jb.method)
	}
	if code, out := post(t, h, `{"method":"list_runs"}`, nil); code != 200 || out["result"] != "t" || tr.method != "list_runs" {
		t.Errorf("tracker call: %d %v", code, out)
	}
}

func TestRoutes(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "next "+r.URL.Path) })
	h := dashboard.New(dashboard.Options{Next: next})
	cases := []struct {
		method, path string
		code         int
		ctype, body  string
	}{
		{"GET", "/", 200, "text/html", `<script type="module" src="/static/app.js">`},
		{"GET", "/index.html", 200, "text/html", "sigoco"},
		{"GET", "/static/app.js", 200, "javascript", "import"},
		{"GET", "/static/replica.js", 200, "javascript", "export class Replica"},
		{"GET", "/static/vendor/uPlot.esm.js", 200, "javascript", "uPlot"},
		{"GET", "/static/vendor/uPlot.LICENSE", 200, "", "MIT"},
		{"GET", "/static/style.css", 200, "text/css", "prefers-color-scheme"},
		{"GET", "/static/nope.js", 404, "", ""},
		{"POST", "/", 405, "", ""},
		{"GET", "/sync", 200, "", "next /sync"},
		{"GET", "/artifacts/abc", 200, "", "next /artifacts/abc"},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != c.code || !strings.Contains(rec.Header().Get("Content-Type"), c.ctype) || !strings.Contains(rec.Body.String(), c.body) {
			t.Errorf("%s %s: %d %q %.80q", c.method, c.path, rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
		}
	}
	rec := httptest.NewRecorder()
	dashboard.New(dashboard.Options{}).ServeHTTP(rec, httptest.NewRequest("GET", "/sync", nil))
	if rec.Code != 404 {
		t.Errorf("no Next: %d", rec.Code)
	}
}

func TestAuth(t *testing.T) {
	tok := "0123456789abcdef-token"
	a, err := dashboard.ParseAuth([]byte("# access\n\ntoken " + tok + "\nbasic ann:s3cret\n"))
	if err != nil {
		t.Fatal(err)
	}
	h := a.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "in") }))
	do := func(path string, set func(*http.Request)) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		if set != nil {
			set(req)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := do("/", nil); rec.Code != 401 || !strings.Contains(rec.Header().Get("WWW-Authenticate"), "Basic") {
		t.Errorf("no credential: %d %v", rec.Code, rec.Header())
	}
	if rec := do("/", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }); rec.Code != 200 {
		t.Errorf("bearer: %d", rec.Code)
	}
	if rec := do("/", func(r *http.Request) { r.Header.Set("Authorization", "Bearer wrong-token-xxxxxxx") }); rec.Code != 401 {
		t.Errorf("wrong bearer: %d", rec.Code)
	}
	if rec := do("/", func(r *http.Request) { r.SetBasicAuth("ann", "s3cret") }); rec.Code != 200 {
		t.Errorf("basic: %d", rec.Code)
	}
	if rec := do("/", func(r *http.Request) { r.SetBasicAuth("ann", "nope") }); rec.Code != 401 {
		t.Errorf("wrong password: %d", rec.Code)
	}
	if rec := do("/", func(r *http.Request) { r.SetBasicAuth("bob", "s3cret") }); rec.Code != 401 {
		t.Errorf("unknown user: %d", rec.Code)
	}
	rec := do("/?token="+tok+"&x=1", nil)
	cookies := rec.Result().Cookies()
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/?x=1" || len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("?token=: %d %v %v", rec.Code, rec.Header(), cookies)
	}
	if rec := do("/sync", func(r *http.Request) { r.AddCookie(cookies[0]) }); rec.Code != 200 {
		t.Errorf("cookie: %d", rec.Code)
	}
	if rec := do("/?token=wrong-token-xxxxxxx", nil); rec.Code != 401 {
		t.Errorf("wrong ?token=: %d", rec.Code)
	}

	for _, bad := range []string{"", "# nothing\n", "token short\n", "basic nocolon\n", "magic x\n", "basic :pw\n"} {
		if _, err := dashboard.ParseAuth([]byte(bad)); !errors.Is(err, dashboard.ErrAuthFile) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "access")
	os.WriteFile(p, []byte("token "+tok+"\n"), 0o644)
	if _, err := dashboard.LoadAuth(p); !errors.Is(err, dashboard.ErrAuthFile) {
		t.Errorf("world-readable file: %v", err)
	}
	os.Chmod(p, 0o600)
	if _, err := dashboard.LoadAuth(p); err != nil {
		t.Errorf("private file: %v", err)
	}
}

// TestCallTracker calls the real tracker through the endpoint.
func TestCallTracker(t *testing.T) {
	s := startStack(t, "", "", "", server.Options{})
	ctx := ctxT(t, 30*time.Second)
	run, err := track.Start(ctx, track.Options{Project: "p", Name: "n", Addr: s.addr, SpoolDir: t.TempDir(), NoMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	run.LogParam("omega", 2.5)
	for i := range int64(5000) {
		run.LogResult("x", float64(i), i)
	}
	if err := run.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ended := false
	t.Cleanup(func() {
		if !ended {
			ectx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			run.End(ectx, track.StatusFinished)
		}
	})
	base := "http://" + s.dashAddr
	call := func(body string) (int, map[string]any) {
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/call", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", base)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, out
	}
	id := run.ID()
	if code, out := call(`{"method":"add_note","args":["` + id + `","from the endpoint"]}`); code != 200 || out["error"] != nil {
		t.Fatalf("add_note: %d %v", code, out)
	}
	code, out := call(`{"method":"get_run","args":["` + id + `"]}`)
	res, _ := out["result"].(map[string]any)
	if code != 200 || res["id"] != id || res["params"].(map[string]any)["omega"] != 2.5 {
		t.Fatalf("get_run: %d %v", code, out)
	}
	notes, _ := res["notes"].([]any)
	if len(notes) != 1 || notes[0].(map[string]any)["text"] != "from the endpoint" {
		t.Errorf("notes: %v", res["notes"])
	}
	code, out = call(`{"method":"series","args":["` + id + `","x",{"max_points":100}]}`)
	res, _ = out["result"].(map[string]any)
	if steps, _ := res["step"].([]any); code != 200 || len(steps) == 0 || len(steps) > 100 || res["downsampled"] != true {
		t.Errorf("series with max_points: %d %.300v", code, out)
	}
	code, out = call(`{"method":"get_run","args":["no-such-run"]}`)
	if e, _ := out["error"].(map[string]any); code != 200 || e["remote"] != true || e["message"] == "" {
		t.Errorf("unknown run: %d %v", code, out)
	}
	code, out = call(`{"method":"no_such_method","args":[]}`)
	if e, _ := out["error"].(map[string]any); code != 200 || e["type"] != rpc.TypeUnknownMethod {
		t.Errorf("unknown method: %d %v", code, out)
	}
	// A server without jobs: the target is not served.
	if code, out := call(`{"target":"jobs","method":"list_solvers"}`); code != 503 || !strings.Contains(fmt.Sprint(out["error"]), "jobs") {
		t.Errorf("jobs without --solvers: %d %v", code, out)
	}
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}
	ended = true
	// A restarted server (a new in-process handle) serves the endpoint again.
	s = s.restart()
	base = "http://" + s.dashAddr
	if code, out := call(`{"method":"list_runs","args":[{}]}`); code != 200 || out["error"] != nil {
		t.Errorf("after a restart: %d %v", code, out)
	}
}
