package pyon

import (
	"bytes"
	"encoding"
	"reflect"
	"slices"
	"strconv"
)

// reflect encodes the Go values Encode's type switch does not name.
func (e *encoder) reflect(v reflect.Value) error {
	if !v.IsValid() {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	t := v.Type()
	switch {
	case t == bigIntType || t == bigRatType:
		// Values rather than pointers: encode a copy's address.
		p := reflect.New(t)
		p.Elem().Set(v)
		return e.value(p.Interface())
	case t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface && t.Implements(textMarshalerType):
		text, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return unsupported("%s.MarshalText: %v", t, err)
		}
		e.string(string(text))
		return nil
	}
	if t.Implements(errorType) && (t.Kind() != reflect.Pointer || !v.IsNil()) {
		e.string(v.Interface().(error).Error()) // as msgpack does: the message
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		if err := e.enter(); err != nil {
			return err
		}
		err := e.value(v.Elem().Interface())
		e.leave()
		return err
	case reflect.Bool:
		e.buf = strconv.AppendBool(e.buf, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.buf = strconv.AppendInt(e.buf, v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.buf = strconv.AppendUint(e.buf, v.Uint(), 10)
	case reflect.Float32:
		e.float(v.Float(), 32)
	case reflect.Float64:
		e.float(v.Float(), 64)
	case reflect.Complex64:
		e.complex(v.Complex(), 32)
	case reflect.Complex128:
		e.complex(v.Complex(), 64)
	case reflect.String:
		e.string(v.String())
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			e.bytes(v.Bytes())
			return nil
		}
		if e.key {
			return e.unhashable("list")
		}
		return e.sequence(v, false)
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			b := make([]byte, v.Len())
			reflect.Copy(reflect.ValueOf(b), v)
			e.bytes(b)
			return nil
		}
		return e.sequence(v, e.key) // a tuple where Python needs a hashable value
	case reflect.Map:
		if e.key {
			return e.unhashable("dict")
		}
		return e.mapValue(v)
	case reflect.Struct:
		if e.key {
			return e.unhashable("dict (from a struct)")
		}
		return e.structValue(v)
	default:
		return unsupported("cannot encode Go %s", t)
	}
	return nil
}

func (e *encoder) sequence(v reflect.Value, tuple bool) error {
	if err := e.enter(); err != nil {
		return err
	}
	if tuple {
		e.classStart("tuple")
	}
	e.buf = append(e.buf, '[')
	for i := 0; i < v.Len(); i++ {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.value(v.Index(i).Interface()); err != nil {
			err = atIndex(err, i)
			if tuple {
				err = inClass(err, 0)
			}
			return err
		}
	}
	e.buf = append(e.buf, ']')
	if tuple {
		e.classEnd()
	}
	e.leave()
	return nil
}

func (e *encoder) mapValue(v reflect.Value) error {
	if err := e.enter(); err != nil {
		return err
	}
	t := v.Type()
	if t.Key().Kind() == reflect.String && !t.Key().Implements(textMarshalerType) {
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return cmpString(a.String(), b.String()) })
		e.buf = append(e.buf, '{')
		for i, k := range keys {
			ks := k.String()
			if ks == jsonClassKey {
				return at(unsupported("a dict may not have the key %q", jsonClassKey), ks)
			}
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.objectKey(ks)
			if err := e.value(v.MapIndex(k).Interface()); err != nil {
				return at(err, ks)
			}
		}
		e.buf = append(e.buf, '}')
		e.leave()
		return nil
	}
	// Other keys: a "dict" class of [key, value] pairs, sorted by the
	// key's encoding so the output is reproducible.
	type pair struct {
		key  []byte
		kstr string
		val  reflect.Value
	}
	ps := make([]pair, 0, v.Len())
	it := v.MapRange()
	for it.Next() {
		k := encoder{key: true, depth: e.depth}
		ks := pathKey(it.Key())
		if err := k.value(it.Key().Interface()); err != nil {
			return at(err, ks)
		}
		ps = append(ps, pair{k.buf, ks, it.Value()})
	}
	slices.SortFunc(ps, func(a, b pair) int { return bytes.Compare(a.key, b.key) })
	e.classStart("dict")
	e.buf = append(e.buf, '[')
	for i, p := range ps {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = append(e.buf, '[')
		e.buf = append(e.buf, p.key...)
		e.buf = append(e.buf, ',')
		if err := e.value(p.val.Interface()); err != nil {
			return inClass(atIndex(atIndex(err, 1), i), 0)
		}
		e.buf = append(e.buf, ']')
	}
	e.buf = append(e.buf, ']')
	e.classEnd()
	e.leave()
	return nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// pathKey names a map key in an error path.
func pathKey(k reflect.Value) string {
	if k.Kind() == reflect.String {
		return k.String()
	}
	b, err := Encode(k.Interface())
	if err != nil {
		return k.Type().String()
	}
	return string(b)
}

func (e *encoder) structValue(v reflect.Value) error {
	if err := e.enter(); err != nil {
		return err
	}
	e.buf = append(e.buf, '{')
	n := 0
	for _, f := range structFields(v.Type()) {
		fv, ok := fieldValue(v, f.index)
		if !ok || (f.omitEmpty && fv.IsZero()) {
			continue
		}
		if n > 0 {
			e.buf = append(e.buf, ',')
		}
		n++
		e.objectKey(f.name)
		if err := e.value(fv.Interface()); err != nil {
			return at(err, f.name)
		}
	}
	e.buf = append(e.buf, '}')
	e.leave()
	return nil
}
