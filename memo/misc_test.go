package memo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	c := New(Options{Progress: &buf})
	Func1(c, "f", func(ctx context.Context, a int) (int, error) { return a, nil })
	c.Declare("f", []any{1}, []any{2}, []any{3})
	if _, err := c.GetAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, "memo") || !strings.Contains(out, "3/3") {
		t.Fatalf("progress output %q", out)
	}
	// Not a terminal and no writer: no bar (nothing to check but no panic).
	c2 := New(Options{})
	Func0(c2, "g", func(ctx context.Context) (int, error) { return 1, nil })
	if res, err := c2.GetAll(context.Background()); err != nil || res.Computed != 1 {
		t.Fatal(res, err)
	}
}

func TestMoreParams(t *testing.T) {
	ctx := context.Background()
	c, _ := newDirCache(t, Options{})
	f3 := Func3(c, "f3", func(ctx context.Context, a int, b string, x []float64) (string, error) {
		return b + strings.Repeat("!", a) + "x", nil
	})
	if v, err := f3(ctx, 2, "hi", []float64{1.5}); err != nil || v != "hi!!x" {
		t.Fatal(v, err)
	}
	if v, err := c.Get(ctx, "f3", 2, "hi", []any{1.5}); err != nil || v != "hi!!x" {
		t.Fatal(v, err)
	}
	if _, err := c.Get(ctx, "f3", 2); !errors.Is(err, ErrParams) {
		t.Fatal(err)
	}
	var calls int
	fn := FuncN(c, "fn", func(ctx context.Context, p ...any) (int, error) { calls++; return len(p), nil })
	for _, p := range [][]any{{}, {1}, {1, 2}, {1, 2}, {1}} {
		if v, err := fn(ctx, p...); err != nil || v != len(p) {
			t.Fatal(v, err)
		}
	}
	if calls != 3 {
		t.Fatalf("%d calls, want 3", calls)
	}
}

func TestLoadUnregistered(t *testing.T) {
	ctx := context.Background()
	c, st := newDirCache(t, Options{})
	Func1(c, "f", func(ctx context.Context, a int) (map[string]float64, error) {
		return map[string]float64{"a": float64(a)}, nil
	})
	if _, err := c.Get(ctx, "f", 3); err != nil {
		t.Fatal(err)
	}
	other := New(Options{Storage: st}) // a program that does not know f
	e, err := other.Load(ctx, "f", 3)
	if err != nil || !reflect.DeepEqual(e.Value, map[string]any{"a": 3.0}) {
		t.Fatalf("%+v %v", e, err)
	}
	if _, err := other.Load(ctx, "f", 4); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := other.Load(ctx, "../x"); !errors.Is(err, ErrParams) {
		t.Fatal(err)
	}
}

func TestRegisterPanics(t *testing.T) {
	c := New(Options{})
	Func0(c, "a", func(ctx context.Context) (int, error) { return 0, nil })
	for _, name := range []string{"a", "", ".x", "a/b", "a(b", strings.Repeat("x", 101)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("name %q accepted", name)
				}
			}()
			Func0(c, name, func(ctx context.Context) (int, error) { return 0, nil })
		}()
	}
}

func TestPythonReadsJSON(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3")
	}
	ctx := context.Background()
	st, err := OpenJSON(t.TempDir(), DirOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	c := New(Options{Storage: st})
	Func1(c, "f", func(ctx context.Context, a int) (map[string]any, error) {
		return map[string]any{"list": []float64{1, 2}, "n": a}, nil
	})
	if _, err := c.Get(ctx, "f", 5); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("python3", "-c", "import json, sys; d = json.load(open(sys.argv[1])); print(d['params'], d['value'])",
		st.Path(Key{"f", "5"})).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "5 {'list': [1.0, 2.0], 'n': 5}" {
		t.Fatalf("%s %v", out, err)
	}
}

func TestPanicReleasesWaiters(t *testing.T) {
	c := New(Options{})
	started, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int64
	f := Func0(c, "p", func(ctx context.Context) (int, error) {
		if calls.Add(1) > 1 {
			return 1, nil
		}
		close(started)
		<-release
		panic("boom")
	})
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		f(context.Background())
	}()
	<-started
	waiter := make(chan error, 1)
	go func() { _, err := c.Get(context.Background(), "p"); waiter <- err }()
	// The waiter may join the flight or start after it; either way it must
	// not hang. Give it the chance to join, then let the metric panic.
	for i := 0; i < 100 && !c.inFlight("p()"); i++ {
	}
	close(release)
	if r := <-panicked; r != "boom" {
		t.Fatalf("recovered %v", r)
	}
	if err := <-waiter; err == nil && calls.Load() != 2 {
		t.Fatal("waiter got no error and computed nothing")
	}
}

func TestForceMakesCallersWait(t *testing.T) {
	ctx := context.Background()
	c := New(Options{})
	var n atomic.Int64
	inForce, release := make(chan struct{}), make(chan struct{})
	f := Func0(c, "f", func(ctx context.Context) (int64, error) {
		v := n.Add(1)
		if v == 2 {
			close(inForce)
			<-release
		}
		return v, nil
	})
	if v, _ := f(ctx); v != 1 {
		t.Fatal(v)
	}
	forced := make(chan any, 1)
	go func() { v, _ := c.Force(ctx, "f"); forced <- v }()
	<-inForce
	got := make(chan int64, 1)
	go func() { v, _ := f(ctx); got <- v }()
	// The call must wait for the Force; give it time to (wrongly) return.
	// This cannot flake: with the right behaviour nothing arrives here.
	select {
	case v := <-got:
		t.Fatalf("a call during Force returned %d before the new value existed", v)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if v := <-forced; v != int64(2) {
		t.Fatalf("Force returned %v", v)
	}
	if v := <-got; v != 2 {
		t.Fatalf("a call during Force got %d, want the new value 2", v)
	}
}

// TestConcurrentMix runs calls, Force, Clear, Delete and Load on a few
// keys from many goroutines over a small memory bound, for the race
// detector, and checks every value returned is the key's.
func TestConcurrentMix(t *testing.T) {
	ctx := context.Background()
	c, _ := newDirCache(t, Options{MaxMemory: 2000})
	f := Func1(c, "f", func(ctx context.Context, a int) ([]int64, error) {
		return []int64{int64(a), int64(a) * 2}, nil
	})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				a := (g + i) % 5
				var err error
				switch i % 7 {
				case 0:
					_, err = c.Force(ctx, "f", a)
				case 1:
					c.Clear()
				case 2:
					err = c.Delete(ctx, "f", a)
				case 3:
					if _, e := c.Load(ctx, "f", a); e != nil && !errors.Is(e, ErrNotFound) {
						err = e
					}
				default:
					var v []int64
					if v, err = f(ctx, a); err == nil && (len(v) != 2 || v[0] != int64(a) || v[1] != int64(2*a)) {
						err = fmt.Errorf("f(%d) = %v", a, v)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c.MemoryUsed() > 2000 || c.MemoryUsed() < 0 {
		t.Fatalf("memory used %d", c.MemoryUsed())
	}
}
