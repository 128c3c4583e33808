package memo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func newDirCache(t *testing.T, opts Options) (*Cache, *DirStorage) {
	t.Helper()
	st, err := OpenDir(t.TempDir(), DirOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	opts.Storage = st
	return New(opts), st
}

func TestHitsAndMisses(t *testing.T) {
	ctx := context.Background()
	c, _ := newDirCache(t, Options{})
	var calls atomic.Int64
	polyY := Func2(c, "poly_y", func(ctx context.Context, a, b int) ([]float64, error) {
		calls.Add(1)
		return []float64{float64(a), float64(b), float64(a * b)}, nil
	})
	for _, tc := range []struct {
		a, b  int
		calls int64
	}{{1, 2, 1}, {1, 2, 1}, {1, 3, 2}, {1, 3, 2}, {2, 1, 3}, {1, 2, 3}} {
		v, err := polyY(ctx, tc.a, tc.b)
		if err != nil {
			t.Fatal(err)
		}
		if v[2] != float64(tc.a*tc.b) || calls.Load() != tc.calls {
			t.Fatalf("poly_y(%d, %d) = %v after %d calls, want %d calls", tc.a, tc.b, v, calls.Load(), tc.calls)
		}
	}
	if !c.Exists("poly_y", 1, 2) || c.Exists("poly_y", 5, 5) {
		t.Fatal("Exists wrong")
	}
	// From storage after Clear: no new call, same value, typed.
	c.Clear()
	if c.Exists("poly_y", 1, 2) {
		t.Fatal("Exists after Clear")
	}
	v, err := polyY(ctx, 1, 3)
	if err != nil || v[2] != 3 || calls.Load() != 3 {
		t.Fatalf("after Clear: %v %v calls=%d", v, err, calls.Load())
	}
	// Untyped Get converts parameters: 1.0 is poly_y's int 1.
	g, err := c.Get(ctx, "poly_y", 1.0, 3)
	if err != nil || calls.Load() != 3 {
		t.Fatalf("Get: %v %v calls=%d", g, err, calls.Load())
	}
	if _, err := c.Get(ctx, "poly_y", "x", 3); !errors.Is(err, ErrParams) {
		t.Fatalf("Get with a string: %v, want ErrParams", err)
	}
	if _, err := c.Get(ctx, "nope"); !errors.Is(err, ErrUnknown) {
		t.Fatalf("Get unknown: %v", err)
	}
}

func TestMapKeyOrderAndTypes(t *testing.T) {
	ctx := context.Background()
	c := New(Options{})
	var calls atomic.Int64
	f := Func1(c, "f", func(ctx context.Context, p any) (int64, error) { return calls.Add(1), nil })
	steps := []struct {
		p     any
		calls int64
	}{
		{map[string]any{"a": 1, "b": 2}, 1},
		{map[string]any{"b": 2, "a": 1}, 1},
		{map[int]string{2: "x", 1: "y"}, 2},
		{map[int]string{1: "y", 2: "x"}, 2},
		{1, 3},
		{1.0, 4}, // any parameter: an int and a float are different
		{int32(1), 4},
		{"a<b", 5},
		{"a<b", 5},
	}
	for i, s := range steps {
		if _, err := f(ctx, s.p); err != nil {
			t.Fatal(err)
		}
		if calls.Load() != s.calls {
			t.Fatalf("step %d (%#v): %d calls, want %d", i, s.p, calls.Load(), s.calls)
		}
	}
}

func TestDependencies(t *testing.T) {
	ctx := context.Background()
	c, _ := newDirCache(t, Options{})
	var xCalls, yCalls atomic.Int64
	polyX := Func1(c, "poly_x", func(ctx context.Context, a int) (float64, error) {
		xCalls.Add(1)
		return float64(a) * 10, nil
	})
	polyY := Func2(c, "poly_y", func(ctx context.Context, a, b int) (float64, error) {
		yCalls.Add(1)
		x, err := polyX(ctx, a)
		return x*x + float64(b), err
	})
	if v, err := polyY(ctx, 1, 2); err != nil || v != 102 {
		t.Fatal(v, err)
	}
	if v, err := polyY(ctx, 1, 3); err != nil || v != 103 {
		t.Fatal(v, err)
	}
	if xCalls.Load() != 1 || yCalls.Load() != 2 {
		t.Fatalf("x %d y %d calls, want 1 and 2", xCalls.Load(), yCalls.Load())
	}
}

func TestCycle(t *testing.T) {
	c := New(Options{})
	var f func(context.Context, int) (int, error)
	f = Func1(c, "f", func(ctx context.Context, n int) (int, error) {
		if n == 0 {
			return f(ctx, 1)
		}
		return f(ctx, 0)
	})
	done := make(chan error, 1)
	go func() { _, err := f(context.Background(), 0); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrCycle) {
			t.Fatalf("err = %v, want ErrCycle", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a cycle deadlocked")
	}
}

func TestForceAndDates(t *testing.T) {
	ctx := context.Background()
	c, st := newDirCache(t, Options{Run: "run-7"})
	var n atomic.Int64
	f := Func1(c, "f", func(ctx context.Context, a int) (int64, error) {
		time.Sleep(2 * time.Millisecond)
		return n.Add(1), nil
	})
	before := time.Now().UTC()
	if v, _ := f(ctx, 1); v != 1 {
		t.Fatal(v)
	}
	e, err := c.Load(ctx, "f", 1)
	if err != nil {
		t.Fatal(err)
	}
	if e.Computed.Before(before) || e.Computed.After(time.Now()) || e.Duration < 2*time.Millisecond || e.Run != "run-7" {
		t.Fatalf("entry %+v", e)
	}
	v, err := c.Force(ctx, "f", 1)
	if err != nil || v != int64(2) {
		t.Fatal(v, err)
	}
	if v, _ := f(ctx, 1); v != 2 {
		t.Fatalf("after Force: %d", v)
	}
	// Storage has the forced value with a later date.
	s, err := st.Load(ctx, Key{"f", "1"})
	if err != nil || s.Value != int64(2) || !s.Computed.After(e.Computed) {
		t.Fatalf("stored %+v %v", s, err)
	}
	// A fresh cache over the same directory reads the dates back.
	c2 := New(Options{Storage: st})
	e2, err := c2.Load(ctx, "f", 1)
	if err != nil || !e2.Computed.Equal(s.Computed) || e2.Duration != s.Duration || e2.Run != "run-7" {
		t.Fatalf("fresh cache: %+v %v", e2, err)
	}
	if err := c.Delete(ctx, "f", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Load(ctx, "f", 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after Delete: %v", err)
	}
	if v, _ := f(ctx, 1); v != 3 {
		t.Fatalf("after Delete: %d", v)
	}
}

func TestErrorsNotCached(t *testing.T) {
	ctx := context.Background()
	c, _ := newDirCache(t, Options{})
	boom := errors.New("boom")
	var n atomic.Int64
	f := Func0(c, "f", func(ctx context.Context) (int, error) {
		if n.Add(1) == 1 {
			return 0, boom
		}
		return 7, nil
	})
	_, err := f(ctx)
	var ce *ComputeError
	if !errors.Is(err, boom) || !errors.As(err, &ce) || ce.Key.String() != "f()" {
		t.Fatalf("err = %v", err)
	}
	if v, err := f(ctx); v != 7 || err != nil {
		t.Fatal(v, err)
	}
}

func TestSingleFlightGoroutines(t *testing.T) {
	ctx := context.Background()
	c, _ := newDirCache(t, Options{})
	var calls atomic.Int64
	release := make(chan struct{})
	started := make(chan struct{})
	f := Func1(c, "slow", func(ctx context.Context, a int) (int, error) {
		if calls.Add(1) == 1 {
			close(started)
		}
		<-release
		return a * 2, nil
	})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := f(ctx, 21)
			if err == nil && v != 42 {
				err = fmt.Errorf("got %d", v)
			}
			errs <- err
		}()
	}
	<-started
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("%d computations, want 1", calls.Load())
	}
}

