package pyon

import (
	"encoding"
	"reflect"
	"strconv"
)

// reflect encodes a Go value Encode's type switch does not name: by its
// methods (ownText) or through a pointer, as the msgpack encoder does
// (EncodeMsgpackValue); any other value goes through pyon's one reflect
// walker, the normalizer behind Normalize, which hands it to a textSink
// as it reads it (its form in the value model, without a copy). Inside a Go struct, slice or map a value whose methods
// define its form is refused, as on every wire (Normalize).
func (e *encoder) reflect(v any) error {
	if s, ok, err := ownText(v); err != nil {
		return err
	} else if ok {
		e.string(s)
		return nil
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
	n := normalizer{NormalizeOptions: NormalizeOptions{MaxDepth: maxDepth - e.depth, NilAsEmpty: true}}
	if e.key {
		// Where Python needs a hashable value: built, a Go array as a tuple.
		x, err := n.key(rv, 0)
		if err != nil {
			return err
		}
		return e.value(x)
	}
	// Written as the walker reads it (nil slices and maps as [] and {},
	// struct fields in order), without a copy.
	// The sink works on a copy of e, so that e itself does not escape
	// (Encode's generic path stays free of allocations).
	sink := &textSink{e: *e}
	n.sink = sink
	_, err := n.value(rv, 0)
	*e = sink.e
	return err
}

// textSink writes what the walker reads as PYON text.
type textSink struct {
	e        encoder
	open     int  // lists and dicts open
	first    bool // nothing written yet in the innermost one
	afterKey bool // a dict key written, its value next
}

// sep writes the comma before a list element or dict key.
func (s *textSink) sep() {
	switch {
	case s.afterKey:
		s.afterKey = false
	case s.open > 0 && !s.first:
		s.e.buf = append(s.e.buf, ',')
	}
	s.first = false
}

func (s *textSink) null()                          { s.sep(); s.e.buf = append(s.e.buf, "null"...) }
func (s *textSink) boolean(b bool)                 { s.sep(); s.e.buf = strconv.AppendBool(s.e.buf, b) }
func (s *textSink) integer(i int64)                { s.sep(); s.e.buf = strconv.AppendInt(s.e.buf, i, 10) }
func (s *textSink) unsigned(u uint64)              { s.sep(); s.e.buf = strconv.AppendUint(s.e.buf, u, 10) }
func (s *textSink) float(f float64, bits int)      { s.sep(); s.e.float(f, bits) }
func (s *textSink) complex(c complex128, bits int) { s.sep(); s.e.complex(c, bits) }
func (s *textSink) str(x string)                   { s.sep(); s.e.string(x) }
func (s *textSink) bytes(b []byte)                 { s.sep(); s.e.bytes(b) }
func (s *textSink) built(v any) error              { s.sep(); return s.e.value(v) }

func (s *textSink) openList(int) { s.sep(); s.e.buf = append(s.e.buf, '['); s.open++; s.first = true }
func (s *textSink) openDict()    { s.sep(); s.e.buf = append(s.e.buf, '{'); s.open++; s.first = true }

func (s *textSink) key(k string) error {
	if k == jsonClassKey {
		return unsupported("a dict may not have the key %q", jsonClassKey)
	}
	s.sep()
	s.e.objectKey(k)
	s.afterKey = true
	return nil
}

func (s *textSink) close(list bool) error {
	if list {
		s.e.buf = append(s.e.buf, ']')
	} else {
		s.e.buf = append(s.e.buf, '}')
	}
	s.open--
	s.first = false
	return s.e.maybeFlush()
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
