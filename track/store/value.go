package store

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/sigoco/sigoco/pyon" // also registers the msgpack extensions of the PYON types
)

// Values are stored msgpack-encoded in one canonical form: map keys sorted,
// integers in their shortest form. Two equal values therefore have equal
// encodings, which is how a param logged again is compared.

var encPool = sync.Pool{New: func() any {
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	e.SetSortMapKeys(true)
	e.UseCompactInts(true)
	e.UseCompactFloats(false)
	return &valueEncoder{buf: &buf, enc: e}
}}

type valueEncoder struct {
	buf *bytes.Buffer
	enc *msgpack.Encoder
}

// EncodeValue returns the canonical encoding of v.
func EncodeValue(v any) ([]byte, error) {
	e := encPool.Get().(*valueEncoder)
	defer encPool.Put(e)
	e.buf.Reset()
	if err := e.enc.Encode(v); err != nil {
		return nil, fmt.Errorf("%w: cannot encode value: %v", ErrBadRecord, err)
	}
	return bytes.Clone(e.buf.Bytes()), nil
}

// DecodeValue decodes a stored value into the generic form (int64,
// float64, string, []byte, bool, nil, []any, map[string]any or
// pyon.Dict, the PYON types) with pyon's decoder, which reads every PYON
// extension (msgpack's own decoder knows only complex and big ints: a
// tuple, set, Fraction, slice or int-keyed dict logged from Python made
// the whole run unreadable).
func DecodeValue(b []byte) (any, error) {
	v, err := pyon.DecodeMsgpack(b)
	if err != nil {
		return nil, fmt.Errorf("store: corrupt value: %w", err)
	}
	return v, nil
}

// ValueText is a short text of v for error messages.
func ValueText(v any) string {
	s := fmt.Sprintf("%v", v)
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}

// ScalarOf reports whether v is a real number (an integer, a float or a
// bool) and returns it as a float64.
func ScalarOf(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case int64:
		return float64(v), true
	case int:
		return float64(v), true
	case int8:
		return float64(v), true
	case int16:
		return float64(v), true
	case int32:
		return float64(v), true
	case uint8:
		return float64(v), true
	case uint16:
		return float64(v), true
	case uint32:
		return float64(v), true
	case uint64:
		return float64(v), true
	case uint:
		return float64(v), true
	}
	return 0, false
}
