package track

import (
	"fmt"

	"github.com/sigoco/sigoco/pyon"
)

// normalize deep-copies v into the value model the wire carries
// (pyon.Normalize, with numeric slices kept as []float64 and []int64 so
// that an array result is not boxed element by element): structs become
// maps keyed by the one struct-key rule. It keeps no reference into v and
// does not make v escape (a scalar passed as any is not allocated).
func normalize(v any) (any, error) {
	n, err := pyon.NormalizeWith(v, pyon.NormalizeOptions{Packed: true})
	if err != nil {
		return nil, fmt.Errorf("cannot log: %w", err)
	}
	return n, nil
}
