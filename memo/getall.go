package memo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Exister is implemented by storages that can tell whether an entry is
// stored without reading it (DirStorage, JSONStorage); GetAll uses it to
// skip stored entries cheaply.
type Exister interface {
	Exists(ctx context.Context, key Key) (bool, error)
}

// GetAllResult counts what GetAll did.
type GetAllResult struct {
	Total    int // declared parameter sets
	Skipped  int // already in memory or storage
	Computed int
	Failed   int
}

// GetAll computes every declared parameter set (see Declare) of the named
// metrics — of all registered metrics if none are named, in name order —
// that is not already stored: the seed's get_all, for running a grid
// overnight. It is resumable: run it again after an interruption and
// stored entries are skipped. It computes Options.Parallel entries at once
// and draws a progress bar (see Options.Progress). A failing entry does
// not stop the others; the error joins every failure (each a
// *ComputeError or a storage error). When ctx ends GetAll stops starting
// entries, waits for those running and returns ctx's error.
//
// Computed values are not kept in memory by GetAll (an overnight grid
// need not fit); they are in the storage. Without a Storage they are kept
// as usual.
func (c *Cache) GetAll(ctx context.Context, names ...string) (GetAllResult, error) {
	type job struct {
		m      *metric
		key    Key
		params []any
	}
	c.mu.Lock()
	if len(names) == 0 {
		for name := range c.metrics {
			names = append(names, name)
		}
		slices.Sort(names)
	}
	var jobs []job
	var unknown []string
	for _, name := range names {
		m := c.metrics[name]
		if m == nil {
			unknown = append(unknown, name)
			continue
		}
		for _, params := range m.grid {
			k, err := keyOf(nil, name, params...)
			if err != nil { // cannot happen: Declare encoded them
				c.mu.Unlock()
				return GetAllResult{}, err
			}
			jobs = append(jobs, job{m, keyFromText(name, k), params})
		}
	}
	c.mu.Unlock()
	if len(unknown) > 0 {
		return GetAllResult{}, fmt.Errorf("%w: %q", ErrUnknown, unknown)
	}

	res := GetAllResult{Total: len(jobs)}
	bar := c.progressBar(len(jobs))
	var (
		mu   sync.Mutex // guards res and errs
		errs []error
		wg   sync.WaitGroup
	)
	par := c.opts.Parallel
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	sem := make(chan struct{}, par)
loop:
	for _, j := range jobs {
		// Checked first: select picks at random when a slot is free
		// and ctx is done, which would start more entries after
		// an interruption.
		if ctx.Err() != nil {
			break loop
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			computed, err := c.precompute(ctx, j.m, j.key, j.params)
			mu.Lock()
			switch {
			case err != nil:
				res.Failed++
				errs = append(errs, err)
			case computed:
				res.Computed++
			default:
				res.Skipped++
			}
			mu.Unlock()
			if bar != nil {
				bar.Add(1)
			}
		}()
	}
	wg.Wait()
	if bar != nil {
		bar.Finish()
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	return res, errors.Join(errs...)
}

// precompute makes sure one entry is stored; computed reports whether it
// had to be computed (by this call or one it joined).
func (c *Cache) precompute(ctx context.Context, m *metric, key Key, params []any) (computed bool, err error) {
	ks := key.String()
	st := c.opts.Storage
	if ex, ok := st.(Exister); ok {
		stored, err := ex.Exists(ctx, key)
		if err != nil || stored {
			return false, err
		}
	}
	c.mu.Lock()
	_, inMem := c.entries[ks]
	c.mu.Unlock()
	if inMem && st == nil {
		return false, nil
	}
	start := time.Now()
	e, err := c.entry(ctx, m, key, params, false)
	if err != nil {
		return false, err
	}
	if st != nil && !inMem {
		// Not kept in memory: drop it unless it was there before.
		c.mu.Lock()
		if el, ok := c.entries[ks]; ok && el.Value.(*Entry) == e {
			c.used -= e.Size
			c.lru.Remove(el)
			delete(c.entries, ks)
		}
		c.mu.Unlock()
	}
	return !e.Computed.Before(start), nil
}

// progressBar returns the bar GetAll draws, or nil.
func (c *Cache) progressBar(total int) *progressbar.ProgressBar {
	if c.opts.Quiet || total == 0 {
		return nil
	}
	w := c.opts.Progress
	if w == nil {
		if !term.IsTerminal(int(os.Stderr.Fd())) {
			return nil
		}
		w = os.Stderr
	}
	return progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("memo"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionFullWidth(),
		progressbar.OptionOnCompletion(func() { io.WriteString(w, "\n") }),
	)
}
