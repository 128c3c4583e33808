package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/store"
	"github.com/sigoco/sigoco/wire/auth"
)

// envInt is an attack's size: the default (what CI runs), or the value
// of the environment variable name (the measurements of
// docs/security.md, "Quotas").
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// openFDs counts the open file descriptors of a process.
func openFDs(t *testing.T, pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	return len(ents)
}

// TestManyRunsAttack: one runner starts runs as fast as it can
// (SIGOCO_ATTACK_RUNS, default 2,000, over 8 connections) against
// --max-open-runs (SIGOCO_ATTACK_QUOTA, default 100): exactly the quota
// is stored, every other run is refused with a quota error, and trackd's
// peak resident memory grows by what the quota's runs cost, not by the
// attack's size. Before the quota every run was stored and held open in
// the live state (100,000 runs: 1.36 GB, never freed). The runs crash
// (no heartbeats) during the attack: crashed runs count, or the quota
// would renew itself every heartbeat timeout.
func TestManyRunsAttack(t *testing.T) {
	t.Setenv(auth.EnvToken, "")
	n, quota := envInt("SIGOCO_ATTACK_RUNS", 2000), envInt("SIGOCO_ATTACK_QUOTA", 100)
	port := freePort(t)
	addr := "127.0.0.1:" + port
	ctx := ctxT(t, 30*time.Minute)
	d := startTrackd(t, port, t.TempDir(), "--access", writeAccess(t, accessLines()...), "--max-open-runs", strconv.Itoa(quota),
		"--heartbeat-timeout", "1s") // the attacker never heartbeats: its runs crash during the attack, and still count
	mem := watchMem(t, d)
	var stored, refused atomic.Int64
	var other atomic.Value
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 8 {
		c, err := rpc.Dial(ctx, addr, "tracker", rpc.ClientOptions{Token: runnerToken})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				now := time.Now().UnixNano()
				b := store.Batch{Run: track.NewID(), Records: []store.Record{
					{Seq: 1, Kind: store.KindStart, Key: "many", Value: "attack", Time: now},
					{Seq: 2, Kind: store.KindStatus, Key: string(store.StatusRunning), Time: now},
					{Seq: 3, Kind: store.KindParam, Key: "i", Value: 1, Time: now},
				}}
				_, err := c.Call(ctx, "log_batch", b, []string{}, []int64{}, []int64{}, []int64{}, []int64{}, []float64{})
				switch {
				case err == nil:
					stored.Add(1)
				case store.IsQuota(err):
					refused.Add(1)
				default:
					other.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	if err := other.Load(); err != nil {
		t.Fatalf("a run refused otherwise: %v", err)
	}
	if stored.Load() != int64(min(n, quota)) || refused.Load() != int64(n-min(n, quota)) {
		t.Errorf("stored %d, refused %d; want %d and %d", stored.Load(), refused.Load(), min(n, quota), n-min(n, quota))
	}
	// The runs list stays as large as the quota allows.
	rd, err := track.Open(ctx, addr, track.OpenOptions{Token: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	page, err := rd.ListRuns(ctx, store.RunFilter{Limit: n + 10})
	rd.Close()
	if err != nil || len(page.Runs) != min(n, quota) {
		t.Errorf("list_runs: %d runs, %v", len(page.Runs), err)
	}
	t.Logf("%d runs tried, %d stored, %d refused by --max-open-runs %d: trackd's peak RSS grew by %d MB",
		n, stored.Load(), refused.Load(), quota, mem.growth()>>20)
	d.stop(t)
}

// TestSlowClientsAttack: many more slow-body HTTP connections
// (SIGOCO_ATTACK_CONNS, default 1,200) than --max-conns (300) stay
// within the cap — trackd's open descriptors never pass it by more than
// its own few — the rest get the readable 503, the held ones are cut
// off by --http-read-timeout, and then trackd serves again. At the base
// 19,990 such connections exhausted trackd's descriptors
// (accept4: too many open files) at 595 MB.
func TestSlowClientsAttack(t *testing.T) {
	n := envInt("SIGOCO_ATTACK_CONNS", 1200)
	const maxConns = 300
	port := freePort(t)
	addr := "127.0.0.1:" + port
	ctx := ctxT(t, 5*time.Minute)
	d := startTrackd(t, port, t.TempDir(), "--max-conns", strconv.Itoa(maxConns), "--max-conns-per-addr", strconv.Itoa(maxConns), "--http-read-timeout", "4s")
	pid := d.cmd.Process.Pid
	mem := watchMem(t, d)
	base := openFDs(t, pid)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	peak := 0
	refusedSeen := ""
	for i := range n {
		c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", addr)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		// A request whose body comes at a crawl (the attack).
		io.WriteString(c, "POST /api/call HTTP/1.1\r\nHost: "+addr+"\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
		conns = append(conns, c)
		if i%100 == 99 {
			peak = max(peak, openFDs(t, pid))
		}
	}
	peak = max(peak, openFDs(t, pid))
	// Refused connections were answered and closed: find one's answer.
	for _, c := range conns[maxConns:] {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		b, _ := io.ReadAll(io.LimitReader(c, 4096))
		if s := string(b); strings.Contains(s, "503") {
			refusedSeen = s
			break
		}
	}
	if !strings.Contains(refusedSeen, "too many connections") {
		t.Errorf("no readable refusal among the connections past the cap: %.300q", refusedSeen)
	}
	if peak > base+maxConns+32 {
		t.Errorf("trackd held %d descriptors (%d before) with --max-conns %d", peak, base, maxConns)
	}
	// The held ones are cut off after the read timeout; trackd serves.
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/static/style.css")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("trackd did not serve again after the attack: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%d slow connections against --max-conns %d: trackd's descriptors peaked at %d (%d before), peak RSS grew by %d MB",
		n, maxConns, peak, base, mem.growth()>>20)
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	d.stop(t)
}
