package pyon

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"reflect"

	"github.com/vmihailenco/msgpack/v5"
)

// Native msgpack (github.com/vmihailenco/msgpack/v5) mapping, so PYON
// values — typed by an rpctool user, or received from a SiPyCo peer — can
// be sent to native sigoco peers. Where msgpack has a natural form it is
// used, so the receiver can decode straight into ordinary Go types:
//
//	Tuple, Set        → array (a Set decodes back from an array)
//	Dict, OrderedDict → map, in order (keys of any type)
//	NDArray           → nested arrays following Shape (numeric dtypes)
//	NPScalar          → its value (bool, int, uint, float, ext complex, bin, str)
//
// Values msgpack lacks are extension types, registered at init so that
// decoding into `any` (or into the Go type) gives them back:
//
//	complex128 → ext 70, 16 bytes: real, imag as big-endian float64
//	Fraction   → ext 71, the text "num/den"; decodes to *Fraction
//	Slice      → ext 72, a msgpack array [start, stop, step]
//
// complex64 has no mapping (the library allows one type per extension id).
const (
	ExtComplex  int8 = 70
	ExtFraction int8 = 71
	ExtSlice    int8 = 72
)

func init() {
	msgpack.RegisterExtEncoder(ExtComplex, complex128(0), func(_ *msgpack.Encoder, v reflect.Value) ([]byte, error) {
		c := v.Complex()
		b := binary.BigEndian.AppendUint64(make([]byte, 0, 16), math.Float64bits(real(c)))
		return binary.BigEndian.AppendUint64(b, math.Float64bits(imag(c))), nil
	})
	msgpack.RegisterExtDecoder(ExtComplex, complex128(0), func(d *msgpack.Decoder, v reflect.Value, n int) error {
		if n != 16 {
			return fmt.Errorf("pyon: msgpack complex extension of %d bytes, want 16", n)
		}
		var b [16]byte
		if err := d.ReadFull(b[:]); err != nil {
			return err
		}
		v.SetComplex(complex(math.Float64frombits(binary.BigEndian.Uint64(b[:])), math.Float64frombits(binary.BigEndian.Uint64(b[8:]))))
		return nil
	})
	msgpack.RegisterExtDecoder(ExtFraction, (*Fraction)(nil), func(d *msgpack.Decoder, v reflect.Value, n int) error {
		b := make([]byte, n)
		if err := d.ReadFull(b); err != nil {
			return err
		}
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		f := v.Addr().Interface().(*Fraction)
		if err := f.UnmarshalText(b); err != nil {
			return fmt.Errorf("pyon: msgpack Fraction extension: %w", err)
		}
		return nil
	})
	msgpack.RegisterExtDecoder(ExtSlice, Slice{}, func(d *msgpack.Decoder, v reflect.Value, n int) error {
		b := make([]byte, n)
		if err := d.ReadFull(b); err != nil {
			return err
		}
		var parts []any
		if err := msgpack.Unmarshal(b, &parts); err != nil || len(parts) != 3 {
			return fmt.Errorf("pyon: msgpack slice extension is not [start, stop, step]")
		}
		v.Set(reflect.ValueOf(Slice{Start: parts[0], Stop: parts[1], Step: parts[2]}))
		return nil
	})
}

var (
	_ msgpack.CustomEncoder = Set{}
	_ msgpack.CustomDecoder = (*Set)(nil)
	_ msgpack.CustomEncoder = Dict{}
	_ msgpack.CustomDecoder = (*Dict)(nil)
	_ msgpack.CustomEncoder = OrderedDict{}
	_ msgpack.CustomDecoder = (*OrderedDict)(nil)
	_ msgpack.CustomEncoder = NDArray{}
	_ msgpack.CustomDecoder = (*NDArray)(nil)
	_ msgpack.CustomEncoder = NPScalar{}
	_ msgpack.CustomDecoder = (*NPScalar)(nil)
	_ msgpack.CustomEncoder = Fraction{}
	_ msgpack.CustomEncoder = Slice{}
)

// EncodeMsgpack writes the items as a msgpack array.
func (s Set) EncodeMsgpack(enc *msgpack.Encoder) error {
	if err := enc.EncodeArrayLen(len(s.Items)); err != nil {
		return err
	}
	for _, it := range s.Items {
		if err := enc.Encode(it); err != nil {
			return err
		}
	}
	return nil
}

