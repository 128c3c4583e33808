package pyon

import (
	"fmt"
	"math/big"
	"strconv"
)

// describe names a value the way a Python user thinks of it, for error
// messages: `string "x"`, `int 5`, `float 1.5`, `None`, `list of 3`.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "bool True"
		}
		return "bool False"
	case int64:
		return "int " + strconv.FormatInt(x, 10)
	case uint64:
		return "int " + strconv.FormatUint(x, 10)
	case *big.Int:
		return "int " + shorten(x.String())
	case float64:
		return "float " + string(appendPyFloat(nil, x, 64))
	case string:
		return "string " + strconv.Quote(shorten(x))
	case []byte:
		return fmt.Sprintf("bytes (%d bytes)", len(x))
	case complex128:
		return "complex " + strconv.FormatComplex(x, 'g', -1, 128)
	case []any:
		return fmt.Sprintf("list of %d", len(x))
	case map[string]any:
		return fmt.Sprintf("dict of %d", len(x))
	case Tuple:
		return fmt.Sprintf("tuple of %d", len(x))
	case Set:
		if x.Frozen {
			return fmt.Sprintf("frozenset of %d", len(x.Items))
		}
		return fmt.Sprintf("set of %d", len(x.Items))
	case Dict:
		return fmt.Sprintf("dict of %d", len(x))
	case OrderedDict:
		return fmt.Sprintf("OrderedDict of %d", len(x))
	case *Fraction:
		return "Fraction " + shorten(x.RatString())
	case Slice:
		return "slice"
	case NDArray:
		return fmt.Sprintf("numpy array (dtype %s, shape %v)", x.DType, x.Shape)
	case NPScalar:
		if s, err := x.Value(); err == nil {
			return fmt.Sprintf("numpy %s scalar %v", x.DType, s)
		}
		return fmt.Sprintf("numpy %s scalar", x.DType)
	}
	return fmt.Sprintf("Go %T", v)
}

func shorten(s string) string {
	const n = 40
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
