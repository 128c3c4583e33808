package rpc

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/wire"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// A typePlan says how values of one Go type are decoded and encoded. The
// common argument and result types (numbers, strings, bytes, slices of
// numbers) take short paths built on msgpack's primitives, which check
// ranges, never allocate from an announced length, and skip reflection per
// element. Everything else is decoded in the value model by pyon's bounded
// decoder and converted with pyon.DecodeInto (so a tuple or a set fills a
// slice, a numpy array a [][]float64); a type with its own msgpack
// decoding gets the value after pyon has checked it.
type typePlan struct {
	typ      reflect.Type
	kind     planKind
	elem     reflect.Kind // element kind of the slice plans
	custom   bool         // planMsgpack: the type decodes itself (msgpack.CustomDecoder, Unmarshaler)
	nillable bool         // msgpack nil is a valid value of the type
}

type planKind uint8

const (
	planMsgpack planKind = iota
	planAny
	planBool
	planInt
	planUint
	planFloat
	planString
	planBytes
	planIntSlice
	planUintSlice
	planFloatSlice
	planStringSlice
)

var plans sync.Map // reflect.Type -> *typePlan

var (
	customDecoderType = reflect.TypeFor[msgpack.CustomDecoder]()
	unmarshalerType   = reflect.TypeFor[msgpack.Unmarshaler]()
)

func planFor(t reflect.Type) *typePlan {
	if p, ok := plans.Load(t); ok {
		return p.(*typePlan)
	}
	p := &typePlan{typ: t, kind: planMsgpack}
	switch t.Kind() {
	case reflect.Ptr, reflect.Slice, reflect.Map, reflect.Interface:
		p.nillable = true
	}
	// Only predeclared and unnamed types take the short paths: a named type
	// may carry its own msgpack encoding.
	builtin := t.PkgPath() == ""
	switch k := t.Kind(); {
	case k == reflect.Interface && t.NumMethod() == 0:
		p.kind = planAny
	case !builtin:
	case k == reflect.Bool:
		p.kind = planBool
	case k >= reflect.Int && k <= reflect.Int64:
		p.kind = planInt
	case k >= reflect.Uint && k <= reflect.Uintptr:
		p.kind = planUint
	case k == reflect.Float32 || k == reflect.Float64:
		p.kind = planFloat
	case k == reflect.String:
		p.kind = planString
	case k == reflect.Slice && t.Elem().PkgPath() == "":
		switch ek := t.Elem().Kind(); {
		case ek == reflect.Uint8:
			p.kind = planBytes
		case ek >= reflect.Int && ek <= reflect.Int64:
			p.kind, p.elem = planIntSlice, ek
		case ek >= reflect.Uint16 && ek <= reflect.Uint64:
			p.kind, p.elem = planUintSlice, ek
		case ek == reflect.Float32 || ek == reflect.Float64:
			p.kind, p.elem = planFloatSlice, ek
		case ek == reflect.String:
			p.kind, p.elem = planStringSlice, ek
		}
	}
	if p.kind == planMsgpack && t.PkgPath() != pyonPkg {
		pt := reflect.PointerTo(t)
		p.custom = pt.Implements(customDecoderType) || pt.Implements(unmarshalerType)
	}
	plans.Store(t, p)
	return p
}

// mismatchError is a well-formed value that does not fit the Go type.
type mismatchError struct{ detail string }

func (e *mismatchError) Error() string {
	if e.detail == "" {
		return "type mismatch"
	}
	return e.detail
}

var errMismatch = &mismatchError{}

func isIntCode(c byte) bool {
	return msgpcode.IsFixedNum(c) || (c >= msgpcode.Uint8 && c <= msgpcode.Int64)
}

func isUintCode(c byte) bool {
	return c >= msgpcode.Uint8 && c <= msgpcode.Uint64
}

func isFloatCode(c byte) bool { return c == msgpcode.Float || c == msgpcode.Double }

func isArrayCode(c byte) bool {
	return msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32
}

