package server_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/syncstruct"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/track/store/sqlite"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
}

func start(t *testing.T, opts server.Options) (string, *server.Server) {
	t.Helper()
	return startWith(t, opts, nil)
}

// startWith is start with more parts built on the server before it
// serves (build: AddTarget, HandleHTTP), as trackd does.
func startWith(t *testing.T, opts server.Options, build func(*server.Server)) (string, *server.Server) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(ctx, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	if build != nil {
		build(srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() { srv.Close(); <-done; st.Close() })
	return ln.Addr().String(), srv
}

func dial(t *testing.T, addr string) *rpc.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := rpc.Dial(ctx, addr, server.TargetName, rpc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ctxT bounds a test so that it fails instead of hanging; it is not a
// timing assertion, and must hold on a loaded 2-core machine under -race
// (TestRunsViewBounded stores 446 runs one batch at a time).
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func logBatch(ctx context.Context, c *rpc.Client, b store.Batch) (*store.Ack, error) {
	var ack store.Ack
	err := c.CallInto(ctx, &ack, "log_batch", b, []string{}, []int64{}, []int64{}, []int64{}, []int64{}, []float64{})
	return &ack, err
}

func startRecords(run string) store.Batch {
	return store.Batch{Run: run, Records: []store.Record{
		{Seq: 1, Kind: store.KindStart, Key: "p", Value: "n", Time: time.Now().UnixNano()},
		{Seq: 2, Kind: store.KindStatus, Key: "running", Time: time.Now().UnixNano()},
	}}
}

func TestUnknownRunAndBadBlob(t *testing.T) {
	addr, _ := start(t, server.Options{})
	c := dial(t, addr)
	ctx := ctxT(t)
	_, err := logBatch(ctx, c, store.Batch{Run: "nobody", Records: []store.Record{{Seq: 5, Kind: store.KindNote, Value: "x"}}})
	var re *rpc.RemoteError
	if !errors.As(err, &re) || !strings.Contains(re.Message, "unknown run") {
		t.Fatalf("batch for an unknown run: %v", err)
	}
	sha := strings.Repeat("ab", 32)
	var n int64
	if err := c.CallInto(ctx, &n, "write_blob", sha, int64(0), []byte("not what the name says")); err != nil {
		t.Fatal(err)
	}
	err = c.CallInto(ctx, &n, "commit_blob", sha)
	if !errors.As(err, &re) || !strings.Contains(re.Message, "sha256 mismatch") {
		t.Fatalf("corrupted upload: %v", err)
	}
	// The server keeps serving.
	if _, err := logBatch(ctx, c, startRecords("r1")); err != nil {
		t.Fatal(err)
	}
}

func TestHeartbeatStopMarksCrashed(t *testing.T) {
	addr, srv := start(t, server.Options{HeartbeatTimeout: 300 * time.Millisecond, LiveInterval: 20 * time.Millisecond})
	c := dial(t, addr)
	ctx := ctxT(t)
	if _, err := logBatch(ctx, c, startRecords("r1")); err != nil {
		t.Fatal(err)
	}
	status := func() store.Status {
		r, err := srv.Store().GetRun(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		return r.Status
	}
	for status() != store.StatusCrashed {
		if ctx.Err() != nil {
			t.Fatal("never marked crashed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The live list says so too.
	sub, err := syncstruct.NewSubscriber(addr, server.RunsNotifier, syncstruct.SubscriberOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := sub.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		var st any
		sub.Read(func(tree any) {
			if e, ok := tree.(map[string]any)["r1"].(map[string]any); ok {
				st = e["status"]
			}
		})
		if st == "crashed" {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("live status %v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A heartbeat brings it back.
	if err := c.CallInto(ctx, nil, "heartbeat", "r1"); err != nil {
		t.Fatal(err)
	}
	if s := status(); s != store.StatusRunning {
		t.Fatalf("after a heartbeat: %s", s)
	}
}

func TestRunNotifierAndExport(t *testing.T) {
	addr, _ := start(t, server.Options{LiveInterval: 20 * time.Millisecond})
	c := dial(t, addr)
	ctx := ctxT(t)
	b := startRecords("r2")
	b.Records = append(b.Records, store.Record{Seq: 3, Kind: store.KindParam, Key: "omega", Value: 2.5, Time: 1})
	var ack store.Ack
	err := c.CallInto(ctx, &ack, "log_batch", b, []string{"x"}, []int64{0, 0, 0}, []int64{4, 5, 6}, []int64{0, 1, 2}, []int64{1, 2, 3}, []float64{1, 2, 3})
	if err != nil || ack.Applied != 6 {
		t.Fatalf("%v %+v", err, ack)
	}
	var name string
	if err := c.CallInto(ctx, &name, "watch", "r2"); err != nil {
		t.Fatal(err)
	}
	sub, err := syncstruct.NewSubscriber(addr, name, syncstruct.SubscriberOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := sub.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		var ok bool
		sub.Read(func(tree any) {
			m := tree.(map[string]any)
			p, _ := m["params"].(map[string]any)
			s, _ := m["series"].(map[string]any)
			x, _ := s["x"].(map[string]any)
			v, _ := x["value"].([]any)
			ok = p["omega"] == 2.5 && len(v) == 3
		})
		if ok {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("run notifier %v", sub.Copy())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var doc string
	if err := c.CallInto(ctx, &doc, "export_run", "r2"); err != nil || !strings.Contains(doc, `"omega": 2.5`) {
		t.Fatalf("export %v %s", err, doc)
	}
}

// TestRunsListBounded: beyond RunsInLive finished runs, the oldest leave
// the live list (they stay in the store).
func TestRunsListBounded(t *testing.T) {
	addr, srv := start(t, server.Options{RunsInLive: 2, LiveInterval: 10 * time.Millisecond, RunLinger: time.Millisecond})
	c := dial(t, addr)
	ctx := ctxT(t)
	for _, id := range []string{"a1", "a2", "a3", "a4", "a5"} {
		b := startRecords(id)
		b.Records = append(b.Records, store.Record{Seq: 3, Kind: store.KindStatus, Key: "finished", Time: time.Now().UnixNano()})
		if _, err := logBatch(ctx, c, b); err != nil {
			t.Fatal(err)
		}
	}
	// The list is published every LiveInterval: until a5's final state is
	// in it, two entries may rightly be a3 and a4 (pruned before a5 came).
	for {
		var ids []string
		last := ""
		srv.Live().Runs().Read(func(tree any) {
			for id, e := range tree.(map[string]any) {
				ids = append(ids, id)
				if id == "a5" {
					last, _ = e.(map[string]any)["status"].(string)
				}
			}
		})
		if len(ids) == 2 && last == "finished" {
			slices.Sort(ids)
			if ids[0] != "a4" || ids[1] != "a5" {
				t.Fatalf("kept %v", ids)
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("live list %v", ids)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if page, _ := srv.Store().ListRuns(ctx, store.RunFilter{}); len(page.Runs) != 5 {
		t.Fatalf("store lost runs: %d", len(page.Runs))
	}
}

// TestSiPyCoProtocol: the tracker target answers SiPyCo's pc_rpc (what
// Python's Client(host, 3250, "tracker") speaks), here from the Go client
// in SiPyCo mode.
func TestSiPyCoProtocol(t *testing.T) {
	addr, _ := start(t, server.Options{})
	ctx := ctxT(t)
	if _, err := logBatch(ctx, dial(t, addr), startRecords("py1")); err != nil {
		t.Fatal(err)
	}
	c, err := rpc.Dial(ctx, addr, server.TargetName, rpc.ClientOptions{Protocol: rpc.ProtocolSiPyCo})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	page, err := c.Call(ctx, "list_runs", map[string]any{"project": "p"})
	if err != nil {
		t.Fatal(err)
	}
	runs, _ := page.(map[string]any)["runs"].([]any)
	if len(runs) != 1 || runs[0].(map[string]any)["id"] != "py1" {
		t.Fatalf("list_runs over SiPyCo: %#v", page)
	}
	if _, err := c.Call(ctx, "get_run", "py1"); err != nil {
		t.Fatal(err)
	}
	if err := c.CallInto(ctx, nil, "add_note", "py1", "from Python"); err != nil {
		t.Fatal(err)
	}
}
