package memo

import (
	"context"
	"errors"
	"fmt"
)

// Get returns the value of the registered metric name for params (Go
// values that convert to its parameter types), as the function returned by
// Func would: from memory, else storage, else computed and stored. It is
// the seed's CM[name] / get.
func (c *Cache) Get(ctx context.Context, name string, params ...any) (any, error) {
	m, key, bound, err := c.lookup(name, params)
	if err != nil {
		return nil, err
	}
	e, err := c.entry(ctx, m, key, bound, false)
	if err != nil {
		return nil, err
	}
	return e.Value, nil
}

// Force recomputes the entry of metric name for params, overwrites it in
// memory and storage, and returns the new value: the seed's
// use_stored=False. Callers asking for the entry meanwhile wait for the
// new value.
func (c *Cache) Force(ctx context.Context, name string, params ...any) (any, error) {
	m, key, bound, err := c.lookup(name, params)
	if err != nil {
		return nil, err
	}
	e, err := c.entry(ctx, m, key, bound, true)
	if err != nil {
		return nil, err
	}
	return e.Value, nil
}

// Exists reports whether the entry is in memory (the seed's exists).
func (c *Cache) Exists(name string, params ...any) bool {
	key, err := c.keyFor(name, params)
	if err != nil {
		return false
	}
	c.mu.Lock()
	_, ok := c.entries[key.String()]
	c.mu.Unlock()
	return ok
}

// Load returns the entry from memory, else from storage (keeping it in
// memory), without computing it: an error wrapping ErrNotFound if it is
// in neither, one wrapping ErrCorrupt if the stored entry is unreadable.
// Unlike Get it works for metrics this program did not register (the
// value is then in the value model's decoded form). The Entry is a copy.
func (c *Cache) Load(ctx context.Context, name string, params ...any) (*Entry, error) {
	key, err := c.keyFor(name, params)
	if err != nil {
		return nil, err
	}
	if e, ok := c.memEntry(key.String()); ok {
		return e, nil
	}
	if c.opts.Storage == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	e, err := c.opts.Storage.Load(ctx, key)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	m := c.metrics[name]
	c.mu.Unlock()
	if m != nil {
		v, err := m.conv(e.Value)
		if err != nil {
			return nil, fmt.Errorf("memo: %s: %w", key, err)
		}
		e.Value = v
	}
	e.Size = sizeOf(e.Value)
	c.mu.Lock()
	c.keep(key.String(), e)
	c.mu.Unlock()
	cp := *e
	return &cp, nil
}

// Clear empties the memory; storage is untouched (the seed's clear_cache).
func (c *Cache) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
	c.lru.Init()
	c.used = 0
}

// Delete removes the entry from memory and storage.
func (c *Cache) Delete(ctx context.Context, name string, params ...any) error {
	key, err := c.keyFor(name, params)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if el, ok := c.entries[key.String()]; ok {
		c.used -= el.Value.(*Entry).Size
		c.lru.Remove(el)
		delete(c.entries, key.String())
	}
	c.mu.Unlock()
	if c.opts.Storage == nil {
		return nil
	}
	return c.opts.Storage.Delete(ctx, key)
}

// MemoryUsed is the estimated bytes of the values held in memory.
func (c *Cache) MemoryUsed() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}

// keyFor is lookup for operations that also accept unregistered names.
func (c *Cache) keyFor(name string, params []any) (Key, error) {
	_, key, _, err := c.lookup(name, params)
	if errors.Is(err, ErrUnknown) {
		if !validName(name) {
			return Key{}, fmt.Errorf("%w: invalid metric name %q", ErrParams, name)
		}
		k, err := keyOf(nil, name, params...)
		if err != nil {
			return Key{}, err
		}
		return keyFromText(name, k), nil
	}
	return key, err
}
