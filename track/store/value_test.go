package store

import (
	"reflect"
	"testing"

	"github.com/sigoco/sigoco/pyon"
)

// TestDecodeValuePYONTypes: every PYON type a Python client logs over
// pc_rpc is stored and read back (a tuple, set, Fraction, slice or
// int-keyed dict once made DecodeValue fail, and with it get_run of the
// whole run).
func TestDecodeValuePYONTypes(t *testing.T) {
	for _, v := range []any{
		pyon.Tuple{int64(1), int64(2)},
		[]any{pyon.Tuple{int64(1), "a"}},
		pyon.Set{Items: []any{int64(1)}},
		*pyon.NewFraction(1, 3), // decoded as the value Fraction
		pyon.Slice{Start: int64(1), Stop: int64(2)},
		pyon.Dict{{Key: int64(1), Value: int64(2)}},
		map[string]any{"a": pyon.Tuple{nil}},
		complex(1, 2),
	} {
		b, err := EncodeValue(v)
		if err != nil {
			t.Fatalf("%#v: %v", v, err)
		}
		got, err := DecodeValue(b)
		if err != nil {
			t.Fatalf("%#v: %v", v, err)
		}
		if !reflect.DeepEqual(got, v) {
			t.Errorf("%#v came back as %#v", v, got)
		}
	}
}
