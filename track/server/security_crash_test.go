package server_test

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

// The crash rows of issue 22: one client's batch of 8 params of 1 MB
// (within the limits) made every read of the run cost a multiple of 8 MB
// (live state, get_run, watch), so that trackd ran out of memory and did
// again after a restart. Each test fails before the bounds.

// allocated returns the bytes f allocates (in this process: the server
// and the test's client).
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// bigParamsBatch is the attack: a run's first batch with 8 params of
// 1 MB each.
func bigParamsBatch(run string) store.Batch {
	b := startRecords(run)
	big := strings.Repeat("p", 1<<20-64)
	for i := range 8 {
		b.Records = append(b.Records, store.Record{Seq: int64(3 + i), Kind: store.KindParam, Key: fmt.Sprintf("big%d", i), Value: big, Time: 1})
	}
	b.Records = append(b.Records, store.Record{Seq: 11, Kind: store.KindParam, Key: "omega", Value: 2.5, Time: 1},
		store.Record{Seq: 12, Kind: store.KindResult, Key: "x", Value: 1.5, Step: 1, Time: 1})
	return b
}

// TestBigParamsLiveStateBounded: the run's live state carries markers for
// the large params, not 8 MB, and publishing it costs little.
func TestBigParamsLiveStateBounded(t *testing.T) {
	addr, srv := start(t, server.Options{LiveInterval: time.Hour})
	c := dial(t, addr)
	ctx := ctxT(t)
	if _, err := logBatch(ctx, c, bigParamsBatch("r1")); err != nil {
		t.Fatal(err)
	}
	cost := allocated(func() {
		var name string
		if err := c.CallInto(ctx, &name, "watch", "r1"); err != nil {
			t.Fatal(err)
		}
		srv.Live().Flush(ctx)
	})
	size := srv.Live().RunTreeSize("r1")
	t.Logf("watch + publish allocated %d KiB; the run's live tree is %d bytes", cost>>10, size)
	if size < 0 || size > 64<<10 {
		t.Errorf("the run's live tree is %d bytes (8 MB of params held)", size)
	}
	if cost > 4<<20 {
		t.Errorf("watch + publish allocated %d bytes", cost)
	}
	// A note does not send the params again.
	if _, err := c.Call(ctx, "add_note", "r1", "a note"); err != nil {
		t.Fatal(err)
	}
	if cost := allocated(func() { srv.Live().Flush(ctx) }); cost > 1<<20 {
		t.Errorf("publishing a note allocated %d bytes", cost)
	}
}

