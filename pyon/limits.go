package pyon

import (
	"errors"
	"fmt"
	"math/big"
)

// ErrLimit is wrapped by every error a decoder returns because a value
// exceeds one of its Limits (or announces more than the input holds).
var ErrLimit = errors.New("pyon: limit exceeded")

// Limits bound what a decoder accepts from a peer. The zero value of a
// field means its default (DefaultLimits); a negative MaxDecodedSize means
// no bound on the decoded size.
type Limits struct {
	// MaxDepth bounds nesting (lists in lists, ...). Default 1000.
	MaxDepth int
	// MaxElements bounds the elements of one array, map, set or numpy
	// array. Default 1<<24 (16 Mi).
	MaxElements int
	// MaxIntDigits bounds the decimal digits of one integer (and of each
	// part of a Fraction), as Python's int() does. Default 4300.
	MaxIntDigits int
	// MaxDecodedSize bounds the decoded size (see SizeOf) of a value — or,
	// through MsgpackDecoder.Used, of everything one decoder decodes until
	// it is reset. Default 512 MiB.
	MaxDecodedSize int64
}

// DefaultLimits are the limits a zero Limits stands for.
var DefaultLimits = Limits{
	MaxDepth:       1000,
	MaxElements:    1 << 24,
	MaxIntDigits:   4300,
	MaxDecodedSize: 512 << 20,
}

// maxEmptyCells bounds the sub-arrays an empty numpy array's shape may
// describe ([65536, 0] is accepted, [2147483647, 0] is not): converting
// one to [][]float64 or a nested []any allocates one header per sub-array
// although the data is empty.
const maxEmptyCells = 1 << 16

func (l Limits) resolved() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxElements <= 0 {
		l.MaxElements = DefaultLimits.MaxElements
	}
	if l.MaxIntDigits <= 0 {
		l.MaxIntDigits = DefaultLimits.MaxIntDigits
	}
	if l.MaxDecodedSize == 0 {
		l.MaxDecodedSize = DefaultLimits.MaxDecodedSize
	}
	return l
}

func limitErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrLimit}, args...)...)
}

// Decoded-size model: what a decoded value costs in Go memory on a 64-bit
// machine, in bytes, counting the 16-byte interface slot that holds each
// element of a container. SizeOf and the decoders use the same figures.
const (
	costSlot   = 16 // an interface value (a list element, a map key or value)
	costScalar = 8  // a boxed int64/float64 (small ints are not boxed, counted anyway)
	costString = 16 // string header
	costSlice  = 24 // slice header
	costMapEnt = 64 // per entry of a map[string]any beyond key and value slots
	costItem   = 32 // one Item of a Dict
	costBig    = 40 // *big.Int header and struct
)

// SizeOf returns the decoded size of v in the model the decoders use to
// enforce Limits.MaxDecodedSize: roughly the bytes Go needs to hold v (a
// list of n small ints costs 24+24n; a string of n bytes 24+n). It lets a
// server account values it got by other means against the same budget.
func SizeOf(v any) int64 { return sizeOf(v, 0) }

func sizeOf(v any, depth int) int64 {
	if depth > maxDepth {
		return 0
	}
	switch x := v.(type) {
	case nil, bool:
		return costSlot
	case string:
		return costSlot + costString + int64(len(x))
	case []byte:
		return costSlot + costSlice + int64(len(x))
	case *big.Int:
		if x == nil {
			return costSlot
		}
		return costSlot + costBig + int64(len(x.Bits()))*8
	case []any:
		return costSlot + costSlice + itemsSize(x, depth)
	case Tuple:
		return costSlot + costSlice + itemsSize(x, depth)
	case Set:
		return costSlot + costSlice + 8 + itemsSize(x.Items, depth)
	case map[string]any:
		n := int64(costSlot + costSlice)
		for k, e := range x {
			n += costMapEnt + costString + int64(len(k)) + sizeOf(e, depth+1)
		}
		return n
	case Dict:
		return costSlot + costSlice + pairsSize(x, depth)
	case OrderedDict:
		return costSlot + costSlice + pairsSize(x, depth)
	case Fraction:
		return costSlot + 2*costBig + int64(len(x.Num().Bits())+len(x.Denom().Bits()))*8
	case *Fraction:
		if x == nil {
			return costSlot
		}
		return sizeOf(*x, depth)
	case Slice:
		return costSlot + 3*costSlot + sizeOf(x.Start, depth+1) + sizeOf(x.Stop, depth+1) + sizeOf(x.Step, depth+1) - 3*costSlot
	case NDArray:
		return costSlot + 3*costSlice + costString + int64(len(x.DType)+8*len(x.Shape)+len(x.Data))
	case NPScalar:
		return costSlot + costSlice + costString + int64(len(x.DType)+len(x.Data))
	case complex128:
		return costSlot + 16
	case []int64:
		return costSlot + costSlice + 8*int64(len(x))
	case []float64:
		return costSlot + costSlice + 8*int64(len(x))
	}
	return costSlot + costScalar
}

func itemsSize(l []any, depth int) int64 {
	var n int64
	for _, e := range l {
		n += sizeOf(e, depth+1)
	}
	return n
}

func pairsSize(l []Item, depth int) int64 {
	var n int64
	for _, it := range l {
		n += costItem - 2*costSlot + sizeOf(it.Key, depth+1) + sizeOf(it.Value, depth+1)
	}
	return n
}
