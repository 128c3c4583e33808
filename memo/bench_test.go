package memo

import (
	"context"
	"testing"
)

// BenchmarkHit is memo.hit.ns: a memory hit with a small key, poly_y(1, 2).
func BenchmarkHit(b *testing.B) {
	c := New(Options{})
	f := Func2(c, "poly_y", func(ctx context.Context, a, b int) (float64, error) { return float64(a + b), nil })
	ctx := context.Background()
	f(ctx, 1, 2)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := f(ctx, 1, 2); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHitParallel is BenchmarkHit from GOMAXPROCS goroutines.
func BenchmarkHitParallel(b *testing.B) {
	c := New(Options{})
	f := Func2(c, "poly_y", func(ctx context.Context, a, b int) (float64, error) { return float64(a + b), nil })
	ctx := context.Background()
	f(ctx, 1, 2)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f(ctx, 1, 2)
		}
	})
}

// BenchmarkDirHit is memo.dir_hit.us: a storage hit of a 1 MB float64
// array (memory kept empty, so every call reads, checks and converts the
// .npy file).
func BenchmarkDirHit(b *testing.B) {
	st, err := OpenDir(b.TempDir(), DirOptions{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	c := New(Options{Storage: st, MaxMemory: -1})
	f := Func1(c, "big", func(ctx context.Context, n int) ([]float64, error) { return make([]float64, n), nil })
	ctx := context.Background()
	f(ctx, 1<<17) // 1 MiB
	b.SetBytes(8 << 17)
	b.ResetTimer()
	for b.Loop() {
		if v, err := f(ctx, 1<<17); err != nil || len(v) != 1<<17 {
			b.Fatal(err)
		}
	}
}

// BenchmarkHitFloat is BenchmarkHit with float64 parameters (the key goes
// through pyon's float formatting).
func BenchmarkHitFloat(b *testing.B) {
	c := New(Options{})
	f := Func2(c, "poly_y", func(ctx context.Context, a, b float64) (float64, error) { return a + b, nil })
	ctx := context.Background()
	f(ctx, 1.5, 2)
	b.ReportAllocs()
	for b.Loop() {
		f(ctx, 1.5, 2)
	}
}