func TestLeaderCancelled(t *testing.T) {
	c := New(Options{})
	var calls atomic.Int64
	started := make(chan struct{}, 2)
	f := Func0(c, "f", func(ctx context.Context) (int, error) {
		n := calls.Add(1)
		started <- struct{}{}
		if n == 1 {
			<-ctx.Done()
			return 0, ctx.Err()
		}
		return 5, nil
	})
	ctx1, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { _, err := f(ctx1); first <- err }()
	<-started
	second := make(chan int, 1)
	go func() { v, _ := f(context.Background()); second <- v }()
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("first: %v", err)
	}
	if v := <-second; v != 5 {
		t.Fatalf("second got %d, want its own computation's 5", v)
	}
}

func TestStrictAndGetAll(t *testing.T) {
	ctx := context.Background()
	c, st := newDirCache(t, Options{Strict: true, Quiet: true, Parallel: 3})
	var calls atomic.Int64
	polyY := Func2(c, "poly_y", func(ctx context.Context, a, b int) (int, error) {
		calls.Add(1)
		return a*100 + b, nil
	})
	if err := c.Declare("poly_y", []any{1, 2}, []any{1, 3}, []any{4, 5}); err != nil {
		t.Fatal(err)
	}
	if err := c.Declare("poly_y", []any{"x", 1}); !errors.Is(err, ErrParams) {
		t.Fatalf("Declare bad: %v", err)
	}
	if _, err := polyY(ctx, 12, 13); !errors.Is(err, ErrUndeclared) {
		t.Fatalf("undeclared: %v", err)
	}
	if v, err := polyY(ctx, 1, 3); err != nil || v != 103 {
		t.Fatal(v, err)
	}
	res, err := c.GetAll(ctx)
	if err != nil || res != (GetAllResult{Total: 3, Skipped: 1, Computed: 2}) {
		t.Fatalf("GetAll: %+v %v", res, err)
	}
	// Resumption: a new process (cache) over the same storage skips all.
	c2 := New(Options{Storage: st, Strict: true, Quiet: true})
	Func2(c2, "poly_y", func(ctx context.Context, a, b int) (int, error) {
		t.Error("recomputed a stored entry")
		return 0, nil
	})
	c2.Declare("poly_y", Product([]any{1, 4}, []any{2, 3, 5})...)
	st.Delete(ctx, Key{"poly_y", "4, 5"})
	var missing []string
	c3 := New(Options{Storage: st, Quiet: true})
	Func2(c3, "poly_y", func(ctx context.Context, a, b int) (int, error) {
		missing = append(missing, fmt.Sprint(a, b))
		return a*100 + b, nil
	})
	c3.Declare("poly_y", Product([]any{1, 4}, []any{2, 3, 5})...)
	c3.opts.Parallel = 1
	res, err = c3.GetAll(ctx, "poly_y")
	if err != nil || res != (GetAllResult{Total: 6, Skipped: 2, Computed: 4}) {
		t.Fatalf("resumed GetAll: %+v %v (computed %v)", res, err, missing)
	}
	if _, err := c3.GetAll(ctx, "nope"); !errors.Is(err, ErrUnknown) {
		t.Fatal(err)
	}
}

