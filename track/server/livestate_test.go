package server_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

var update = flag.Bool("update", false, "rewrite ../dashboard/testdata/livestate.json")

// fixturePath is the live-state sample the dashboard's node tests read
// (track/dashboard/static/livestate.test.js).
const fixturePath = "../dashboard/testdata/livestate.json"

func ptr[T any](v T) *T { return &v }

// sampleState is one value of each live-state tree with every field set.
func sampleState() (runs map[string]server.RunEntry, run server.RunState, srv server.ServerState) {
	entry := server.RunEntry{
		Project: "demo", Name: "sweep 1", Status: "running", Message: "step 40 of 100",
		Progress: 0.4, Step: 40, Start: ptr(1.7e9), Updated: ptr(1.7e9 + 60), End: ptr(1.7e9 + 120),
		Tags: []string{"job", "state=STARTED"}, Latest: map[string]any{"x": 1.5, "label": "…"},
	}
	runs = map[string]server.RunEntry{"0190a1b2c3d4": entry}
	run = server.RunState{
		ID: "0190a1b2c3d4", RunEntry: entry,
		RunDetail: server.RunDetail{
			Params:    map[string]any{"omega": 2.5, "table": map[string]any{store.TruncatedKey: true, "type": "list", "size": int64(1 << 20), "len": int64(60000)}},
			Metadata:  map[string]any{"host": "node1"},
			Counts:    map[string]any{"evaluations": int64(10)},
			Notes:     []server.LiveNote{{Time: ptr(1.7e9 + 5), Text: "looks good", Truncated: true}},
			Artifacts: []server.LiveArtifact{{Name: "plots/x.png", Sha256: strings.Repeat("ab", 32), Size: 2048, ContentType: "image/png", Result: true, Present: true}},
			Omitted:   map[string]int64{"params": 3},
		},
		Series: map[string]server.RecentPoints{"x": {Step: []int64{39, 40}, Time: []float64{1.7e9 + 9.5, 1.7e9 + 10}, Value: []any{1.25, 1.5}}},
		Logs:   []server.LogLine{{Time: ptr(1.7e9 + 6), Level: 4, Logger: "sim", Message: "hot", Attrs: map[string]any{"step": int64(1000), "x": 0.89}}},
		Exposed: map[string]*rpc.TargetInfo{"ctl": {Name: "ctl", Doc: "controls the sweep", Methods: []rpc.MethodInfo{{
			Name: "set_rate", GoName: "SetRate", Params: []rpc.Param{{Name: "rate", Type: "float64"}}, Results: []string{"error"},
			Variadic: true, Doc: "sets the rate", Signature: "(self, rate)",
		}}}},
	}
	srv = server.ServerState{
		Runs: server.RunCounts{Open: 2, ByStatus: map[string]int64{"running": 1, "crashed": 1}, Listed: 2, MaxOpen: 500, MaxFinished: 500},
		Storage: server.StorageState{State: server.StorageLow, FreeBytes: ptr(int64(100 << 20)), MinFree: 256 << 20, Errors: 1,
			LastError: "store: unavailable: disk I/O error", LastErrorTime: ptr(1.7e9 + 7)},
	}
	return
}

// allSet fails for a field of v left at its zero value: the sample must
// show every key, so a field added to the schema reaches the fixture.
func allSet(t *testing.T, path string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			t.Errorf("sample: %s is nil", path)
			return
		}
		allSet(t, path, v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			allSet(t, path+"."+v.Type().Field(i).Name, v.Field(i))
		}
	case reflect.Slice:
		if v.Len() == 0 {
			t.Errorf("sample: %s is empty", path)
		}
		for i := range v.Len() {
			allSet(t, fmt.Sprintf("%s[%d]", path, i), v.Index(i))
		}
	case reflect.Map:
		if v.Len() == 0 {
			t.Errorf("sample: %s is empty", path)
		}
		for _, k := range v.MapKeys() {
			allSet(t, fmt.Sprintf("%s[%v]", path, k), v.MapIndex(k))
		}
	default:
		if v.IsZero() {
			t.Errorf("sample: %s is zero", path)
		}
	}
}

var allStatuses = []store.Status{store.StatusRegistered, store.StatusLoaded, store.StatusInitialized, store.StatusStarted,
	store.StatusRunning, store.StatusFinished, store.StatusStopped, store.StatusFailed, store.StatusCrashed}