// decode decodes the next value into v, which must be settable and of
// p.typ. A well-formed value of the wrong type gives a *mismatchError
// (possibly wrapped); broken msgpack gives any other error.
func (p *typePlan) decode(m *msgDecoder, v reflect.Value) error {
	d := m.d
	c, err := m.peek()
	if err != nil {
		return err
	}
	if msgpcode.IsExt(c) && p.kind != planAny {
		packed, ok, err := m.decodePacked()
		if ok || err != nil {
			if err != nil {
				return err
			}
			return assignPacked(v, packed)
		}
		if p.kind != planMsgpack {
			// A tuple, set, numpy array or scalar, big int ... for a
			// plain Go type: converted in the value model.
			return p.decodeModel(m, v)
		}
	}
	if c == msgpcode.Nil {
		if !p.nillable {
			return errMismatch
		}
		d.Skip()
		v.SetZero()
		return nil
	}
	switch p.kind {
	case planAny:
		x, err := m.decodeAny()
		if err != nil {
			return err
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
		return nil
	case planBool:
		if c != msgpcode.True && c != msgpcode.False {
			return errMismatch
		}
		b, err := d.DecodeBool()
		v.SetBool(b)
		return err
	case planInt:
		n, err := decodeInt(d, c)
		if err != nil {
			return err
		}
		if v.OverflowInt(n) {
			return &mismatchError{"out of range"}
		}
		v.SetInt(n)
		return nil
	case planUint:
		n, err := decodeUint(d, c)
		if err != nil {
			return err
		}
		if v.OverflowUint(n) {
			return &mismatchError{"out of range"}
		}
		v.SetUint(n)
		return nil
	case planFloat:
		if !isFloatCode(c) && !isIntCode(c) {
			return errMismatch
		}
		f, err := d.DecodeFloat64()
		v.SetFloat(f)
		return err
	case planString:
		if !msgpcode.IsString(c) && !msgpcode.IsBin(c) {
			return errMismatch
		}
		s, err := m.decodeString()
		v.SetString(s)
		return err
	case planBytes:
		if !msgpcode.IsString(c) && !msgpcode.IsBin(c) {
			return errMismatch
		}
		b, err := m.decodeBytes()
		v.SetBytes(b)
		return err
	case planIntSlice, planUintSlice, planFloatSlice, planStringSlice:
		if !isArrayCode(c) {
			return errMismatch
		}
		return p.decodeSlice(m, v)
	}
	return p.decodeModel(m, v)
}

// decodeModel decodes the next value in the value model and converts it
// to v's type (pyon.DecodeInto); a type with its own msgpack decoding
// decodes the value itself once pyon has checked it.
func (p *typePlan) decodeModel(m *msgDecoder, v reflect.Value) error {
	d := m.d
	start := m.offset()
	x, err := m.decodeAny()
	if err != nil {
		return err
	}
	if p.custom {
		m.seek(start)
		if err := d.DecodeValue(v); err != nil {
			// msgpack reports wrong types and broken data alike; the
			// caller tells them apart by decoding the value again untyped.
			return &mismatchError{err.Error()}
		}
		return nil
	}
	if err := pyon.DecodeInto(x, v); err != nil {
		var ce *pyon.ConvertError
		if errors.As(err, &ce) {
			detail := ce.Reason
			if ce.Path != "" {
				detail = strings.TrimSpace(detail + " at " + ce.Path)
			}
			return &mismatchError{detail}
		}
		return &mismatchError{err.Error()}
	}
	return nil
}

func decodeInt(d *msgpack.Decoder, c byte) (int64, error) {
	if !isIntCode(c) {
		return 0, errMismatch
	}
	if isUintCode(c) {
		u, err := d.DecodeUint64()
		if err == nil && u > math.MaxInt64 {
			return 0, &mismatchError{"out of range"}
		}
		return int64(u), err
	}
	return d.DecodeInt64()
}

func decodeUint(d *msgpack.Decoder, c byte) (uint64, error) {
	if !isIntCode(c) {
		return 0, errMismatch
	}
	if isUintCode(c) || c <= msgpcode.PosFixedNumHigh {
		return d.DecodeUint64()
	}
	n, err := d.DecodeInt64()
	if err == nil && n < 0 {
		return 0, &mismatchError{"out of range"}
	}
	return uint64(n), err
}

func (p *typePlan) decodeSlice(m *msgDecoder, v reflect.Value) error {
	n, err := m.arrayLen()
	if err != nil {
		return err
	}
	d := m.d
	if err := m.charge(n * int(p.typ.Elem().Size())); err != nil {
		return err
	}
	// Fill the common slice types without reflection per element.
	switch s := v.Addr().Interface().(type) {
	case *[]int64:
		*s = make([]int64, n)
		for i := range *s {
			c, err := m.peek()
			if err != nil {
				return err
			}
			if (*s)[i], err = decodeInt(d, c); err != nil {
				return elemErr(i, err)
			}
		}
		return nil
	case *[]float64:
		*s = make([]float64, n)
		for i := range *s {
			c, err := m.peek()
			if err != nil {
				return err
			}
			if !isFloatCode(c) && !isIntCode(c) {
				return elemErr(i, errMismatch)
			}
			if (*s)[i], err = d.DecodeFloat64(); err != nil {
				return err
			}
		}
		return nil
	}
	s := reflect.MakeSlice(p.typ, n, n)
	elem := planFor(p.typ.Elem())
	for i := 0; i < n; i++ {
		if err := elem.decode(m, s.Index(i)); err != nil {
			return elemErr(i, err)
		}
	}
	v.Set(s)
	return nil
}

func elemErr(i int, err error) error {
	var me *mismatchError
	if errors.As(err, &me) {
		return &mismatchError{fmt.Sprintf("element %d: %v", i, err)}
	}
	return err
}

// encode encodes v (of p.typ) with e: plain Go types with msgpack's
// primitives, everything else in the value model (encodeValue).
func (p *typePlan) encode(e *msgpack.Encoder, v reflect.Value) error {
	switch p.kind {
	case planIntSlice, planUintSlice, planFloatSlice:
		if v.IsNil() {
			return e.EncodeNil()
		}
		return encodeSlice(e, v.Interface())
	case planAny, planMsgpack:
		if !v.IsValid() || (p.nillable && v.IsNil()) {
			return e.EncodeNil()
		}
		return encodeValue(e, v.Interface())
	}
	return e.EncodeValue(v)
}

// encodeValue writes x in the value model (pyon's msgpack mapping,
// docs/protocol.md "Values"): straight into the frame when e writes into
// a wire.Buffer and x is of the model's types, else through
// pyon.EncodeMsgpackValue (which also takes structs and typed slices).
func encodeValue(e *msgpack.Encoder, x any) error {
	if wb, ok := e.Writer().(*wire.Buffer); ok {
		n := len(wb.B)
		b, err := pyon.AppendMsgpack(wb.B, x)
		if err == nil {
			wb.B = b
			return nil
		}
		wb.B = wb.B[:n]
		if !errors.Is(err, pyon.ErrUnsupported) {
			return err
		}
	}
	return pyon.EncodeMsgpackValue(e, x)
}

// encodeSlice writes []int64 and []float64 packed (see packed.go) and the
// other common number slices with one msgpack call per element, the same
// bytes msgpack's reflection would give.
func encodeSlice(e *msgpack.Encoder, x any) error {
	v := reflect.ValueOf(x)
	if v.Kind() == reflect.Slice && v.IsNil() {
		return e.EncodeNil()
	}
	if ok, err := encodePacked(e, x); ok {
		return err
	}
	// Room for the largest encoding of every element, so the buffer does
	// not grow (and copy) as it goes.
	if aw, ok := e.Writer().(*wire.Buffer); ok && v.Kind() == reflect.Slice {
		aw.B = slices.Grow(aw.B, 5+9*v.Len())
	}
	switch s := x.(type) {
	case []int64:
		e.EncodeArrayLen(len(s))
		for _, n := range s {
			e.EncodeInt(n)
		}
	case []int:
		e.EncodeArrayLen(len(s))
		for _, n := range s {
			e.EncodeInt(int64(n))
		}
	case []int32:
		e.EncodeArrayLen(len(s))
		for _, n := range s {
			e.EncodeInt(int64(n))
		}
	case []uint64:
		e.EncodeArrayLen(len(s))
		for _, n := range s {
			e.EncodeUint(n)
		}
	case []float64:
		e.EncodeArrayLen(len(s))
		for _, f := range s {
			e.EncodeFloat64(f)
		}
	case []float32:
		e.EncodeArrayLen(len(s))
		for _, f := range s {
			e.EncodeFloat32(f)
		}
	default:
		return encodeValue(e, x)
	}
	return nil // writes to a wire.Buffer cannot fail
}

// encodeArg encodes one call argument given as any, in the value model.
func encodeArg(e *msgpack.Encoder, x any) error {
	switch x.(type) {
	case []int64, []int, []int32, []uint64, []float64, []float32:
		return encodeSlice(e, x)
	}
	return encodeValue(e, x)
}
