package server

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/track/store"
)

// Reading memo entries. A value may be 32 MiB; issue 22 found that 48
// concurrent get of such an entry took trackd down (each held the value
// read, its copy in the reply, and the replies piled up in the write
// buffers). Now a reply holds at most MemoChunk bytes of a value, a large
// value is read from the store once and its parts served from that one
// copy to every reader (memoValues), and loads reserve their memory from
// the server's read budget.

// MemoChunk bounds the value bytes one Get or Read returns: a larger value
// comes in parts.
const MemoChunk = 1 << 20

// memoSizer is a MemoStore that tells an entry's size without reading it
// (the SQLite store does).
type memoSizer interface {
	MemoSize(ctx context.Context, k store.MemoKey) (int64, error)
}

// Get returns an entry ({found: false} if there is none). A value over
// MemoChunk comes in parts: this reply holds its first MemoChunk bytes and
// its size, Read returns the rest.
func (m *Memo) Get(ctx context.Context, key store.MemoKey) (*MemoGot, error) {
	return m.part(ctx, key, 0, MemoChunk)
}

// Read returns n bytes (at most MemoChunk; fewer at the end) of an
// entry's value from offset, with the entry's CRC-32C and size: a client
// reading a large entry in parts checks that the CRC did not change
// between parts (the entry was replaced) and starts again if it did.
func (m *Memo) Read(ctx context.Context, key store.MemoKey, offset, n int64) (*MemoGot, error) {
	if offset < 0 || n < 0 {
		return nil, fmt.Errorf("%w: memo read of %d bytes at %d", rpc.ErrValue, n, offset)
	}
	return m.part(ctx, key, offset, min(n, MemoChunk))
}

func (m *Memo) part(ctx context.Context, key store.MemoKey, offset, n int64) (*MemoGot, error) {
	size := int64(m.opts.MaxValueSize) // a store that cannot tell: assume the largest
	ms, sized := m.st.(memoSizer)
	if sized {
		var err error
		size, err = ms.MemoSize(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			return &MemoGot{}, nil
		}
		if err != nil {
			return nil, err
		}
	}
	var e *store.MemoEntry
	var err error
	if sized && size <= n && offset == 0 {
		// Small: read it for this reply alone.
		release, aerr := m.reads.acquire(ctx, 2*size+4<<10)
		if aerr != nil {
			return nil, aerr
		}
		defer release()
		e, err = m.st.GetMemo(ctx, key)
	} else {
		e, err = m.values.get(ctx, key, func() (*store.MemoEntry, error) {
			// The store's copy and ours while the value is loaded.
			release, err := m.reads.acquire(ctx, 2*size+4<<10)
			if err != nil {
				return nil, err
			}
			defer release()
			return m.st.GetMemo(ctx, key)
		})
	}
	if errors.Is(err, store.ErrNotFound) {
		return &MemoGot{}, nil
	}
	if err != nil {
		return nil, err
	}
	total := int64(len(e.Value))
	if offset == 0 && total <= n {
		return &MemoGot{Found: true, Entry: e}, nil
	}
	out := *e // the part shares the cached value's bytes: encoding the reply copies them
	out.Value = e.Value[min(offset, total):min(offset+n, total)]
	return &MemoGot{Found: true, Entry: &out, Size: total}, nil
}

// memoValues keeps the values of large entries being read in parts, at
// most max bytes, least recently used dropped first: readers of one entry
// share one copy, loaded once (the others wait for it). Put and Delete
// drop an entry's value. A value larger than max is not kept (each part
// then loads it again, within the read budget).
type memoValues struct {
	max int64

	mu   sync.Mutex // guards the fields below and every memoValue's used
	used int64
	tick uint64
	m    map[store.MemoKey]*memoValue
}

type memoValue struct {
	ready chan struct{} // closed once e or err is set
	e     *store.MemoEntry
	err   error
	size  int64  // counted in used once ready (0 while loading or not kept)
	used  uint64 // last use, for eviction
}

func newMemoValues(max int64) *memoValues {
	return &memoValues{max: max, m: map[store.MemoKey]*memoValue{}}
}

// get returns the entry of key, loading it with load unless it is kept or
// being loaded by another reader.
func (c *memoValues) get(ctx context.Context, key store.MemoKey, load func() (*store.MemoEntry, error)) (*store.MemoEntry, error) {
	for {
		c.mu.Lock()
		c.tick++
		v := c.m[key]
		if v == nil {
			break // c.mu held: load it
		}
		v.used = c.tick
		c.mu.Unlock()
		select {
		case <-v.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		// The reader that loaded it gave up (its own context): try again.
		if !errors.Is(v.err, context.Canceled) && !errors.Is(v.err, context.DeadlineExceeded) {
			return v.e, v.err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	v := &memoValue{ready: make(chan struct{}), used: c.tick}
	c.m[key] = v
	c.mu.Unlock()
	e, err := load()
	c.mu.Lock()
	defer c.mu.Unlock()
	v.e, v.err = e, err
	close(v.ready)
	switch {
	case c.m[key] != v: // dropped by a Put or Delete meanwhile
	case err != nil || int64(len(e.Value)) > c.max:
		delete(c.m, key)
	default:
		v.size = int64(len(e.Value))
		c.used += v.size
		c.evictLocked(v)
	}
	return e, err
}

// evictLocked drops the least recently used values (never keep) until
// the kept ones fit in max.
func (c *memoValues) evictLocked(keep *memoValue) {
	for c.used > c.max {
		var oldK store.MemoKey
		var old *memoValue
		for k, v := range c.m {
			if v != keep && v.size > 0 && (old == nil || v.used < old.used) {
				oldK, old = k, v
			}
		}
		if old == nil {
			return
		}
		c.used -= old.size
		delete(c.m, oldK)
	}
}

// drop forgets the value of key (it changed).
func (c *memoValues) drop(key store.MemoKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v := c.m[key]; v != nil {
		c.used -= v.size
		delete(c.m, key)
	}
}
