package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/sigoco/sigoco/memo"
)

// The memo suite times a memory hit of a cached function with a small key
// (memo.hit.ns, target <= 200 ns) against its floor, a mutex-guarded map
// lookup of the same key string (memo.hit.vs_map, > 1 would mean memo is
// faster), and a storage hit of a 1 MiB float64 array from a DirStorage
// (memo.dir_hit.us) against os.ReadFile of the same file
// (memo.dir_hit.vs_readfile). Each figure is the median of 5 rounds.
func init() { register("memo", benchMemo) }

// medianNs runs f n times per round, 5 rounds, and returns the median
// nanoseconds per call.
func medianNs(n int, f func() error) (float64, error) {
	var per []float64
	for range 5 {
		start := time.Now()
		for i := 0; i < n; i++ {
			if err := f(); err != nil {
				return 0, err
			}
		}
		per = append(per, float64(time.Since(start).Nanoseconds())/float64(n))
	}
	sort.Float64s(per)
	return per[2], nil
}

func benchMemo(cfg config) ([]result, error) {
	nHit, nDir := 1_000_000, 200
	if cfg.quick {
		nHit, nDir = 100_000, 20
	}
	ctx := context.Background()

	c := memo.New(memo.Options{})
	polyY := memo.Func2(c, "poly_y", func(ctx context.Context, a, b int) (float64, error) { return float64(a + b), nil })
	if _, err := polyY(ctx, 1, 2); err != nil {
		return nil, err
	}
	hit, err := medianNs(nHit, func() error { _, err := polyY(ctx, 1, 2); return err })
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	m := map[string]any{"poly_y(1, 2)": 3.0}
	key := []byte("poly_y(1, 2)")
	peer, _ := medianNs(nHit, func() error {
		mu.Lock()
		_, ok := m[string(key)]
		mu.Unlock()
		if !ok {
			return fmt.Errorf("missing")
		}
		return nil
	})

	dir, err := os.MkdirTemp("", "sigoco-bench-memo")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	st, err := memo.OpenDir(dir, memo.DirOptions{NoSync: true})
	if err != nil {
		return nil, err
	}
	dc := memo.New(memo.Options{Storage: st, MaxMemory: -1})
	big := memo.Func1(dc, "big", func(ctx context.Context, n int) ([]float64, error) { return make([]float64, n), nil })
	const n = 1 << 17 // 1 MiB of float64
	if _, err := big(ctx, n); err != nil {
		return nil, err
	}
	dirHit, err := medianNs(nDir, func() error {
		v, err := big(ctx, n)
		if err == nil && len(v) != n {
			err = fmt.Errorf("got %d elements", len(v))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	path := st.Path(memo.Key{Name: "big", Params: fmt.Sprint(n)}, "npy")
	readFile, err := medianNs(nDir, func() error { _, err := os.ReadFile(path); return err })
	if err != nil {
		return nil, err
	}
	return []result{
		{"memo.hit.ns", hit, "ns"},
		{"memo.hit.vs_map", peer / hit, "x"},
		{"memo.dir_hit.us", dirHit / 1000, "us"},
		{"memo.dir_hit.vs_readfile", readFile / dirHit, "x"},
	}, nil
}
