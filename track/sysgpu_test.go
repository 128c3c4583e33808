//go:build unix

package track_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

// fakeNvidiaSMI writes an executable nvidia-smi script with body into a
// new directory and returns the directory. The script fails unless it
// is asked the query the track client sends.
func fakeNvidiaSMI(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\n" +
		`[ "$1" = "--query-gpu=index,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw" ] && [ "$2" = "--format=csv,noheader,nounits" ] || { echo "unexpected arguments: $*" >&2; exit 2; }` + "\n" +
		body
	if err := os.WriteFile(filepath.Join(dir, "nvidia-smi"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// twoGPUs is what the fake prints: GPU 1 does not report its power.
const twoGPUs = `cat <<'EOF'
0, 37, 1024, 16384, 45, 71.25
1, 0, 10, 16384, 30, [N/A]
EOF
`

// waitSysSeries flushes and reads the run until every key in want has at
// least n points, or fails at ctx's deadline; it returns the sys.* lengths.
func waitSysSeries(ctx context.Context, t *testing.T, rd *track.Reader, run *track.Run, want []string, n int64) map[string]int64 {
	t.Helper()
	for {
		if err := run.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		info, err := rd.GetRun(ctx, run.ID())
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]int64{}
		for _, s := range info.Series {
			if strings.HasPrefix(s.Key, "sys.") {
				have[s.Key] = s.Len
			}
		}
		ok := true
		for _, k := range want {
			ok = ok && have[k] >= n
		}
		if ok {
			return have
		}
		select {
		case <-ctx.Done():
			t.Fatalf("sys series after %v: %v", ctx.Err(), have)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestSysMetricsGPU: with nvidia-smi on PATH, each sample holds every
// GPU's values as sys.gpu<i>.* series, at the sample's step, in bytes
// for memory; a field the GPU does not report is left out; NoGPUMetrics
// turns them off alone.
func TestSysMetricsGPU(t *testing.T) {
	dir := fakeNvidiaSMI(t, twoGPUs)
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	ts := startServer(t, "", "", server.Options{})
	ctx := ctxT(t, 60*time.Second)
	rd, err := track.Open(ctx, ts.addr, track.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()

	run, err := track.Start(ctx, track.Options{Addr: ts.addr, SpoolDir: t.TempDir(), NoSource: true, SysMetricsInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"sys.gpu0.util_percent":    37,
		"sys.gpu0.mem_used_bytes":  1024 << 20,
		"sys.gpu0.mem_total_bytes": 16384 << 20,
		"sys.gpu0.temp_celsius":    45,
		"sys.gpu0.power_watts":     71.25,
		"sys.gpu1.util_percent":    0,
		"sys.gpu1.mem_used_bytes":  10 << 20,
		"sys.gpu1.mem_total_bytes": 16384 << 20,
		"sys.gpu1.temp_celsius":    30,
	}
	keys := []string{"sys.go.goroutines"}
	for k := range want {
		keys = append(keys, k)
	}
	waitSysSeries(ctx, t, rd, run, keys, 3)
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}
	info, err := rd.GetRun(ctx, run.ID())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range info.Series {
		if _, ok := want[s.Key]; strings.HasPrefix(s.Key, "sys.gpu") && !ok {
			t.Errorf("unexpected series %s", s.Key)
		}
	}
	goroutines, err := rd.Series(ctx, run.ID(), "sys.go.goroutines", store.SeriesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range want {
		s, err := rd.Series(ctx, run.ID(), k, store.SeriesQuery{})
		if err != nil {
			t.Fatal(err)
		}
		// Every sample has the GPUs: the same steps as the other sys.* series.
		if fmt.Sprint(s.Step) != fmt.Sprint(goroutines.Step) {
			t.Errorf("%s at steps %v, sys.go.goroutines at %v", k, s.Step, goroutines.Step)
		}
		for i, got := range s.Value {
			if got != v {
				t.Errorf("%s = %v at point %d, want %v", k, got, i, v)
			}
		}
	}

	off, err := track.Start(ctx, track.Options{Addr: ts.addr, SpoolDir: t.TempDir(), NoSource: true, NoGPUMetrics: true, SysMetricsInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	have := waitSysSeries(ctx, t, rd, off, []string{"sys.go.goroutines"}, 3)
	if err := off.End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}
	for k := range have {
		if strings.HasPrefix(k, "sys.gpu") {
			t.Fatalf("NoGPUMetrics, yet %s", k)
		}
	}
}

// hangingNvidiaSMI is a fake that starts a child which never answers
// (as nvidia-smi on a wedged driver) and appends the child's pid to
// pidFile first.
func hangingNvidiaSMI(t *testing.T) (path, pidFile string) {
	pidFile = filepath.Join(t.TempDir(), "pids")
	dir := fakeNvidiaSMI(t, "sleep 60 &\necho $! >> '"+pidFile+"'\nwait\n")
	return filepath.Join(dir, "nvidia-smi"), pidFile
}

// readPids returns the pids in a hanging fake's pid file.
func readPids(t *testing.T, pidFile string) []int {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("pid file %q", b)
		}
		pids = append(pids, pid)
	}
	return pids
}

// waitGone waits (until ctx's deadline) for the processes to be gone:
// the query's kill reaches the fake's children too.
func waitGone(ctx context.Context, t *testing.T, pids []int) {
	t.Helper()
	for _, pid := range pids {
		for alive(pid) {
			select {
			case <-ctx.Done():
				t.Fatalf("process %d of the fake nvidia-smi still runs", pid)
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
}

// alive: the process exists and is not a zombie (an orphan whose reaper
// has not run yet is dead).
func alive(pid int) bool {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		i := strings.LastIndexByte(string(b), ')')
		return i < 0 || !strings.HasPrefix(string(b[i:]), ") Z")
	} else if runtime.GOOS == "linux" {
		return false
	}
	return syscall.Kill(pid, 0) == nil
}

// logRecords is a slog handler that keeps the messages of what is logged.
type logRecords struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecords) WithGroup(string) slog.Handler            { return l }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Level.String()+" "+r.Message)
	return nil
}

func (l *logRecords) count(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n
}

// TestSysMetricsGPUHang: an nvidia-smi that never answers is killed with
// its children after the query timeout; the sampler goes on sampling the
// rest, and after three failures stops asking, with one warning.
func TestSysMetricsGPUHang(t *testing.T) {
	cmd, pidFile := hangingNvidiaSMI(t)
	defer track.SetGPUTimeout(300 * time.Millisecond)()
	ts := startServer(t, "", "", server.Options{})
	ctx := ctxT(t, 60*time.Second)
	rd, err := track.Open(ctx, ts.addr, track.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	logs := &logRecords{}
	run, err := track.Start(ctx, track.Options{Addr: ts.addr, SpoolDir: t.TempDir(), NoSource: true, SysMetricsInterval: 20 * time.Millisecond, GPUCommand: cmd, Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	const warning = "WARN track: GPU metrics off"
	// Three queries time out, then samples come every interval again:
	// wait for the warning, then for 5 more samples.
	for logs.count(warning) == 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("no warning: %v", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	have := waitSysSeries(ctx, t, rd, run, []string{"sys.go.goroutines"}, 0)
	have = waitSysSeries(ctx, t, rd, run, []string{"sys.go.goroutines"}, have["sys.go.goroutines"]+5)
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}
	for k := range have {
		if strings.HasPrefix(k, "sys.gpu") {
			t.Fatalf("a hanging nvidia-smi, yet %s", k)
		}
	}
	if n := logs.count(warning); n != 1 {
		t.Fatalf("%d warnings", n)
	}
	pids := readPids(t, pidFile)
	// Under load a query may be killed before its shell started the child
	// (TestSysMetricsGPUHangEnd waits for one): none is fine, more is not.
	if len(pids) > 3 {
		t.Fatalf("nvidia-smi started %d children in 3 queries", len(pids))
	}
	waitGone(ctx, t, pids)
}

// TestSysMetricsGPUHangEnd: End during a query that would hang for an
// hour kills it (and its children) and returns.
func TestSysMetricsGPUHangEnd(t *testing.T) {
	cmd, pidFile := hangingNvidiaSMI(t)
	defer track.SetGPUTimeout(time.Hour)()
	ts := startServer(t, "", "", server.Options{})
	ctx := ctxT(t, 60*time.Second)
	run, err := track.Start(ctx, track.Options{Addr: ts.addr, SpoolDir: t.TempDir(), NoSource: true, SysMetricsInterval: 20 * time.Millisecond, GPUCommand: cmd})
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for len(pids) == 0 { // the query is in flight, its child started
		select {
		case <-ctx.Done():
			t.Fatalf("the fake nvidia-smi did not start: %v", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
		pids = readPids(t, pidFile)
	}
	ended := make(chan error, 1)
	go func() { ended <- run.End(ctx, track.StatusFinished) }()
	select {
	case err := <-ended:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done(): // End waits for the sampler: it would hang with the query
		t.Fatalf("End did not return: %v", ctx.Err())
	}
	waitGone(ctx, t, pids)
}
