package pyon

import "math/big"

// Go values for the PYON v2 types that have no exact Go counterpart. A
// decoded document uses: nil, bool, int64 (or *big.Int beyond 64 bits),
// float64, string, []byte (bytes), complex128, []any (list),
// map[string]any (dict with only string keys), and the types below.

// Tuple is a Python tuple.
type Tuple []any

// Set is a Python set (or frozenset when Frozen).
type Set struct {
	Items  []any
	Frozen bool
}

// Item is one key/value pair of a Dict.
type Item struct {
	Key   any
	Value any
}

// Dict is a Python dict with at least one key that is not a string (an int,
// a tuple, ...), in insertion order. Dicts whose keys are all strings decode
// to map[string]any.
type Dict []Item

// OrderedDict is a Python collections.OrderedDict.
type OrderedDict []Item

// Fraction is a Python fractions.Fraction.
type Fraction struct{ big.Rat }

// Slice is a Python slice(start, stop, step); nil fields are None.
type Slice struct {
	Start, Stop, Step any
}

// NDArray is a numpy array: its shape, its dtype string as numpy writes it
// ("<f8", "<i4", "|b1", ...) and its raw data in C order.
type NDArray struct {
	Shape []int
	DType string
	Data  []byte
}

// NPScalar is a numpy scalar (np.int32(7), np.float64(1.5), ...): its dtype
// string and raw little/big-endian bytes as numpy gives them.
type NPScalar struct {
	DType string
	Data  []byte
}
