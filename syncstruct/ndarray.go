package syncstruct

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"

	"github.com/sigoco/sigoco/pyon"
)

// setitem into a numpy array, as SiPyCo's process_mod does it (ARTIQ's
// mutate_dataset sends one per call): a[i] = x, a[i, j] = x, a[lo:hi] = x,
// a[(slice, slice)] = x. The key selects, per axis, one index or a slice
// (missing trailing axes: all of them); the value is a number (given to
// every selected element) or an array or (nested) list with as many
// elements as the selection, in C order. Values are converted to the
// array's dtype as numpy does: floats into an integer array are truncated,
// complex into a real array loses the imaginary part, and an integer out
// of the dtype's range is refused (numpy 2's OverflowError). Arrays of
// bool, int, uint, float (32 and 64 bits) and complex (64, 128) can be
// changed; other dtypes are refused with ErrType, leaving the tree
// unchanged. Changes are made in place.

// ndType is the part of a numpy dtype setitem needs.
type ndType struct {
	order binary.ByteOrder
	kind  byte // b i u f c
	size  int
}

func parseNDType(s string) (ndType, error) {
	if len(s) < 3 {
		return ndType{}, fmt.Errorf("%w: numpy dtype %q", ErrType, s)
	}
	var t ndType
	switch s[0] {
	case '<', '|', '=':
		t.order = binary.LittleEndian
	case '>':
		t.order = binary.BigEndian
	default:
		return ndType{}, fmt.Errorf("%w: numpy dtype %q", ErrType, s)
	}
	t.kind = s[1]
	n, err := strconv.Atoi(s[2:])
	if err != nil {
		return ndType{}, fmt.Errorf("%w: numpy dtype %q", ErrType, s)
	}
	t.size = n
	ok := false
	switch t.kind {
	case 'b':
		ok = n == 1
	case 'i', 'u':
		ok = n == 1 || n == 2 || n == 4 || n == 8
	case 'f':
		ok = n == 4 || n == 8
	case 'c':
		ok = n == 8 || n == 16
	}
	if !ok {
		return ndType{}, fmt.Errorf("%w: setitem into a numpy array of dtype %q is not supported", ErrType, s)
	}
	return t, nil
}

// read returns the element at b as bool, int64, uint64, float64 or complex128.
func (t ndType) read(b []byte) any {
	u := func(b []byte) uint64 {
		switch len(b) {
		case 1:
			return uint64(b[0])
		case 2:
			return uint64(t.order.Uint16(b))
		case 4:
			return uint64(t.order.Uint32(b))
		}
		return t.order.Uint64(b)
	}
	f := func(b []byte) float64 {
		if len(b) == 4 {
			return float64(math.Float32frombits(uint32(u(b))))
		}
		return math.Float64frombits(u(b))
	}
	switch t.kind {
	case 'b':
		return b[0] != 0
	case 'i':
		sh := 64 - 8*uint(t.size)
		return int64(u(b)<<sh) >> sh
	case 'u':
		return u(b)
	case 'f':
		return f(b)
	}
	h := t.size / 2
	return complex(f(b[:h]), f(b[h:]))
}

// write stores v (a number) at b in the dtype.
func (t ndType) write(b []byte, v any) error {
	var re, im float64
	var i *big.Int // exact integer value, when v is one
	switch x := v.(type) {
	case bool:
		i = big.NewInt(0)
		if x {
			i.SetInt64(1)
		}
	case int64:
		i = big.NewInt(x)
	case uint64:
		i = new(big.Int).SetUint64(x)
	case *big.Int:
		i = x
	case float64:
		re = x
	case complex128:
		re, im = real(x), imag(x)
	case pyon.Fraction:
		re, _ = x.Float64()
	case pyon.NPScalar:
		e, err := x.Value()
		if err != nil {
			return fmt.Errorf("%w: %w", ErrType, err)
		}
		if _, ok := e.(pyon.NPScalar); ok {
			return fmt.Errorf("%w: numpy scalar of dtype %s", ErrType, x.DType)
		}
		return t.write(b, e)
	default:
		return fmt.Errorf("%w: cannot store a %s in a numpy array", ErrType, typeName(v))
	}
	if i != nil {
		re, _ = new(big.Float).SetInt(i).Float64()
	}
	pu := func(b []byte, x uint64) {
		switch len(b) {
		case 1:
			b[0] = byte(x)
		case 2:
			t.order.PutUint16(b, uint16(x))
		case 4:
			t.order.PutUint32(b, uint32(x))
		default:
			t.order.PutUint64(b, x)
		}
	}
	pf := func(b []byte, f float64) {
		if len(b) == 4 {
			pu(b, uint64(math.Float32bits(float32(f))))
		} else {
			pu(b, math.Float64bits(f))
		}
	}
	switch t.kind {
	case 'b':
		if re != 0 || im != 0 || (i != nil && i.Sign() != 0) {
			b[0] = 1
		} else {
			b[0] = 0
		}
	case 'i', 'u':
		if i == nil {
			if math.IsNaN(re) || math.IsInf(re, 0) {
				return fmt.Errorf("%w: cannot convert %v to an integer", ErrType, re)
			}
			i, _ = big.NewFloat(math.Trunc(re)).Int(nil)
		}
		bits := uint(8 * t.size)
		lo, hi := new(big.Int), new(big.Int).Lsh(big.NewInt(1), bits)
		if t.kind == 'i' {
			lo.Neg(new(big.Int).Lsh(big.NewInt(1), bits-1))
			hi.Lsh(big.NewInt(1), bits-1)
		}
		if i.Cmp(lo) < 0 || i.Cmp(hi) >= 0 {
			return fmt.Errorf("%w: %v out of bounds for a %c%d array", ErrType, i, t.kind, t.size)
		}
		pu(b, uint64(i.Int64()))
		if i.IsUint64() {
			pu(b, i.Uint64())
		}
	case 'f':
		pf(b, re)
	case 'c':
		h := t.size / 2
		pf(b[:h], re)
		pf(b[h:], im)
	}
	return nil
}

