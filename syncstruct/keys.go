package syncstruct

import (
	"math"
	"math/big"

	"github.com/sigoco/sigoco/pyon"
)

// Dict keys follow Python's key equality: keys that compare equal in
// Python are one key (True == 1 == 1.0 == Fraction(1) == np.int64(1) ==
// 1+0j), so that d[True] = … on a dict holding key 1 changes the value
// of key 1, as in SiPyCo's replicas, and the first key stays. Strings,
// bytes and tuples compare by value, as Equal does; NaN keys are equal to
// each other (Equal's rule: a replica holding NaN equals its source).

// keyEqual reports whether a and b are the same dict key in Python.
func keyEqual(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case pyon.Tuple:
		y, ok := b.(pyon.Tuple)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !keyEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	if Equal(a, b) {
		return true
	}
	na, ok := numOf(a)
	if !ok {
		return false
	}
	nb, ok := numOf(b)
	return ok && na.eq(nb)
}

// pynum is a Python number, for comparing numbers of different types
// exactly: the real part as a rational when it is finite, else as a
// float (inf, nan); the imaginary part as a float.
type pynum struct {
	r      *big.Rat // finite real part
	f      float64  // non-finite real part (r == nil)
	im     float64
	hasNaN bool
}

func (a pynum) eq(b pynum) bool {
	if a.hasNaN || b.hasNaN {
		return false // NaN of different types: distinct keys, as in Python
	}
	if a.im != b.im {
		return false
	}
	if a.r != nil && b.r != nil {
		return a.r.Cmp(b.r) == 0
	}
	return a.r == nil && b.r == nil && a.f == b.f
}

// numOf returns v as a pynum when it is a number Python compares with
// other numbers (bool, int, float, complex, Fraction, numpy numeric
// scalar).
func numOf(v any) (pynum, bool) {
	fromFloat := func(f float64) pynum {
		if math.IsNaN(f) {
			return pynum{hasNaN: true}
		}
		if math.IsInf(f, 0) {
			return pynum{f: f}
		}
		return pynum{r: new(big.Rat).SetFloat64(f)}
	}
	switch x := v.(type) {
	case bool:
		if x {
			return pynum{r: big.NewRat(1, 1)}, true
		}
		return pynum{r: new(big.Rat)}, true
	case int64:
		return pynum{r: new(big.Rat).SetInt64(x)}, true
	case uint64:
		return pynum{r: new(big.Rat).SetUint64(x)}, true
	case *big.Int:
		return pynum{r: new(big.Rat).SetInt(x)}, true
	case float64:
		return fromFloat(x), true
	case complex128:
		n := fromFloat(real(x))
		n.im = imag(x)
		if math.IsNaN(n.im) {
			n.hasNaN = true
		}
		return n, true
	case pyon.Fraction:
		return pynum{r: new(big.Rat).Set(&x.Rat)}, true
	case pyon.NPScalar:
		e, err := x.Value()
		if err != nil {
			return pynum{}, false
		}
		switch e.(type) {
		case bool, int64, uint64, float64, complex128:
			return numOf(e)
		}
	}
	return pynum{}, false
}