// DecodeMsgpack reads a msgpack array as a (non-frozen) set.
func (s *Set) DecodeMsgpack(dec *msgpack.Decoder) error {
	var items []any
	if err := dec.Decode(&items); err != nil {
		return err
	}
	if items == nil {
		items = []any{}
	}
	*s = Set{Items: items}
	return nil
}

func encodeItems(enc *msgpack.Encoder, items []Item) error {
	if err := enc.EncodeMapLen(len(items)); err != nil {
		return err
	}
	for _, it := range items {
		if err := enc.Encode(it.Key); err != nil {
			return err
		}
		if err := enc.Encode(it.Value); err != nil {
			return err
		}
	}
	return nil
}

func decodeItems(dec *msgpack.Decoder) ([]Item, error) {
	n, err := dec.DecodeMapLen()
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, nil
	}
	items := make([]Item, 0, min(n, 1024)) // n is untrusted
	for range n {
		k, err := dec.DecodeInterface()
		if err != nil {
			return nil, err
		}
		v, err := dec.DecodeInterface()
		if err != nil {
			return nil, err
		}
		items = append(items, Item{k, v})
	}
	return items, nil
}

// EncodeMsgpack writes the pairs as a msgpack map, in order.
func (d Dict) EncodeMsgpack(enc *msgpack.Encoder) error { return encodeItems(enc, d) }

// DecodeMsgpack reads a msgpack map, keeping its order.
func (d *Dict) DecodeMsgpack(dec *msgpack.Decoder) error {
	items, err := decodeItems(dec)
	*d = items
	return err
}

// EncodeMsgpack writes the pairs as a msgpack map, in order.
func (d OrderedDict) EncodeMsgpack(enc *msgpack.Encoder) error { return encodeItems(enc, d) }

// DecodeMsgpack reads a msgpack map, keeping its order.
func (d *OrderedDict) DecodeMsgpack(dec *msgpack.Decoder) error {
	items, err := decodeItems(dec)
	*d = items
	return err
}

// EncodeMsgpack writes the array as nested msgpack arrays following its
// shape (numpy's tolist()), so a receiver can decode it into []float64,
// [][]float64 and the like. Non-numeric dtypes are an error.
func (a NDArray) EncodeMsgpack(enc *msgpack.Encoder) error {
	l, err := a.ToList()
	if err != nil {
		return err
	}
	return enc.Encode(l)
}

// DecodeMsgpack reads nested arrays of numbers (see ListToNDArray).
func (a *NDArray) DecodeMsgpack(dec *msgpack.Decoder) error {
	v, err := dec.DecodeInterface()
	if err != nil {
		return err
	}
	x, err := ListToNDArray(v)
	if err != nil {
		return fmt.Errorf("pyon: msgpack value is not a numpy array: %w", err)
	}
	*a = x
	return nil
}

// EncodeMsgpack writes the scalar's value (see NPScalar.Value).
func (s NPScalar) EncodeMsgpack(enc *msgpack.Encoder) error {
	v, err := s.Value()
	if err != nil {
		return err
	}
	return enc.Encode(v)
}

// DecodeMsgpack reads a number or bool as the numpy scalar ScalarOf makes.
func (s *NPScalar) DecodeMsgpack(dec *msgpack.Decoder) error {
	v, err := dec.DecodeInterface()
	if err != nil {
		return err
	}
	x, err := ScalarOf(v)
	if err != nil {
		return err
	}
	*s = x
	return nil
}

// EncodeMsgpack writes extension ExtFraction holding "num/den".
func (f Fraction) EncodeMsgpack(enc *msgpack.Encoder) error {
	text := []byte(f.Rat.String())
	if err := enc.EncodeExtHeader(ExtFraction, len(text)); err != nil {
		return err
	}
	_, err := enc.Writer().Write(text)
	return err
}

// EncodeMsgpack writes extension ExtSlice holding [start, stop, step].
func (s Slice) EncodeMsgpack(enc *msgpack.Encoder) error {
	b, err := msgpack.Marshal([]any{s.Start, s.Stop, s.Step})
	if err != nil {
		return err
	}
	if err := enc.EncodeExtHeader(ExtSlice, len(b)); err != nil {
		return err
	}
	_, err = enc.Writer().Write(b)
	return err
}

// NewFraction returns num/den; den must not be zero.
func NewFraction(num, den int64) *Fraction {
	f := new(Fraction)
	f.SetFrac(big.NewInt(num), big.NewInt(den))
	return f
}
