// Package memo caches named, parameterized results ("metrics") in memory
// and in a persistent Storage, so an expensive analysis step is computed
// once: the Go form of the simple-metrics-manager seed (docs/memo.md maps
// its API to this one).
//
//	cache := memo.New(memo.Options{Storage: dir})
//	polyX := memo.Func1(cache, "poly_x", func(ctx context.Context, a int) ([]float64, error) { ... })
//	polyY := memo.Func2(cache, "poly_y", func(ctx context.Context, a, b int) ([]float64, error) {
//		x, err := polyX(ctx, a) // cached too: dependencies resolve themselves
//		...
//	})
//	y, err := polyY(ctx, 1, 2) // computed once, then from memory or the directory
//
// # Keys
//
// An entry is a metric name and its parameters, written canonically in the
// value model (package pyon's PYON v2 text, values separated by ", "):
// poly_y(1, 2) and poly_y(1, 3) are different entries. Parameters are
// equal when their text is: the order of Go map keys, of sets and of dicts
// does not matter (they are sorted); types do, as in Python's text of the
// value: for a parameter of type any, 1 (an int) and 1.0 (a float) are
// different entries (for a typed float64 parameter both are 1.0, so the
// same). Untyped calls (Get, Force, Declare) convert their parameters to
// the metric's Go types first, so Get(ctx, "poly_y", 1.0, 2) is poly_y(1, 2).
// The ctx is never part of a key.
//
// # Values
//
// In memory a value is kept as the function returned it. In storage it is
// in the value model; reading it back converts it to the function's result
// type with pyon.Convert (a numpy array to []float64, a dict to a struct,
// ...). Arrays ([]float64, []int64, []int32, []bool, []complex128,
// [][]float64, pyon.NDArray) are stored as numpy .npy files by DirStorage.
// A stored value that no longer converts (the function's type changed) is
// recomputed. Every entry records when it was computed and how long that
// took (Entry.Computed, Entry.Duration; see Load).
//
// # Errors
//
// A metric function's error is returned wrapped in a *ComputeError and is
// not cached: the next call computes again. A corrupt stored entry is
// never returned: it is recomputed and overwritten (and reported to
// Options.Logger); Load, which never computes, returns the *CorruptError.
//
// # Single flight
//
// Callers of one entry at the same time share one computation, in one
// process and, with a DirStorage or JSONStorage, across processes sharing
// the directory (a flock(2) lock file per entry, released by the kernel if
// its holder dies), or with a TrackStorage across machines (a lease).
// The computation runs with the first caller's ctx; if
// that caller gives up, a waiting caller starts again in its place.
//
// # Shared storage on the tracking server
//
// OpenTrack returns a TrackStorage: entries kept by trackd, keyed by
// project and Key, each recording the run that computed it (Entry.Run,
// from Options.Run), so a team shares cached metrics across machines.
// Its lock is a lease on the server that expires if its holder dies.
package memo
