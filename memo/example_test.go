package memo_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/sigoco/sigoco/memo"
)

// The seed's parameterized usage: poly_y uses the cached poly_x, and a
// second call with the same parameters is a cache hit.
func Example() {
	dir, _ := os.MkdirTemp("", "memo")
	defer os.RemoveAll(dir)
	st, err := memo.OpenDir(dir, memo.DirOptions{})
	if err != nil {
		log.Fatal(err)
	}
	cache := memo.New(memo.Options{Storage: st})

	polyX := memo.Func1(cache, "poly_x", func(ctx context.Context, a int) ([]float64, error) {
		fmt.Println("computing poly_x", a)
		return []float64{float64(a), float64(a * a)}, nil
	})
	polyY := memo.Func2(cache, "poly_y", func(ctx context.Context, a, b int) (float64, error) {
		fmt.Println("computing poly_y", a, b)
		x, err := polyX(ctx, a) // the cached poly_x
		if err != nil {
			return 0, err
		}
		return x[1] + float64(b), nil
	})

	ctx := context.Background()
	y, _ := polyY(ctx, 1, 2)
	fmt.Println(y)
	y, _ = polyY(ctx, 1, 2) // from memory
	fmt.Println(y)
	y, _ = polyY(ctx, 1, 3) // poly_x(1) from memory
	fmt.Println(y)
	// Output:
	// computing poly_y 1 2
	// computing poly_x 1
	// 3
	// 3
	// computing poly_y 1 3
	// 4
}

// Declare a grid and compute it all (overnight), then call only declared
// parameters: Strict is the seed's dynamic_metric_creation=False.
func ExampleCache_GetAll() {
	cache := memo.New(memo.Options{Strict: true, Quiet: true})
	memo.Func2(cache, "poly_y", func(ctx context.Context, a, b int) (int, error) { return a*10 + b, nil })
	if err := cache.Declare("poly_y", memo.Product([]any{1, 4}, []any{2, 3})...); err != nil {
		log.Fatal(err)
	}
	res, err := cache.GetAll(context.Background())
	fmt.Printf("%+v %v\n", res, err)
	_, err = cache.Get(context.Background(), "poly_y", 12, 13)
	fmt.Println(err)
	// Output:
	// {Total:4 Skipped:0 Computed:4 Failed:0} <nil>
	// memo: undeclared parameters: poly_y(12, 13) was not declared
}

// Force recomputes and overwrites (the seed's use_stored=False); Load gives
// the entry with its dates.
func ExampleCache_Force() {
	cache := memo.New(memo.Options{})
	n := 0
	next := memo.Func0(cache, "next", func(ctx context.Context) (int, error) { n++; return n, nil })
	ctx := context.Background()
	a, _ := next(ctx)
	b, _ := next(ctx)
	c, _ := cache.Force(ctx, "next")
	d, _ := next(ctx)
	e, _ := cache.Load(ctx, "next")
	fmt.Println(a, b, c, d, e.Key, e.Computed.IsZero())
	// Output: 1 1 2 2 next() false
}