// fixture is the document the node tests read: the status rules and one
// tree of each notifier, as browsers receive them (pyon, StrictJSON).
func fixture(t *testing.T) []byte {
	runs, run, srv := sampleState()
	allSet(t, "runs", reflect.ValueOf(runs))
	allSet(t, "run", reflect.ValueOf(run))
	allSet(t, "server", reflect.ValueOf(srv))
	var statuses, final []any
	for _, s := range allStatuses {
		statuses = append(statuses, string(s))
		if s.Final() {
			final = append(final, string(s))
		}
	}
	doc := map[string]any{"statuses": statuses, "final": final, "notifiers": map[string]any{}}
	for name, v := range map[string]any{server.RunsNotifier: runs, server.RunNotifier("0190a1b2c3d4"): run, server.ServerNotifier: srv} {
		tree, err := server.LiveValue(v)
		if err != nil {
			t.Fatal(err)
		}
		doc["notifiers"].(map[string]any)[name] = tree
	}
	b, err := pyon.AppendWith(nil, doc, pyon.EncodeOptions{StrictJSON: true, Pretty: true})
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestLiveStateFixture: the fixture the dashboard's tests read is what the
// schema gives now (go test ./track/server -run TestLiveStateFixture
// -update rewrites it), and a crashed run is not final (it comes back on
// a heartbeat: store/status.go).
func TestLiveStateFixture(t *testing.T) {
	if store.StatusCrashed.Final() {
		t.Fatal("crashed is final in the store; the dashboard (format.js FINAL) says it is not")
	}
	want := fixture(t)
	if *update {
		if err := os.WriteFile(fixturePath, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(fixturePath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: the live-state schema changed; run go test ./track/server -run TestLiveStateFixture -update and fix the dashboard's reads", fixturePath)
	}
}

// keys returns the keys of a dict tree, sorted.
func keys(v any) []string {
	m, _ := v.(map[string]any)
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestLiveStateSchema: the trees a real server publishes have exactly the
// keys of the schema (those of the fixture).
func TestLiveStateSchema(t *testing.T) {
	addr, srv := start(t, server.Options{LiveInterval: time.Hour})
	c := dial(t, addr)
	ctx := ctxT(t)
	b := startRecords("r1")
	b.Records = append(b.Records,
		store.Record{Seq: 3, Kind: store.KindParam, Key: "omega", Value: 2.5, Time: 1},
		store.Record{Seq: 4, Kind: store.KindTag, Key: "t", Time: 1},
		store.Record{Seq: 5, Kind: store.KindNote, Value: "n", Time: 1})
	var ack store.Ack
	if err := c.CallInto(ctx, &ack, "log_batch", b, []string{"x"}, []int64{0}, []int64{6}, []int64{1}, []int64{1_700_000_000_500_000_000}, []float64{1.5}); err != nil {
		t.Fatal(err)
	}
	srv.Live().Flush(ctx)
	var name string
	if err := c.CallInto(ctx, &name, "watch", "r1"); err != nil {
		t.Fatal(err)
	}
	srv.Live().Flush(ctx)
	runs, run, srvState := sampleState()
	want := func(v any) any {
		tree, err := server.LiveValue(v)
		if err != nil {
			t.Fatal(err)
		}
		return tree
	}
	var entry any
	srv.Live().Runs().Read(func(tree any) { entry = tree.(map[string]any)["r1"] })
	if got, w := keys(entry), keys(want(runs["0190a1b2c3d4"])); !slices.Equal(got, w) {
		t.Errorf("runs entry keys %v, schema %v", got, w)
	}
	if name != server.RunNotifier("r1") {
		t.Fatalf("watch: %q", name)
	}
	runTree := srv.Live().RunTree("r1")
	if got, w := keys(runTree), keys(want(run)); !slices.Equal(got, w) {
		t.Errorf("run/ID keys %v, schema %v", got, w)
	}
	if s, _ := runTree.(map[string]any)["series"].(map[string]any); !slices.Equal(keys(s["x"]), []string{"step", "time", "value"}) {
		t.Errorf("series %v", s)
	} else if tm, _ := s["x"].(map[string]any)["time"].([]any); len(tm) != 1 || tm[0] != 1.7000000005e9 {
		t.Errorf("a live point's time %v, want the time it was logged (1.7000000005e9 s)", tm)
	}
	var st any
	srv.Live().Server().Read(func(tree any) { st = tree })
	if got, w := keys(st), keys(want(srvState)); !slices.Equal(got, w) {
		t.Errorf("server keys %v, schema %v", got, w)
	}
	for _, k := range []string{"runs", "storage"} {
		if got, w := keys(st.(map[string]any)[k]), keys(want(srvState).(map[string]any)[k]); !slices.Equal(got, w) {
			t.Errorf("server.%s keys %v, schema %v", k, got, w)
		}
	}
}

// TestLiveLogAttrs: a live log line keeps its attributes, as the logs
// query returns them ("progress step=1000 x=0.89", not "progress"), and
// attributes beyond ReadBounds.LiveText are cut with a count.
func TestLiveLogAttrs(t *testing.T) {
	addr, srv := start(t, server.Options{LiveInterval: time.Hour})
	c := dial(t, addr)
	ctx := ctxT(t)
	var ack store.Ack
	if err := c.CallInto(ctx, &ack, "log_batch", startRecords("r1"), []string{}, []int64{}, []int64{}, []int64{}, []int64{}, []float64{}); err != nil {
		t.Fatal(err)
	}
	var name string
	if err := c.CallInto(ctx, &name, "watch", "r1"); err != nil {
		t.Fatal(err)
	}
	srv.Live().Flush(ctx)
	now := store.TimeOf(time.Now())
	big := map[string]any{"a": strings.Repeat("x", 600), "b": strings.Repeat("y", 600), "c": 1.0}
	if _, err := srv.AppendLogs(ctx, []store.LogEntry{
		{Run: "r1", Time: now, Message: "progress", Attrs: map[string]any{"step": int64(1000), "x": 0.89}},
		{Run: "r1", Time: now, Message: "big", Attrs: big},
	}); err != nil {
		t.Fatal(err)
	}
	srv.Live().Flush(ctx)
	logs, _ := srv.Live().RunTree("r1").(map[string]any)["logs"].([]any)
	if len(logs) != 2 {
		t.Fatalf("live logs %v", logs)
	}
	first, _ := logs[0].(map[string]any)
	if a, _ := first["attrs"].(map[string]any); a["step"] != int64(1000) || a["x"] != 0.89 {
		t.Errorf("live log attrs %v", first)
	}
	second, _ := logs[1].(map[string]any)
	if a, _ := second["attrs"].(map[string]any); a["a"] == nil || a["b"] != nil || a["c"] != 1.0 || a["…"] != "1 more" {
		t.Errorf("bounded attrs %v", second["attrs"])
	}
}

// TestLiveImplicitRunning: the live entry follows the store's implicit
// rules — a registered run that reports a result is running with the
// result's step, one that only logs is running (in the store too), and
// finished shows 100 %.
func TestLiveImplicitRunning(t *testing.T) {
	addr, srv := start(t, server.Options{LiveInterval: time.Hour})
	c := dial(t, addr)
	ctx := ctxT(t)
	now := time.Now().UnixNano()
	entry := func(run string) server.RunEntry {
		t.Helper()
		srv.Live().Flush(ctx)
		var tree any
		srv.Live().Runs().Read(func(v any) { tree = v.(map[string]any)[run] })
		m, _ := tree.(map[string]any)
		step, _ := m["step"].(int64)
		progress, _ := m["progress"].(float64)
		status, _ := m["status"].(string)
		return server.RunEntry{Status: status, Step: step, Progress: progress}
	}
	var ack store.Ack
	b := store.Batch{Run: "r1", Records: []store.Record{{Seq: 1, Kind: store.KindStart, Key: "p", Value: "n", Time: now}}}
	if err := c.CallInto(ctx, &ack, "log_batch", b, []string{"x"}, []int64{0, 0}, []int64{2, 3}, []int64{10, 250}, []int64{now, now}, []float64{1, 2}); err != nil {
		t.Fatal(err)
	}
	if e := entry("r1"); e.Status != "running" || e.Step != 250 {
		t.Fatalf("after results to step 250: %+v", e)
	}
	if _, err := logBatch(ctx, c, store.Batch{Run: "r1", Records: []store.Record{{Seq: 4, Kind: store.KindProgress, Value: 95.0, Time: now}, {Seq: 5, Kind: store.KindStatus, Key: "finished", Time: now}}}); err != nil {
		t.Fatal(err)
	}
	if e := entry("r1"); e.Status != "finished" || e.Progress != 100 {
		t.Fatalf("finished: %+v", e)
	}

	if _, err := logBatch(ctx, c, store.Batch{Run: "r2", Records: []store.Record{{Seq: 1, Kind: store.KindStart, Key: "p", Value: "n", Time: now}}}); err != nil {
		t.Fatal(err)
	}
	if e := entry("r2"); e.Status != "registered" {
		t.Fatalf("before logging: %+v", e)
	}
	if _, err := srv.AppendLogs(ctx, []store.LogEntry{{Run: "r2", Time: store.TimeOf(time.Now()), Message: "hello"}}); err != nil {
		t.Fatal(err)
	}
	if e := entry("r2"); e.Status != "running" {
		t.Fatalf("after logging: %+v", e)
	}
	var run map[string]any
	if err := c.CallInto(ctx, &run, "get_run", "r2"); err != nil || run["status"] != "running" {
		t.Fatalf("stored status after logging: %v %v", run["status"], err)
	}
}
