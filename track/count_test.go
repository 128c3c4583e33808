package track_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

func countsOf(t *testing.T, ctx context.Context, addr, id string) map[string]any {
	t.Helper()
	rd, err := track.Open(ctx, addr, track.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	info, err := rd.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return info.Counts
}

func callsOf(counts map[string]any, name string) int64 {
	m, _ := counts[name].(map[string]any)
	switch v := m["calls"].(type) {
	case int64:
		return v
	case float64:
		return int64(v)
	case uint64:
		return int64(v)
	case int:
		return int64(v)
	}
	return -1
}

// TestCountedSignatures: every Counted variant and Wrap count their calls
// and return what the function returns.
func TestCountedSignatures(t *testing.T) {
	ts := startServer(t, "", "", server.Options{})
	ctx := ctxT(t, 30*time.Second)
	run, err := track.Start(ctx, track.Options{Addr: ts.addr, SpoolDir: t.TempDir(), NoSource: true, NoMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	errOdd := errors.New("odd")
	if got := track.Counted0(run, "c0", func() int { return 7 })(); got != 7 {
		t.Fatal(got)
	}
	if got := track.Counted2(run, "c2", func(a, b int) int { return a + b })(1, 2); got != 3 {
		t.Fatal(got)
	}
	if got := track.Counted3(run, "c3", func(a, b int, c string) string { return c + strconv.Itoa(a*b) })(2, 3, "x"); got != "x6" {
		t.Fatal(got)
	}
	half := track.CountedR2(run, "half", func(n int) (int, error) {
		if n%2 == 1 {
			return 0, errOdd
		}
		return n / 2, nil
	})
	if v, err := half(4); v != 2 || err != nil {
		t.Fatal(v, err)
	}
	if _, err := half(3); err != errOdd {
		t.Fatal(err)
	}
	if a, b := track.Counted0R2(run, "c0r2", func() (int, int) { return 1, 2 })(); a != 1 || b != 2 {
		t.Fatal(a, b)
	}
	if a, b := track.Counted2R2(run, "c2r2", func(x, y int) (int, int) { return y, x })(1, 2); a != 2 || b != 1 {
		t.Fatal(a, b)
	}
	if a, b := track.Counted3R2(run, "c3r2", func(x, y, z int) (int, int) { return x + y, z })(1, 2, 3); a != 3 || b != 3 {
		t.Fatal(a, b)
	}
	n := 0
	track.Counted0R0(run, "c0r0", func() { n++ })()
	track.CountedR0(run, "cr0", func(k int) { n += k })(2)
	track.Counted2R0(run, "c2r0", func(a, b int) { n += a + b })(1, 1)
	track.Counted3R0(run, "c3r0", func(a, b, c int) { n += a + b + c })(1, 1, 1)
	if n != 8 {
		t.Fatal(n)
	}
	// Wrap: four arguments, variadic, three results.
	sum := track.Wrap(run, "sum", func(ctx context.Context, scale float64, label string, xs ...float64) (float64, string, error) {
		s := 0.0
		for _, x := range xs {
			s += x
		}
		return s * scale, label, nil
	}, track.WrapOptions{})
	for i := range 3 {
		if v, l, err := sum(ctx, 2, "a", 1, float64(i)); v != 2*(1+float64(i)) || l != "a" || err != nil {
			t.Fatal(v, l, err)
		}
	}
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}
	counts := countsOf(t, ctx, ts.addr, run.ID())
	for name, want := range map[string]int64{"c0": 1, "c2": 1, "c3": 1, "half": 2, "c0r2": 1, "c2r2": 1, "c3r2": 1,
		"c0r0": 1, "cr0": 1, "c2r0": 1, "c3r0": 1, "sum": 3} {
		if got := callsOf(counts, name); got != want {
			t.Errorf("%s: %d calls, want %d (counts %v)", name, got, want, counts)
		}
	}
}

// TestWrapSaveResult: Wrap with SaveResult and SaveArgs logs results and
// arguments at the call's number; a context argument and an error result
// are left out.
func TestWrapSaveResult(t *testing.T) {
	ts := startServer(t, "", "", server.Options{})
	ctx := ctxT(t, 30*time.Second)
	run, err := track.Start(ctx, track.Options{Addr: ts.addr, SpoolDir: t.TempDir(), NoSource: true, NoMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	square := track.Wrap(run, "square", func(ctx context.Context, x float64) (float64, error) { return x * x, nil },
		track.WrapOptions{SaveResult: true, SaveArgs: true})
	split := track.Wrap(run, "split", func(s string) (string, string) { a, b, _ := strings.Cut(s, ","); return a, b },
		track.WrapOptions{SaveResult: true})
	for _, x := range []float64{1, 2, 3} {
		square(ctx, x)
	}
	split("a,b")
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}
	rd, err := track.Open(ctx, ts.addr, track.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	s, err := rd.Series(ctx, run.ID(), "square", store.SeriesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Value, []float64{1, 4, 9}) || !reflect.DeepEqual(s.Step, []int64{0, 1, 2}) {
		t.Fatalf("square: %v at %v", s.Value, s.Step)
	}
	args, err := rd.Series(ctx, run.ID(), "square.args", store.SeriesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(args.Values) != 3 || !reflect.DeepEqual(args.Values[2], []any{3.0}) {
		t.Fatalf("square.args: %#v", args.Values)
	}
	info, err := rd.GetRun(ctx, run.ID())
	if err != nil {
		t.Fatal(err)
	}
	if info.Latest["split.0"].Value != "a" || info.Latest["split.1"].Value != "b" {
		t.Fatalf("split: %v", info.Latest)
	}
	if _, ok := info.Latest["square.1"]; ok {
		t.Fatal("an error result was logged")
	}
}

// TestCountInterval: with CountInterval the counts reach the server
// during the run.
func TestCountInterval(t *testing.T) {
	ts := startServer(t, "", "", server.Options{})
	ctx := ctxT(t, 30*time.Second)
	run, err := track.Start(ctx, track.Options{Addr: ts.addr, SpoolDir: t.TempDir(), NoSource: true, NoMetadata: true,
		CountInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer run.End(ctx, track.StatusFinished)
	step := track.Counted(run, "step", func(i int) int { return i })
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		step(i)
		time.Sleep(5 * time.Millisecond)
		if i%10 == 9 {
			if err := run.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if callsOf(countsOf(t, ctx, ts.addr, run.ID()), "step") > 0 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no counts on the server before End")
		}
	}
}

// TestNilRunWarnsOnce: logging on a nil run warns once through the
// package's logger; MustFromContext panics with ErrNoRun.
func TestNilRunWarnsOnce(t *testing.T) {
	var buf bytes.Buffer
	track.SetLogger(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { track.SetLogger(nil) })
	track.ResetNilRunWarning()
	r := track.FromContext(context.Background())
	r.LogResult("x", 1.0, 0)
	r.LogParam("p", 1)
	r.Count("c")
	if n := strings.Count(buf.String(), "nil run"); n != 1 || !strings.Contains(buf.String(), "level=WARN") || !strings.Contains(buf.String(), "method=LogResult") {
		t.Fatalf("want one warning naming LogResult, got: %s", buf.String())
	}
	func() {
		defer func() {
			if p := recover(); p != track.ErrNoRun {
				t.Fatalf("MustFromContext panicked with %v", p)
			}
		}()
		track.MustFromContext(context.Background())
	}()
	ts := startServer(t, "", "", server.Options{})
	ctx := ctxT(t, 30*time.Second)
	run, err := track.Start(ctx, track.Options{Addr: ts.addr, SpoolDir: t.TempDir(), NoSource: true, NoMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	defer run.End(ctx, track.StatusFinished)
	if track.MustFromContext(track.NewContext(ctx, run)) != run {
		t.Fatal("MustFromContext lost the run")
	}
}
