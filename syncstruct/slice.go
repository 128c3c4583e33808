package syncstruct

import (
	"fmt"

	"github.com/sigoco/sigoco/pyon"
)

// List slices, as SiPyCo's process_mod applies them: setitem with a slice
// key (x[1:3] = [...]) and delitem with one (del x[:2]), with Python's
// slice semantics (slice.indices: negative and out-of-range bounds,
// steps, extended slices whose length must match).

// sliceIndices is Python's slice.indices(n).
func sliceIndices(s pyon.Slice, n int) (start, stop, step int, err error) {
	step = 1
	if s.Step != nil {
		var ok bool
		if step, ok = toIndex(s.Step); !ok {
			return 0, 0, 0, fmt.Errorf("%w: slice step must be an integer or None, not %s", ErrType, typeName(s.Step))
		}
		if step == 0 {
			return 0, 0, 0, fmt.Errorf("%w: slice step cannot be zero", ErrIndex)
		}
	}
	lower, upper := 0, n
	if step < 0 {
		lower, upper = -1, n-1
	}
	bound := func(v any, def int) (int, error) {
		if v == nil {
			return def, nil
		}
		i, ok := toIndex(v)
		if !ok {
			return 0, fmt.Errorf("%w: slice indices must be integers or None, not %s", ErrType, typeName(v))
		}
		if i < 0 {
			return max(i+n, lower), nil
		}
		return min(i, upper), nil
	}
	defStart, defStop := lower, upper
	if step < 0 {
		defStart, defStop = upper, lower
	}
	if start, err = bound(s.Start, defStart); err != nil {
		return 0, 0, 0, err
	}
	if stop, err = bound(s.Stop, defStop); err != nil {
		return 0, 0, 0, err
	}
	return start, stop, step, nil
}

// sliceLen is the number of elements a resolved slice selects.
func sliceLen(start, stop, step int) int {
	switch {
	case step > 0 && start < stop:
		return (stop-start-1)/step + 1
	case step < 0 && stop < start:
		return (start-stop-1)/(-step) + 1
	}
	return 0
}

// listSetSlice is l[s] = v.
func listSetSlice(l []any, s pyon.Slice, v any) ([]any, error) {
	var vals []any
	switch x := v.(type) {
	case []any:
		vals = x
	case pyon.Tuple:
		vals = x
	default:
		return l, fmt.Errorf("%w: can only assign a list or tuple to a list slice, not a %s", ErrType, typeName(v))
	}
	start, stop, step, err := sliceIndices(s, len(l))
	if err != nil {
		return l, err
	}
	if step == 1 {
		stop = max(stop, start)
		out := make([]any, 0, len(l)-(stop-start)+len(vals))
		out = append(out, l[:start]...)
		out = append(out, vals...)
		return append(out, l[stop:]...), nil
	}
	n := sliceLen(start, stop, step)
	if len(vals) != n {
		return l, fmt.Errorf("%w: attempt to assign a sequence of size %d to an extended slice of size %d", ErrIndex, len(vals), n)
	}
	for k, i := 0, start; k < n; k, i = k+1, i+step {
		l[i] = vals[k]
	}
	return l, nil
}

// listDelSlice is del l[s].
func listDelSlice(l []any, s pyon.Slice) ([]any, error) {
	start, stop, step, err := sliceIndices(s, len(l))
	if err != nil {
		return l, err
	}
	n := sliceLen(start, stop, step)
	if n == 0 {
		return l, nil
	}
	if step < 0 { // the same elements, walked forwards
		start, step = start+(n-1)*step, -step
	}
	if step == 1 {
		out := append(l[:start], l[start+n:]...)
		clear(l[len(out):])
		return out, nil
	}
	drop := make(map[int]bool, n)
	for k, i := 0, start; k < n; k, i = k+1, i+step {
		drop[i] = true
	}
	out := l[:0]
	for i, e := range l {
		if !drop[i] {
			out = append(out, e)
		}
	}
	clear(l[len(out):])
	return out, nil
}
