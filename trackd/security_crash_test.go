package main

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/syncstruct"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

// The crash rows of issue 22, against the real daemon: one client made
// trackd run out of memory, and again after each restart. Each test
// measures trackd's peak resident memory (VmHWM) under the attack and
// asserts a bound on its growth.

// procKB reads a "Name:   N kB" field of /proc/PID/status, in bytes.
func procKB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("%s: %q", field, line)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// memWatch measures a daemon's peak resident memory from a starting point.
type memWatch struct {
	t    *testing.T
	d    *daemon
	base int64
}

func watchMem(t *testing.T, d *daemon) *memWatch {
	return &memWatch{t: t, d: d, base: procKB(t, d.cmd.Process.Pid, "VmRSS")}
}

// growth returns how far the peak went above the starting resident size;
// it fails the test if the daemon died (out of memory).
func (m *memWatch) growth() int64 {
	m.t.Helper()
	if m.d.cmd.ProcessState != nil {
		m.t.Fatalf("trackd exited: %v\n%s", m.d.cmd.ProcessState, tail(m.d.stderr))
	}
	return procKB(m.t, m.d.cmd.Process.Pid, "VmHWM") - m.base
}

func tail(b *bytes.Buffer) string {
	s := b.String()
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return s
}

func dialTarget(t *testing.T, ctx context.Context, addr, target string) *rpc.Client {
	t.Helper()
	c, err := rpc.Dial(ctx, addr, target, rpc.ClientOptions{MaxFrameSize: 128 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

const crashRun = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"

// bigParams is the attack's batch: a run with 8 params of about 1 MB each
// (lists of 60,000 short strings: within MaxValueSize, and within the
// decoded size one rpc request may take).
func bigParams() store.Batch {
	now := time.Now().UnixNano()
	b := store.Batch{Run: crashRun, Records: []store.Record{
		{Seq: 1, Kind: store.KindStart, Key: "attack", Value: "big params", Time: now},
		{Seq: 2, Kind: store.KindStatus, Key: "running", Time: now},
	}}
	for i := range 8 {
		l := make([]any, 60_000)
		for j := range l {
			l[j] = fmt.Sprintf("%016d", j)
		}
		b.Records = append(b.Records, store.Record{Seq: int64(3 + i), Kind: store.KindParam, Key: fmt.Sprintf("big%d", i), Value: l, Time: now})
	}
	return b
}

// readAttack is what crashed trackd again after its restart: three
// concurrent get_run of the run and a dashboard watching it.
func readAttack(t *testing.T, ctx context.Context, addr string) map[string]any {
	t.Helper()
	c := dialTarget(t, ctx, addr, server.TargetName)
	var name string
	if err := c.CallInto(ctx, &name, "watch", crashRun); err != nil {
		t.Fatal(err)
	}
	sub, err := syncstruct.NewSubscriber(addr, name, syncstruct.SubscriberOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var infos [3]map[string]any
	var wg sync.WaitGroup
	for i := range infos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.CallInto(ctx, &infos[i], "get_run", crashRun); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for { // the subscriber has the run's params
		var ok bool
		sub.Read(func(tree any) {
			if m, _ := tree.(map[string]any); m != nil {
				_, ok = m["params"]
			}
		})
		if ok {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the watching subscriber never got the run's params")
		case <-time.After(20 * time.Millisecond):
		}
	}
	return infos[0]
}

// checkMarkers: get_run answers markers for the large params, and
// get_value the full value.
func checkMarkers(t *testing.T, ctx context.Context, addr string, info map[string]any) {
	t.Helper()
	params, _ := info["params"].(map[string]any)
	m, _ := params["big0"].(map[string]any)
	if m["__truncated__"] != true || m["type"] != "list" || m["len"] != int64(60_000) {
		t.Errorf("param big0 in get_run: not a marker (%d entries)", len(m))
	}
	c := dialTarget(t, ctx, addr, server.TargetName)
	var full []any
	if err := c.CallInto(ctx, &full, "get_value", crashRun, "param", "big0"); err != nil || len(full) != 60_000 {
		t.Errorf("get_value: %d items, %v", len(full), err)
	}
}

// TestCrashBigParamsBatch: 8 × 1 MB params in one batch, watched, read by
// three concurrent get_run; then trackd restarts and the reads come again.
// trackd's peak memory grows by less than 200 MB each time.
func TestCrashBigParamsBatch(t *testing.T) {
	port, data := freePort(t), t.TempDir()
	addr := "127.0.0.1:" + port
	ctx := ctxT(t, 120*time.Second)
	d := startTrackd(t, port, data)
	mw := watchMem(t, d)
	c := dialTarget(t, ctx, addr, server.TargetName)
	var ack store.Ack
	if err := c.CallInto(ctx, &ack, "log_batch", bigParams(), []string{}, []int64{}, []int64{}, []int64{}, []int64{}, []float64{}); err != nil {
		t.Fatal(err)
	}
	if len(ack.Rejected) > 0 {
		t.Fatalf("rejected %+v", ack.Rejected)
	}
	info := readAttack(t, ctx, addr)
	g := mw.growth()
	t.Logf("peak RSS growth under the batch, watch and 3 get_run: %d MB", g>>20)
	if g > 200<<20 {
		t.Errorf("trackd's peak RSS grew by %d MB", g>>20)
	}
	checkMarkers(t, ctx, addr, info)
	c.Close()

	d.cmd.Process.Kill()
	d.cmd.Wait()
	d = startTrackd(t, port, data)
	mw = watchMem(t, d)
	info = readAttack(t, ctx, addr)
	g = mw.growth()
	t.Logf("after a restart, peak RSS growth under watch and 3 get_run: %d MB", g>>20)
	if g > 200<<20 {
		t.Errorf("after a restart, trackd's peak RSS grew by %d MB", g>>20)
	}
	checkMarkers(t, ctx, addr, info)
	d.stop(t)
}

// memoGot is the memo target's reply to get and read.
type memoGot struct {
	Found bool             `msgpack:"found"`
	Entry *store.MemoEntry `msgpack:"entry"`
	Size  int64            `msgpack:"size"` // the value's length when Entry.Value is a part
}

// TestCrashMemoConcurrentGets: 48 concurrent reads of a 32 MiB memo entry
// (the largest memo takes) over 8 connections, as memo's client reads. trackd's peak
// memory grows by less than 300 MB: a reply holds at most 1 MiB of the
// value, the reads in progress hold at most 128 MiB, the rest is the
// garbage collector's headroom.
func TestCrashMemoConcurrentGets(t *testing.T) {
	port, data := freePort(t), t.TempDir()
	addr := "127.0.0.1:" + port
	ctx := ctxT(t, 300*time.Second)
	d := startTrackd(t, port, data)
	val := append([]byte{0xc6, 0, 0, 0, 0}, bytes.Repeat([]byte("m"), server.DefaultMaxMemoValue-5)...) // bin 32
	n := len(val) - 5
	val[1], val[2], val[3], val[4] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	key := store.MemoKey{Project: "p", Name: "big", Params: "x=1"}
	e := store.MemoEntry{Project: key.Project, Name: key.Name, Params: key.Params, Value: val, CRC: crc32.Checksum(val, crc32.MakeTable(crc32.Castagnoli))}
	if _, err := dialTarget(t, ctx, addr, server.MemoTargetName).Call(ctx, "put", e); err != nil {
		t.Fatal(err)
	}
	e.Value = nil
	mw := watchMem(t, d)
	var conns [8]*rpc.Client
	for i := range conns {
		conns[i] = dialTarget(t, ctx, addr, server.MemoTargetName)
	}
	var wg sync.WaitGroup
	for i := range 48 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// What memo's TrackStorage.Load does, without decoding.
			c := conns[i%len(conns)]
			var got memoGot
			if err := c.CallInto(ctx, &got, "get", key); err != nil || !got.Found {
				t.Errorf("get: %v", err)
				return
			}
			read := int64(len(got.Entry.Value))
			for read < got.Size {
				var part memoGot
				if err := c.CallInto(ctx, &part, "read", key, read, int64(1<<20)); err != nil || !part.Found || len(part.Entry.Value) == 0 {
					t.Errorf("read at %d: %v", read, err)
					return
				}
				read += int64(len(part.Entry.Value))
			}
			if read != int64(len(val)) {
				t.Errorf("read %d bytes of %d", read, len(val))
			}
		}()
	}
	wg.Wait()
	g := mw.growth()
	t.Logf("peak RSS growth under 48 concurrent memo get of 32 MiB: %d MB", g>>20)
	if g > 300<<20 {
		t.Errorf("trackd's peak RSS grew by %d MB", g>>20)
	}
	d.stop(t)
}

// TestOddValuesRefused: invalid UTF-8 keys, NaN and infinite params, a
// step of MinInt64 and a 900-deep param are refused, each with its reason,
// and the run stays readable.
func TestOddValuesRefused(t *testing.T) {
	port, data := freePort(t), t.TempDir()
	addr := "127.0.0.1:" + port
	ctx := ctxT(t, 60*time.Second)
	d := startTrackd(t, port, data)
	c := dialTarget(t, ctx, addr, server.TargetName)
	now := time.Now().UnixNano()
	var deep any = int64(1)
	for range 900 {
		deep = []any{deep}
	}
	odd := []store.Record{
		{Kind: store.KindParam, Key: "k\xff", Value: 1.0},
		{Kind: store.KindParam, Key: "nan", Value: math.NaN()},
		{Kind: store.KindParam, Key: "inf", Value: math.Inf(1)},
		{Kind: store.KindStep, Step: math.MinInt64},
		{Kind: store.KindParam, Key: "deep", Value: deep},
	}
	b := store.Batch{Run: crashRun, Records: []store.Record{{Seq: 1, Kind: store.KindStart, Key: "odd", Value: "values", Time: now}}}
	for i, r := range odd {
		r.Seq, r.Time = int64(2+i), now
		b.Records = append(b.Records, r)
	}
	var ack store.Ack
	if err := c.CallInto(ctx, &ack, "log_batch", b, []string{}, []int64{}, []int64{}, []int64{}, []int64{}, []float64{}); err != nil {
		t.Fatal(err)
	}
	refused := map[int64]string{}
	for _, r := range ack.Rejected {
		refused[r.Seq] = r.Error
	}
	for i, r := range odd {
		if refused[int64(2+i)] == "" {
			t.Errorf("%s %q stored", r.Kind, r.Key)
		}
	}
	var info map[string]any
	if err := c.CallInto(ctx, &info, "get_run", crashRun); err != nil {
		t.Fatalf("get_run: %v", err)
	}
	if p, _ := info["params"].(map[string]any); len(p) != 0 || info["step"] != int64(0) {
		t.Errorf("params %v, step %v", p, info["step"])
	}
	d.stop(t)
}
