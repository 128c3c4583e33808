package track

import (
	"fmt"
	"reflect"
	"strconv"

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
	case bool:
		return v, nil // re-boxed: the caller's interface value never escapes
	case string:
		return v, nil
	case int64:
		return v, nil
	case float64:
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
	case complex128:
		return v, nil
	case *pyon.Fraction:
		if v == nil {
			return nil, nil
		}
		f := *v
		return &f, nil
	case pyon.NPScalar:
		return v, nil
	case pyon.Slice:
		return v, nil
	}
	return normalizeReflect(reflect.ValueOf(v), 0)
}

const maxDepth = 64

var (
	typeNDArray     = reflect.TypeFor[pyon.NDArray]()
	typeTuple       = reflect.TypeFor[pyon.Tuple]()
	typeSet         = reflect.TypeFor[pyon.Set]()
	typeDict        = reflect.TypeFor[pyon.Dict]()
	typeOrderedDict = reflect.TypeFor[pyon.OrderedDict]()
	typeNPScalar    = reflect.TypeFor[pyon.NPScalar]()
	typeSlice       = reflect.TypeFor[pyon.Slice]()
	typeFraction    = reflect.TypeFor[pyon.Fraction]()
)

func copyBytes(rv reflect.Value) []byte {
	out := make([]byte, rv.Len())
	reflect.Copy(reflect.ValueOf(out), rv)
	return out
}

// normalizeReflect is normalize for the values its type switch does not
// know. It only reads rv (never rv.Interface()), so the value a caller
// passed does not escape and a scalar LogResult costs no allocation; the
// PYON types are rebuilt from their fields.
func normalizeReflect(rv reflect.Value, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("track: value nested deeper than %d levels", maxDepth)
	}
	if rv.IsValid() {
		switch rv.Type() {
		case typeNDArray:
			shape := make([]int, rv.Field(0).Len())
			for i := range shape {
				shape[i] = int(rv.Field(0).Index(i).Int())
			}
			return pyon.NDArray{Shape: shape, DType: rv.Field(1).String(), Data: copyBytes(rv.Field(2))}, nil
		case typeNPScalar:
			return pyon.NPScalar{DType: rv.Field(0).String(), Data: copyBytes(rv.Field(1))}, nil
		case typeTuple:
			out := make(pyon.Tuple, rv.Len())
			for i := range out {
				x, err := normalizeReflect(rv.Index(i), depth+1)
				if err != nil {
					return nil, err
				}
				out[i] = x
			}
			return out, nil
		case typeSet:
			items, err := normalizeReflect(rv.Field(0), depth+1)
			if err != nil {
				return nil, err
			}
			list, _ := items.([]any)
			return pyon.Set{Items: list, Frozen: rv.Field(1).Bool()}, nil
		case typeDict, typeOrderedDict:
			items := make([]pyon.Item, rv.Len())
			for i := range items {
				k, err := normalizeReflect(rv.Index(i).Field(0), depth+1)
				if err != nil {
					return nil, err
				}
				v, err := normalizeReflect(rv.Index(i).Field(1), depth+1)
				if err != nil {
					return nil, err
				}
				items[i] = pyon.Item{Key: k, Value: v}
			}
			if rv.Type() == typeDict {
				return pyon.Dict(items), nil
			}
			return pyon.OrderedDict(items), nil
		case typeSlice:
			var parts [3]any
			for i := range parts {
				x, err := normalizeReflect(rv.Field(i), depth+1)
				if err != nil {
					return nil, err
				}
				parts[i] = x
			}
			return pyon.Slice{Start: parts[0], Stop: parts[1], Step: parts[2]}, nil
		case typeFraction:
			return nil, fmt.Errorf("track: a pyon.Fraction inside another value cannot be logged; log it alone or as a float")
		}
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
			return copyBytes(rv), nil
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
		for _, k := range rv.MapKeys() { // not MapRange: its iterator would keep rv
			ks, err := keyText(k)
			if err != nil {
				return nil, err
			}
			x, err := normalizeReflect(rv.MapIndex(k), depth+1)
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

// keyText formats a map key of a basic kind.
func keyText(k reflect.Value) (string, error) {
	switch k.Kind() {
	case reflect.String:
		return k.String(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(k.Float(), 'g', -1, 64), nil
	case reflect.Bool:
		return strconv.FormatBool(k.Bool()), nil
	}
	return "", fmt.Errorf("track: cannot log a map with %s keys", k.Type())
}
