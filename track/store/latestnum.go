package store

import "math"

// NumOf returns a stored value (its encoding) as a number, for the num
// column a backend keeps beside params and latest values (filters and
// sorting in SQL: QueryRuns), or nil when it is not a number. NaN is nil:
// it neither compares nor sorts.
func NumOf(encoded []byte) any {
	if len(encoded) == 0 {
		return nil
	}
	v, err := DecodeValue(encoded)
	if err != nil {
		return nil
	}
	f, ok := ScalarOf(v)
	if !ok || math.IsNaN(f) {
		return nil
	}
	return f
}
