package memo

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// DefaultMaxMemory is Options.MaxMemory's default: 256 MiB of values.
const DefaultMaxMemory = 256 << 20

// Options configure a Cache; the zero value is a memory-only cache of at
// most DefaultMaxMemory bytes that computes any parameters.
type Options struct {
	// Storage keeps entries persistently (DirStorage, JSONStorage, ...);
	// nil keeps them in memory only.
	Storage Storage
	// MaxMemory bounds the estimated bytes of the values kept in memory;
	// the least recently used are dropped first (they stay in Storage).
	// 0 means DefaultMaxMemory; a negative value keeps nothing in memory,
	// so every call reads the storage.
	MaxMemory int64
	// Strict makes a call with a parameter set not declared with Declare
	// fail with ErrUndeclared instead of computing it (the seed's
	// dynamic_metric_creation=False). Metrics without parameters are
	// always declared. Default false: an undeclared parameter set is
	// computed (and stored) like a declared one, as with the seed's
	// dynamic_metric_creation=True; the seed's default is to refuse it.
	// Declare matters then only for GetAll.
	Strict bool
	// Run is recorded in every entry this cache computes (Entry.Run): the
	// tracking run, so shared storages show which run made a value.
	Run string
	// Parallel is how many entries GetAll computes at once; 0 means
	// runtime.GOMAXPROCS(0).
	Parallel int
	// Progress is where GetAll draws its progress bar. nil means os.Stderr
	// when it is a terminal, else no bar; Quiet turns the bar off.
	Progress io.Writer
	Quiet    bool
	// Logger reports entries found corrupt (and recomputed) at Warn level,
	// and every compute, load and save at Info level (the seed's verbose
	// output): message "memo: computed", "memo: loaded" or "memo: saved",
	// with the entry ("key"), how long it took ("seconds") and, for loads
	// and saves, the storage ("where": a directory, or the storage's
	// description). Memory hits are not reported. nil discards.
	Logger *slog.Logger
	// Verbose, if set, also gets those reports as lines of text, as the
	// seed's verbose=True prints them ("memo: computed poly_y(1, 2) in
	// 1.5s", "memo: saved poly_y(1, 2) to cache in 2ms"): os.Stdout gives
	// the seed's behaviour. Lines are written whole, one at a time.
	// Default nil: no text.
	Verbose io.Writer
}

// Cache holds computed entries in memory, in front of a Storage.
//
// # Concurrency
//
// A Cache is safe for use by many goroutines. Callers asking for the same
// entry at once share one computation (single-flight); with a Storage that
// is a Locker (DirStorage), so do processes sharing it. A metric function
// may call other cached functions: it gets a ctx that records which entries
// are being computed, so a metric that needs itself (directly or through
// others) fails with ErrCycle instead of waiting for itself — provided it
// passes that ctx on.
type Cache struct {
	opts   Options
	log    *slog.Logger
	maxMem int64

	// mu guards everything below. It is never held while computing,
	// loading or saving.
	mu      sync.Mutex
	entries map[string]*list.Element // Key.String() → element of lru holding *Entry
	lru     list.List                // most recently used at the front
	used    int64                    // sum of Size of the entries in lru
	flights map[string]*flight       // entries being computed or loaded
	metrics map[string]*metric

	verboseMu sync.Mutex // one line at a time to Options.Verbose
}

// flight is one computation in progress; done is closed when entry or err
// is set.
type flight struct {
	done  chan struct{}
	entry *Entry
	err   error
}

