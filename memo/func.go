package memo

import (
	"context"
	"fmt"
	"slices"
)

// metric is a registered function, untyped for the Cache.
type metric struct {
	name    string
	nparams int
	// call runs the function on bound params (of the Go parameter types).
	call func(ctx context.Context, params []any) (any, error)
	// bind converts untyped params to the Go parameter types.
	bind func(params []any) ([]any, error)
	// conv converts a stored value to the Go result type.
	conv func(v any) (any, error)
	// declared holds the Key.Params of the declared parameter sets, grid
	// those sets (bound) in order of declaration. Guarded by Cache.mu.
	declared map[string]bool
	grid     [][]any
}

// validName: a metric name is a file name on every system and cannot be
// mistaken for a parameter list: letters, digits, '_', '-', '.', not
// starting with '.', at most 100 bytes.
func validName(name string) bool {
	if name == "" || len(name) > 100 || name[0] == '.' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// register adds a metric. Registration is program text, not input, so a
// bad or duplicate name panics, as http.Handle does.
func (c *Cache) register(m *metric) *metric {
	if !validName(m.name) {
		panic(fmt.Sprintf("memo: invalid metric name %q (letters, digits, '_', '-', '.'; at most 100 bytes)", m.name))
	}
	m.declared = make(map[string]bool)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.metrics[m.name]; dup {
		panic("memo: metric " + m.name + " registered twice")
	}
	if m.nparams == 0 {
		m.declared[""] = true
		m.grid = [][]any{{}}
	}
	c.metrics[m.name] = m
	return m
}

// keyOf builds the key text name(p1, p2, ...) into buf.
func keyOf(buf []byte, name string, params ...any) ([]byte, error) {
	buf = append(buf, name...)
	buf = append(buf, '(')
	for i, p := range params {
		if i > 0 {
			buf = append(buf, ", "...)
		}
		var err error
		if buf, err = appendParam(buf, p); err != nil {
			return buf, fmt.Errorf("%s: parameter %d: %w", name, i+1, err)
		}
	}
	return append(buf, ')'), nil
}

// keyFromText splits key text built by keyOf back into a Key.
func keyFromText(name string, k []byte) Key {
	return Key{Name: name, Params: string(k[len(name)+1 : len(k)-1])}
}

// fastHit is the typed functions' hot path: the key built in a stack
// buffer (for parameters appendFast handles) and looked up in memory,
// without allocating. ok is false on a miss or another kind of parameter.
func fastHit[R any](c *Cache, name string, params ...any) (r R, ok bool) {
	var buf [96]byte
	k := append(buf[:0], name...)
	k = append(k, '(')
	for i, p := range params {
		if i > 0 {
			k = append(k, ", "...)
		}
		if k, ok = appendFast(k, p); !ok {
			return r, false
		}
	}
	k = append(k, ')')
	v, ok := c.hit(k)
	if !ok {
		return r, false
	}
	r, ok = v.(R)
	return r, ok
}

// call is the typed functions' path after fastHit: key, memory, then
// Cache.entry.
func call[R any](ctx context.Context, c *Cache, m *metric, params ...any) (R, error) {
	k, err := keyOf(nil, m.name, params...)
	if err != nil {
		var zero R
		return zero, err
	}
	if v, ok := c.hit(k); ok {
		return result[R](v)
	}
	e, err := c.entry(ctx, m, keyFromText(m.name, k), params, false)
	if err != nil {
		var zero R
		return zero, err
	}
	return result[R](e.Value)
}

func result[R any](v any) (R, error) {
	if r, ok := v.(R); ok {
		return r, nil
	}
	return convertTo[R](v)
}

func conv[R any](v any) (any, error) { return convertTo[R](v) }

// Func0 registers fn, a metric without parameters, as name in c and
// returns the cached version of fn: it returns the value in memory, else
// the stored one, else computes fn, stores the result and returns it.
// The ctx it is called with is passed to fn (and is not part of the key).
//
// Func0 panics if name is not a valid metric name (letters, digits, '_',
// '-', '.', not starting with '.', at most 100 bytes) or is already
// registered in c.
func Func0[R any](c *Cache, name string, fn func(ctx context.Context) (R, error)) func(ctx context.Context) (R, error) {
	m := c.register(&metric{
		name: name,
		call: func(ctx context.Context, _ []any) (any, error) { return fn(ctx) },
		bind: func(p []any) ([]any, error) { return p, nil },
		conv: conv[R],
	})
	return func(ctx context.Context) (R, error) {
		if r, ok := fastHit[R](c, name); ok {
			return r, nil
		}
		return call[R](ctx, c, m)
	}
}

// Func1 is Func0 for a function of one parameter. The parameter is part
// of the key, through its canonical text in the value model (see the
// package documentation).
func Func1[A, R any](c *Cache, name string, fn func(ctx context.Context, a A) (R, error)) func(ctx context.Context, a A) (R, error) {
	m := c.register(&metric{
		name: name, nparams: 1,
		call: func(ctx context.Context, p []any) (any, error) { return fn(ctx, p[0].(A)) },
		bind: func(p []any) ([]any, error) {
			a, err := bindParam[A](p[0])
			return []any{a}, err
		},
		conv: conv[R],
	})
	return func(ctx context.Context, a A) (R, error) {
		if r, ok := fastHit[R](c, name, a); ok {
			return r, nil
		}
		return call[R](ctx, c, m, a)
	}
}

// Func2 is Func1 for a function of two parameters.
func Func2[A, B, R any](c *Cache, name string, fn func(ctx context.Context, a A, b B) (R, error)) func(ctx context.Context, a A, b B) (R, error) {
	m := c.register(&metric{
		name: name, nparams: 2,
		call: func(ctx context.Context, p []any) (any, error) { return fn(ctx, p[0].(A), p[1].(B)) },
		bind: func(p []any) ([]any, error) {
			a, err1 := bindParam[A](p[0])
			b, err2 := bindParam[B](p[1])
			return []any{a, b}, firstErr(err1, err2)
		},
		conv: conv[R],
	})
	return func(ctx context.Context, a A, b B) (R, error) {
		if r, ok := fastHit[R](c, name, a, b); ok {
			return r, nil
		}
		return call[R](ctx, c, m, a, b)
	}
}

// Func3 is Func1 for a function of three parameters.
func Func3[A, B, C, R any](c *Cache, name string, fn func(ctx context.Context, a A, b B, c C) (R, error)) func(ctx context.Context, a A, b B, c C) (R, error) {
	m := c.register(&metric{
		name: name, nparams: 3,
		call: func(ctx context.Context, p []any) (any, error) { return fn(ctx, p[0].(A), p[1].(B), p[2].(C)) },
		bind: func(p []any) ([]any, error) {
			a, err1 := bindParam[A](p[0])
			b, err2 := bindParam[B](p[1])
			x, err3 := bindParam[C](p[2])
			return []any{a, b, x}, firstErr(err1, err2, err3)
		},
		conv: conv[R],
	})
	return func(ctx context.Context, a A, b B, x C) (R, error) {
		if r, ok := fastHit[R](c, name, a, b, x); ok {
			return r, nil
		}
		return call[R](ctx, c, m, a, b, x)
	}
}

// FuncN is Func1 for a function of any number of parameters, given as a
// slice of values in the value model (a call with different lengths makes
// different entries). Declared parameter sets are passed as they are.
func FuncN[R any](c *Cache, name string, fn func(ctx context.Context, params ...any) (R, error)) func(ctx context.Context, params ...any) (R, error) {
	m := c.register(&metric{
		name: name, nparams: -1,
		call: func(ctx context.Context, p []any) (any, error) { return fn(ctx, p...) },
		bind: func(p []any) ([]any, error) { return p, nil },
		conv: conv[R],
	})
	return func(ctx context.Context, params ...any) (R, error) { return call[R](ctx, c, m, params...) }
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// lookup returns the metric name and its key for untyped params, bound to
// the metric's parameter types.
func (c *Cache) lookup(name string, params []any) (*metric, Key, []any, error) {
	c.mu.Lock()
	m := c.metrics[name]
	c.mu.Unlock()
	if m == nil {
		return nil, Key{}, nil, fmt.Errorf("%w: %q", ErrUnknown, name)
	}
	if m.nparams >= 0 && len(params) != m.nparams {
		return nil, Key{}, nil, fmt.Errorf("%w: %s takes %d parameters, got %d", ErrParams, name, m.nparams, len(params))
	}
	bound, err := m.bind(params)
	if err != nil {
		return nil, Key{}, nil, fmt.Errorf("%s: %w", name, err)
	}
	k, err := keyOf(nil, name, bound...)
	if err != nil {
		return nil, Key{}, nil, err
	}
	return m, keyFromText(name, k), bound, nil
}

// Declare declares parameter sets of the metric name, for GetAll and for
// Options.Strict: each set is the metric's parameters in order, as Go
// values that convert to its parameter types ([]any{1, 2} for poly_y(1, 2)).
// Declaring a set twice is harmless. Product builds a grid.
func (c *Cache) Declare(name string, sets ...[]any) error {
	type decl struct {
		params string
		bound  []any
	}
	var add []decl
	for _, set := range sets {
		_, key, bound, err := c.lookup(name, set)
		if err != nil {
			return err
		}
		add = append(add, decl{key.Params, bound})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.metrics[name]
	for _, d := range add {
		if !m.declared[d.params] {
			m.declared[d.params] = true
			m.grid = append(m.grid, d.bound)
		}
	}
	return nil
}

// Product returns the Cartesian product of the values of each parameter,
// the last varying fastest: Product([]any{1, 4}, []any{2, 3}) is
// {1, 2}, {1, 3}, {4, 2}, {4, 3}.
func Product(values ...[]any) [][]any {
	out := [][]any{{}}
	for _, vs := range values {
		var next [][]any
		for _, prefix := range out {
			for _, v := range vs {
				next = append(next, append(slices.Clip(prefix), v))
			}
		}
		out = next
	}
	return out
}