func TestGetAllErrorsAndCancel(t *testing.T) {
	c := New(Options{Quiet: true, Parallel: 2})
	Func1(c, "f", func(ctx context.Context, a int) (int, error) {
		if a%2 == 1 {
			return 0, fmt.Errorf("odd %d", a)
		}
		return a, nil
	})
	c.Declare("f", []any{1}, []any{2}, []any{3}, []any{4})
	res, err := c.GetAll(context.Background())
	if res != (GetAllResult{Total: 4, Computed: 2, Failed: 2}) || err == nil {
		t.Fatalf("%+v %v", res, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.GetAll(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled GetAll: %v", err)
	}
}

func TestMemoryBound(t *testing.T) {
	ctx := context.Background()
	c, _ := newDirCache(t, Options{MaxMemory: 3 * (8*1000 + 100)})
	var calls atomic.Int64
	f := Func1(c, "big", func(ctx context.Context, a int) ([]float64, error) {
		calls.Add(1)
		return make([]float64, 1000), nil
	})
	for i := range 10 {
		if _, err := f(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	if used := c.MemoryUsed(); used > 3*(8*1000+100) {
		t.Fatalf("memory used %d", used)
	}
	if c.Exists("big", 0) || !c.Exists("big", 9) {
		t.Fatal("LRU kept the wrong entries")
	}
	if _, err := f(ctx, 0); err != nil || calls.Load() != 10 {
		t.Fatalf("evicted entry not read from storage: %v, %d calls", err, calls.Load())
	}
}

func TestGetAllBoundedAndInterrupted(t *testing.T) {
	ctx := context.Background()
	c, st := newDirCache(t, Options{Quiet: true, Parallel: 2})
	var running, peak, calls atomic.Int64
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	Func1(c, "g", func(ctx context.Context, a int) (int, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		if calls.Add(1) == 4 {
			cancel() // interrupt the overnight run after 4 entries started
		}
		return a, nil
	})
	grid := Product([]any{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	c.Declare("g", grid...)
	res, err := c.GetAll(gctx)
	if !errors.Is(err, context.Canceled) || res.Computed+res.Failed >= 10 {
		t.Fatalf("interrupted GetAll: %+v %v", res, err)
	}
	if peak.Load() > 2 {
		t.Fatalf("%d entries computed at once, Parallel is 2", peak.Load())
	}
	// Resume in a new cache: only the entries not stored are computed.
	stored := 0
	for i := range 10 {
		if ok, _ := st.Exists(ctx, Key{"g", fmt.Sprint(i)}); ok {
			stored++
		}
	}
	c2 := New(Options{Storage: st, Quiet: true})
	Func1(c2, "g", func(ctx context.Context, a int) (int, error) { return a, nil })
	c2.Declare("g", grid...)
	res, err = c2.GetAll(ctx)
	if err != nil || res.Skipped != stored || res.Computed != 10-stored {
		t.Fatalf("resumed: %+v %v, %d were stored", res, err, stored)
	}
}