// New returns a Cache with the given options.
func New(opts Options) *Cache {
	c := &Cache{
		opts:    opts,
		log:     opts.Logger,
		maxMem:  opts.MaxMemory,
		entries: make(map[string]*list.Element),
		flights: make(map[string]*flight),
		metrics: make(map[string]*metric),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.maxMem == 0 {
		c.maxMem = DefaultMaxMemory
	}
	return c
}

// hit returns the value in memory under the key text k, if any.
func (c *Cache) hit(k []byte) (any, bool) {
	c.mu.Lock()
	el, ok := c.entries[string(k)]
	if !ok {
		c.mu.Unlock()
		return nil, false
	}
	c.lru.MoveToFront(el)
	v := el.Value.(*Entry).Value
	c.mu.Unlock()
	return v, true
}

// memEntry returns a copy of the entry in memory, if any.
func (c *Cache) memEntry(ks string) (*Entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[ks]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(el)
	e := *el.Value.(*Entry)
	return &e, true
}

// keep puts e in memory, evicting the least recently used entries beyond
// the bound. c.mu must be held.
func (c *Cache) keep(ks string, e *Entry) {
	if el, ok := c.entries[ks]; ok {
		c.used -= el.Value.(*Entry).Size
		c.lru.Remove(el)
		delete(c.entries, ks)
	}
	if c.maxMem < 0 || e.Size > c.maxMem {
		return
	}
	c.entries[ks] = c.lru.PushFront(e)
	c.used += e.Size
	for c.used > c.maxMem {
		back := c.lru.Back()
		old := back.Value.(*Entry)
		c.lru.Remove(back)
		delete(c.entries, old.Key.String())
		c.used -= old.Size
	}
}

// entry returns the entry of m for the bound params, from memory, storage
// or by computing it; force skips memory and storage and overwrites them.
func (c *Cache) entry(ctx context.Context, m *metric, key Key, params []any, force bool) (*Entry, error) {
	ks := key.String()
	for {
		c.mu.Lock()
		if !force {
			if el, ok := c.entries[ks]; ok {
				c.lru.MoveToFront(el)
				e := el.Value.(*Entry)
				c.mu.Unlock()
				return e, nil
			}
		}
		if f := c.flights[ks]; f != nil {
			c.mu.Unlock()
			if c.inChain(ctx, ks) {
				return nil, fmt.Errorf("%w: %s needs itself (%s)", ErrCycle, ks, c.chainString(ctx, ks))
			}
			select {
			case <-f.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			leaderGaveUp := errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)
			if force || (leaderGaveUp && ctx.Err() == nil) {
				continue // compute it ourselves
			}
			return f.entry, f.err
		}
		if c.opts.Strict && !m.declared[key.Params] {
			c.mu.Unlock()
			return nil, fmt.Errorf("%w: %s was not declared", ErrUndeclared, ks)
		}
		f := &flight{done: make(chan struct{})}
		c.flights[ks] = f
		if el, ok := c.entries[ks]; force && ok {
			// Callers from now on wait for the new value rather than
			// getting the old one from memory.
			c.used -= el.Value.(*Entry).Size
			c.lru.Remove(el)
			delete(c.entries, ks)
		}
		c.mu.Unlock()
		c.fly(ctx, f, m, key, params, force)
		return f.entry, f.err
	}
}

// fly runs flight f and publishes its result, also if the metric panics
// (the panic goes on after the waiters are released with an error).
func (c *Cache) fly(ctx context.Context, f *flight, m *metric, key Key, params []any, force bool) {
	ks := key.String()
	f.err = fmt.Errorf("memo: %s: metric function panicked", ks)
	defer func() {
		c.mu.Lock()
		delete(c.flights, ks)
		if f.entry != nil {
			c.keep(ks, f.entry)
		}
		c.mu.Unlock()
		close(f.done)
	}()
	f.entry, f.err = c.fill(ctx, m, key, params, force)
}

// fill loads the entry from storage or computes and saves it.
func (c *Cache) fill(ctx context.Context, m *metric, key Key, params []any, force bool) (*Entry, error) {
	st := c.opts.Storage
	if st == nil {
		return c.compute(ctx, m, key, params)
	}
	if !force {
		if e, err := c.loadStored(ctx, m, key); e != nil || err != nil {
			return e, err
		}
	}
	if lk, ok := st.(Locker); ok {
		unlock, err := lk.Lock(ctx, key)
		if err != nil {
			return nil, err
		}
		defer unlock()
		if !force { // another process may have computed it while we waited
			if e, err := c.loadStored(ctx, m, key); e != nil || err != nil {
				return e, err
			}
		}
	}
	e, err := c.compute(ctx, m, key, params)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	err = st.Save(ctx, e)
	if err == nil {
		c.report("saved", key, time.Since(t0), "to", st)
	}
	if err != nil {
		// Keep the value in memory (it may have taken hours), but say that
		// it is not stored.
		c.mu.Lock()
		c.keep(key.String(), e)
		c.mu.Unlock()
		return nil, fmt.Errorf("memo: %s computed but not stored: %w", key, err)
	}
	return e, nil
}

// loadStored returns the stored entry converted for m; (nil, nil) if there
// is none, or it is corrupt or does not convert (to be recomputed).
func (c *Cache) loadStored(ctx context.Context, m *metric, key Key) (*Entry, error) {
	t0 := time.Now()
	e, err := c.opts.Storage.Load(ctx, key)
	switch {
	case err == nil:
	case errors.Is(err, ErrNotFound):
		return nil, nil
	case errors.Is(err, ErrCorrupt):
		c.log.Warn("memo: corrupt entry, recomputing", "key", key.String(), "err", err)
		return nil, nil
	default:
		return nil, err
	}
	if m != nil {
		v, err := m.conv(e.Value)
		if err != nil {
			c.log.Warn("memo: stored value does not fit the metric's type, recomputing", "key", key.String(), "err", err)
			return nil, nil
		}
		e.Value = v
	}
	e.Size = sizeOf(e.Value)
	c.report("loaded", key, time.Since(t0), "from", c.opts.Storage)
	return e, nil
}

func (c *Cache) compute(ctx context.Context, m *metric, key Key, params []any) (*Entry, error) {
	start := time.Now()
	v, err := m.call(c.withChain(ctx, key.String()), params)
	end := time.Now()
	if err != nil {
		return nil, &ComputeError{Key: key, Err: err}
	}
	c.report("computed", key, end.Sub(start), "", nil)
	return &Entry{
		Key:      key,
		Value:    v,
		Computed: end.UTC(),
		Duration: end.Sub(start),
		Run:      c.opts.Run,
		Size:     sizeOf(v),
	}, nil
}

// chain is the list of entries a ctx is computing, innermost first.
type chain struct {
	cache  *Cache
	key    string
	parent *chain
}

type chainKey struct{}

func (c *Cache) withChain(ctx context.Context, ks string) context.Context {
	parent, _ := ctx.Value(chainKey{}).(*chain)
	return context.WithValue(ctx, chainKey{}, &chain{c, ks, parent})
}

func (c *Cache) inChain(ctx context.Context, ks string) bool {
	for ch, _ := ctx.Value(chainKey{}).(*chain); ch != nil; ch = ch.parent {
		if ch.cache == c && ch.key == ks {
			return true
		}
	}
	return false
}

func (c *Cache) chainString(ctx context.Context, ks string) string {
	s := ks
	for ch, _ := ctx.Value(chainKey{}).(*chain); ch != nil; ch = ch.parent {
		s = ch.key + " → " + s
		if ch.cache == c && ch.key == ks {
			break
		}
	}
	return s
}

// inFlight reports whether the entry ks is being computed (for tests).
func (c *Cache) inFlight(ks string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flights[ks] != nil
}

// report tells the logger (Info) and Options.Verbose that the entry key
// was computed, loaded or saved (what), how long it took, and where
// (prep "to" or "from" the storage st; nil for a computation).
func (c *Cache) report(what string, key Key, d time.Duration, prep string, st Storage) {
	attrs := []any{"key", key.String(), "seconds", d.Seconds()}
	place := ""
	if st != nil {
		place = storageWhere(st)
		attrs = append(attrs, "where", place)
	}
	c.log.Info("memo: "+what, attrs...)
	if c.opts.Verbose == nil {
		return
	}
	line := "memo: " + what + " " + key.String()
	if st != nil {
		line += " " + prep + " " + place
	}
	line += " in " + d.Round(time.Microsecond).String() + "\n"
	c.verboseMu.Lock()
	io.WriteString(c.opts.Verbose, line)
	c.verboseMu.Unlock()
}

// storageWhere describes a storage for reports: its directory, its own
// project on the tracking server, its own description (fmt.Stringer), or
// its type.
func storageWhere(st Storage) string {
	switch s := st.(type) {
	case interface{ Dir() string }:
		return s.Dir()
	case interface{ Project() string }:
		return "the tracking server (project " + s.Project() + ")"
	case fmt.Stringer:
		return s.String()
	}
	return fmt.Sprintf("%T", st)
}