// TestBigParamsGetRunBounded: get_run of that run answers markers (with
// the type and size of what they stand for) and costs a small multiple of
// its reply; get_value returns one full value.
func TestBigParamsGetRunBounded(t *testing.T) {
	addr, _ := start(t, server.Options{LiveInterval: time.Hour})
	c := dial(t, addr)
	ctx := ctxT(t)
	if _, err := logBatch(ctx, c, bigParamsBatch("r1")); err != nil {
		t.Fatal(err)
	}
	var infos [3]map[string]any
	cost := allocated(func() {
		var wg sync.WaitGroup
		for i := range infos {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := c.CallInto(ctx, &infos[i], "get_run", "r1"); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	})
	t.Logf("3 concurrent get_run allocated %d KiB", cost>>10)
	if cost > 8<<20 {
		t.Errorf("3 get_run of a run with 8 MB of params allocated %d bytes", cost)
	}
	params, _ := infos[0]["params"].(map[string]any)
	m, _ := params["big3"].(map[string]any)
	if !store.IsTruncated(m) || m["type"] != "str" || m["len"] != int64(1<<20-64) {
		t.Errorf("param big3 in get_run: %v", m)
	}
	if params["omega"] != 2.5 {
		t.Errorf("param omega in get_run: %v", params["omega"])
	}
	var full string
	if err := c.CallInto(ctx, &full, "get_value", "r1", "param", "big3"); err != nil || len(full) != 1<<20-64 {
		t.Errorf("get_value: %d bytes, %v", len(full), err)
	}
	var re *rpc.RemoteError
	if err := c.CallInto(ctx, &full, "get_value", "r1", "param", "nope"); !errors.As(err, &re) || !strings.Contains(re.Message, "not found") {
		t.Errorf("get_value of an absent param: %v", err)
	}
}

// TestLargeReadsWaitForRoom: get_run, get_value, memo get and series reserve
// their memory from one budget (Options.Bounds.MaxReadBytes) and wait
// while it is spent, then answer.
func TestLargeReadsWaitForRoom(t *testing.T) {
	addr, srv := startWith(t, server.Options{LiveInterval: time.Hour}, withMemo(t))
	c := dial(t, addr)
	ctx := ctxT(t)
	if _, err := logBatch(ctx, c, bigParamsBatch("r1")); err != nil {
		t.Fatal(err)
	}
	mc, err := rpc.Dial(ctx, addr, server.MemoTargetName, rpc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	val := []byte{0xc4, 3, 'a', 'b', 'c'} // bin "abc"
	key := store.MemoKey{Project: "p", Name: "m", Params: "1"}
	e := store.MemoEntry{Project: "p", Name: "m", Params: "1", Value: val, CRC: crc32.Checksum(val, crc32.MakeTable(crc32.Castagnoli))}
	if _, err := mc.Call(ctx, "put", e); err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		c    *rpc.Client
		name string // an rpc method, or an HTTP path to GET
		args []any
	}{
		{c, "get_run", []any{"r1"}},
		{c, "get_value", []any{"r1", "param", "big0"}},
		{mc, "get", []any{key}},
		{c, "series", []any{"r1", "x", store.SeriesQuery{}}},
		{c, "export_run", []any{"r1"}},
		{nil, "/runs/r1/export.json", nil},
	}
	for _, call := range calls {

		release, err := srv.HoldReads(ctx)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			if call.c == nil {
				done <- httpGet(ctx, "http://"+addr+call.name)
				return
			}
			var out any
			done <- call.c.CallInto(ctx, &out, call.name, call.args...)
		}()
		for srv.ReadWaiters() == 0 { // the call waits for room
			select {
			case err := <-done:
				t.Fatalf("%s answered while the read budget was spent: %v", call.name, err)
			case <-ctx.Done():
				t.Fatalf("%s never waited for the read budget", call.name)
			case <-time.After(time.Millisecond):
			}
		}
		release()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: %v", call.name, err)
			}
		case <-ctx.Done():
			t.Fatalf("%s: no answer once the budget was back", call.name)
		}
	}
}

// TestLiveEntryBounded: a 1 MB status message and 200 tags do not go into
// the "runs" list whole (every dashboard receives it).
func TestLiveEntryBounded(t *testing.T) {
	addr, srv := start(t, server.Options{LiveInterval: time.Hour})
	c := dial(t, addr)
	ctx := ctxT(t)
	b := startRecords("r1")
	b.Records[1].Value = strings.Repeat("m", 1<<20)
	for i := range 200 {
		b.Records = append(b.Records, store.Record{Seq: int64(3 + i), Kind: store.KindTag, Key: fmt.Sprint("tag", i), Time: 1})
	}
	if ack, err := logBatch(ctx, c, b); err != nil || len(ack.Rejected) > 0 {
		t.Fatalf("%+v %v", ack, err)
	}
	srv.Live().Flush(ctx)
	var size int
	srv.Live().Runs().Read(func(tree any) {
		e, _ := tree.(map[string]any)["r1"].(map[string]any)
		msg, _ := e["message"].(string)
		tags, _ := e["tags"].([]any)
		if len(msg) > 1<<10 || len(msg) == 0 || len(tags) > 50 {
			t.Errorf("runs entry: a %d-byte message, %d tags", len(msg), len(tags))
		}
		if b, err := store.EncodeValue(e); err == nil {
			size = len(b)
		}
	})
	if size > 8<<10 {
		t.Errorf("the run's entry in the runs list is %d bytes", size)
	}
}

// httpGet GETs url and fails unless it answers 200.
func httpGet(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
