package pyon

import (
	"encoding"
	"reflect"
)

// reflect encodes a Go value Encode's type switch does not name: by its
// methods (ownText) or through a pointer, as the msgpack encoder does
// (EncodeMsgpackValue); any other value goes through pyon's one reflect
// walker, the normalizer behind Normalize, and its form in the value model
// is encoded. Inside a Go struct, slice or map a value whose methods
// define its form is refused, as on every wire (Normalize).
func (e *encoder) reflect(v any) error {
	if s, ok, err := ownText(v); ok || err != nil {
		e.string(s)
		return err
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		if err := e.enter(); err != nil {
			return err
		}
		err := e.value(rv.Elem().Interface())
		e.leave()
		return err
	}
	if e.depth >= maxDepth {
		return ErrTooDeep
	}
	// Encode writes nil slices and maps as [] and {}, structs with their
	// fields in order.
	n := normalizer{NormalizeOptions: NormalizeOptions{MaxDepth: maxDepth - e.depth}, nilEmpty: true, fieldOrder: true}
	var x any
	var err error
	if e.key {
		x, err = n.key(rv, 0) // a Go array becomes a tuple where Python needs a hashable value
	} else {
		x, err = n.value(rv, 0)
	}
	if err != nil {
		return err
	}
	return e.value(x)
}

// ownText is the text a value's methods give it on every wire: a
// TextMarshaler's text, an error's message. A pointer to a TextMarshaler
// is followed by the caller (nil is None); an error is its message
// whatever its receiver, unless it is a nil pointer.
func ownText(v any) (string, bool, error) {
	rv := reflect.ValueOf(v)
	isPtr := rv.Kind() == reflect.Pointer
	if x, ok := v.(encoding.TextMarshaler); ok && !isPtr {
		text, err := x.MarshalText()
		if err != nil {
			return "", false, unsupported("%T.MarshalText: %v", v, err)
		}
		return string(text), true, nil
	}
	if x, ok := v.(error); ok && (!isPtr || !rv.IsNil()) {
		return x.Error(), true, nil
	}
	return "", false, nil
}
