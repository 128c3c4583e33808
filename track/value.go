package track

import (
	"fmt"
	"reflect"

	"github.com/sigoco/sigoco/internal/snake"
	"github.com/sigoco/sigoco/pyon"
)

// normalize deep-copies v into the generic value model the wire carries:
// nil, bool, int64, float64, string, []byte, []float64, []int64, []any,
// map[string]any, and the PYON types (pyon.NDArray, pyon.Tuple, ...) as they
// are. Structs become maps of their exported fields by snake_case name (or
// msgpack tag). It never keeps a reference into v, so the caller may change
// v afterwards, and it does not make v escape (a scalar passed as any is
// not allocated).
func normalize(v any) (any, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case bool, string, int64, float64:
		return v, nil
	case int:
		return int64(v), nil
	case float32:
		return float64(v), nil
	case []float64:
		return append([]float64(nil), v...), nil
	case []int64:
		return append([]int64(nil), v...), nil
	case []byte:
		return append([]byte(nil), v...), nil
	case pyon.NDArray:
		c := v
		c.Data = append([]byte(nil), v.Data...)
		c.Shape = append([]int(nil), v.Shape...)
		return c, nil
	case pyon.Tuple:
		out := make(pyon.Tuple, len(v))
		for i, x := range v {
			n, err := normalize(x)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case complex128, *pyon.Fraction, pyon.NPScalar, pyon.Slice:
		return v, nil
	}
	return normalizeReflect(reflect.ValueOf(v), 0)
}

const maxDepth = 64

func normalizeReflect(rv reflect.Value, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("track: value nested deeper than %d levels", maxDepth)
	}
	switch rv.Kind() {
	case reflect.Invalid:
		return nil, nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > 1<<63-1 {
			return float64(u), nil
		}
		return int64(u), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.Complex64, reflect.Complex128:
		return rv.Complex(), nil
	case reflect.String:
		return rv.String(), nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		if rv.Kind() == reflect.Interface {
			return normalize(rv.Elem().Interface())
		}
		return normalizeReflect(rv.Elem(), depth+1)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return nil, nil
		}
		switch rv.Type().Elem().Kind() {
		case reflect.Float32, reflect.Float64:
			out := make([]float64, rv.Len())
			for i := range out {
				out[i] = rv.Index(i).Float()
			}
			return out, nil
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			out := make([]int64, rv.Len())
			for i := range out {
				out[i] = rv.Index(i).Int()
			}
			return out, nil
		case reflect.Uint8:
			out := make([]byte, rv.Len())
			reflect.Copy(reflect.ValueOf(out), rv)
			return out, nil
		}
		out := make([]any, rv.Len())
		for i := range out {
			x, err := normalizeReflect(rv.Index(i), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	case reflect.Map:
		if rv.IsNil() {
			return nil, nil
		}
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			k := it.Key()
			var ks string
			if k.Kind() == reflect.String {
				ks = k.String()
			} else {
				ks = fmt.Sprint(k.Interface())
			}
			x, err := normalizeReflect(it.Value(), depth+1)
			if err != nil {
				return nil, err
			}
			out[ks] = x
		}
		return out, nil
	case reflect.Struct:
		t := rv.Type()
		out := make(map[string]any, t.NumField())
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := snake.Case(f.Name)
			if tag := f.Tag.Get("msgpack"); tag != "" {
				if tag == "-" {
					continue
				}
				if n, _, _ := cutComma(tag); n != "" {
					name = n
				}
			}
			x, err := normalizeReflect(rv.Field(i), depth+1)
			if err != nil {
				return nil, err
			}
			out[name] = x
		}
		return out, nil
	}
	return nil, fmt.Errorf("track: cannot log a value of type %s", rv.Type())
}

func cutComma(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == ',' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
