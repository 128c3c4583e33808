package pyon

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"
)

// Validate checks the dtype and that Data is exactly one item.
func (s NPScalar) Validate() error {
	d, err := parseDType(s.DType)
	if err != nil {
		return err
	}
	if len(s.Data) != d.size {
		return malformed("npscalar of dtype %s needs %d bytes, got %d", s.DType, d.size, len(s.Data))
	}
	return nil
}

// Value returns the scalar as a Go value: bool (b1), int64 (signed
// integers), uint64 (unsigned), float64 (f2, f4, f8), complex128 (c8,
// c16), []byte (S, numpy's bytes_, trailing NULs removed) or string (U,
// numpy's str_). Other dtypes (datetimes, void, long doubles) are
// ErrUnsupported.
func (s NPScalar) Value() (any, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	d, _ := parseDType(s.DType)
	if d.numeric() {
		return d.elem(s.Data), nil
	}
	switch d.kind {
	case 'S':
		return bytes.TrimRight(s.Data, "\x00"), nil
	case 'U':
		o := d.byteOrder()
		var b []byte
		for i := 0; i+4 <= len(s.Data); i += 4 {
			r := rune(o.Uint32(s.Data[i:]))
			if r == 0 {
				break // numpy pads with NULs
			}
			if !utf8.ValidRune(r) {
				return nil, malformed("npscalar %s: invalid code point %#x", s.DType, r)
			}
			b = utf8.AppendRune(b, r)
		}
		return string(b), nil
	}
	return nil, fmt.Errorf("%w: numpy scalar of dtype %s has no Go equivalent", ErrUnsupported, s.DType)
}

// Float64 returns a bool, integer or float scalar as float64.
func (s NPScalar) Float64() (float64, error) {
	v, err := s.Value()
	if err != nil {
		return 0, err
	}
	switch v.(type) {
	case bool, int64, uint64, float64:
		return toFloat64(v), nil
	}
	return 0, fmt.Errorf("%w: numpy scalar of dtype %s is not a real number", ErrUnsupported, s.DType)
}

// Int64 returns a bool or integer scalar as int64.
func (s NPScalar) Int64() (int64, error) {
	v, err := s.Value()
	if err != nil {
		return 0, err
	}
	switch x := v.(type) {
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case int64:
		return x, nil
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), nil
		}
	}
	return 0, fmt.Errorf("%w: numpy scalar %s of dtype %s is not an int64", ErrUnsupported, s, s.DType)
}

// ScalarOf makes the numpy scalar numpy would for a Go bool, sized integer
// (int is int64), float or complex: int32 → np.int32 ("<i4"), float64 →
// np.float64 ("<f8"), and so on, little-endian.
func ScalarOf(v any) (NPScalar, error) {
	le := binary.LittleEndian
	switch x := v.(type) {
	case bool:
		b := byte(0)
		if x {
			b = 1
		}
		return NPScalar{DType: "|b1", Data: []byte{b}}, nil
	case int8:
		return NPScalar{DType: "|i1", Data: []byte{byte(x)}}, nil
	case uint8:
		return NPScalar{DType: "|u1", Data: []byte{x}}, nil
	case int16:
		return NPScalar{DType: "<i2", Data: le.AppendUint16(nil, uint16(x))}, nil
	case uint16:
		return NPScalar{DType: "<u2", Data: le.AppendUint16(nil, x)}, nil
	case int32:
		return NPScalar{DType: "<i4", Data: le.AppendUint32(nil, uint32(x))}, nil
	case uint32:
		return NPScalar{DType: "<u4", Data: le.AppendUint32(nil, x)}, nil
	case int:
		return NPScalar{DType: "<i8", Data: le.AppendUint64(nil, uint64(x))}, nil
	case int64:
		return NPScalar{DType: "<i8", Data: le.AppendUint64(nil, uint64(x))}, nil
	case uint:
		return NPScalar{DType: "<u8", Data: le.AppendUint64(nil, uint64(x))}, nil
	case uint64:
		return NPScalar{DType: "<u8", Data: le.AppendUint64(nil, x)}, nil
	case float32:
		return NPScalar{DType: "<f4", Data: le.AppendUint32(nil, math.Float32bits(x))}, nil
	case float64:
		return NPScalar{DType: "<f8", Data: le.AppendUint64(nil, math.Float64bits(x))}, nil
	case complex64:
		d := le.AppendUint32(nil, math.Float32bits(real(x)))
		return NPScalar{DType: "<c8", Data: le.AppendUint32(d, math.Float32bits(imag(x)))}, nil
	case complex128:
		d := le.AppendUint64(nil, math.Float64bits(real(x)))
		return NPScalar{DType: "<c16", Data: le.AppendUint64(d, math.Float64bits(imag(x)))}, nil
	}
	return NPScalar{}, fmt.Errorf("%w: no numpy scalar for Go %T", ErrUnsupported, v)
}

// String shows the value when it has a Go form, else the dtype and bytes.
func (s NPScalar) String() string {
	if v, err := s.Value(); err == nil {
		return fmt.Sprintf("np(%s %v)", s.DType, v)
	}
	return fmt.Sprintf("np(%s %x)", s.DType, s.Data)
}