// ndAxis is one axis of a selection: its indices are start + k·step.
type ndAxis struct{ start, step, n int }

// ndSetItem is a[key] = v.
func ndSetItem(a pyon.NDArray, key, v any) (pyon.NDArray, error) {
	if err := a.Validate(); err != nil {
		return a, fmt.Errorf("%w: %w", ErrType, err)
	}
	t, err := parseNDType(a.DType)
	if err != nil {
		return a, err
	}
	var keys []any
	if tp, ok := key.(pyon.Tuple); ok {
		keys = tp
	} else {
		keys = []any{key}
	}
	if len(keys) > len(a.Shape) {
		return a, fmt.Errorf("%w: too many indices for an array of %d dimensions", ErrIndex, len(a.Shape))
	}
	axes := make([]ndAxis, len(a.Shape))
	count := 1
	for ax, n := range a.Shape {
		sel := ndAxis{0, 1, n}
		if ax < len(keys) {
			switch k := keys[ax].(type) {
			case pyon.Slice:
				start, stop, step, err := sliceIndices(k, n)
				if err != nil {
					return a, err
				}
				sel = ndAxis{start, step, sliceLen(start, stop, step)}
			default:
				i, err := listIndex(n, k)
				if err != nil {
					return a, fmt.Errorf("axis %d: %w", ax, err)
				}
				sel = ndAxis{i, 1, 1}
			}
		}
		axes[ax] = sel
		count *= sel.n
	}
	vals, err := ndValues(v, count)
	if err != nil {
		return a, err
	}
	// Check every value converts before changing anything.
	tmp := make([]byte, t.size)
	for _, e := range vals {
		if err := t.write(tmp, e); err != nil {
			return a, err
		}
	}
	strides := make([]int, len(a.Shape))
	s := t.size
	for ax := len(a.Shape) - 1; ax >= 0; ax-- {
		strides[ax] = s
		s *= a.Shape[ax]
	}
	idx := make([]int, len(axes))
	for k := range count {
		off := 0
		for ax, sel := range axes {
			off += (sel.start + idx[ax]*sel.step) * strides[ax]
		}
		e := vals[0]
		if len(vals) > 1 {
			e = vals[k]
		}
		t.write(a.Data[off:off+t.size], e)
		for ax := len(idx) - 1; ax >= 0; ax-- {
			if idx[ax]++; idx[ax] < axes[ax].n {
				break
			}
			idx[ax] = 0
		}
	}
	return a, nil
}

// ndValues flattens the value of an array setitem: one number for all,
// or count numbers.
func ndValues(v any, count int) ([]any, error) {
	var out []any
	var flat func(v any, depth int) error
	flat = func(v any, depth int) error {
		if depth > 64 || len(out) > count {
			return fmt.Errorf("%w: value does not fit the %d selected elements", ErrIndex, count)
		}
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				if err := flat(e, depth+1); err != nil {
					return err
				}
			}
		case pyon.Tuple:
			return flat([]any(x), depth)
		case pyon.NDArray:
			if err := x.Validate(); err != nil {
				return fmt.Errorf("%w: %w", ErrType, err)
			}
			t, err := parseNDType(x.DType)
			if err != nil {
				return err
			}
			if len(x.Data)/t.size > count-len(out) {
				return fmt.Errorf("%w: value does not fit the %d selected elements", ErrIndex, count)
			}
			for o := 0; o+t.size <= len(x.Data); o += t.size {
				out = append(out, t.read(x.Data[o:o+t.size]))
			}
		default:
			out = append(out, v)
		}
		return nil
	}
	if err := flat(v, 0); err != nil {
		return nil, err
	}
	if len(out) != 1 && len(out) != count {
		return nil, fmt.Errorf("%w: %d values for %d selected elements", ErrIndex, len(out), count)
	}
	if count == 0 {
		return nil, nil
	}
	return out, nil
}
