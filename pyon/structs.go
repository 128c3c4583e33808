package pyon

import (
	"github.com/sigoco/sigoco/internal/snake"
	"reflect"
	"strings"
	"sync"
)

// SnakeCase turns a Go identifier into the Python-style name used on the
// wire: SetAttenuation → set_attenuation, HTTPServer → http_server,
// UserID → user_id, Get2D → get2d. It is internal/snake's Case, the one
// rule every sigoco package uses.
func SnakeCase(name string) string { return snake.Case(name) }

// field is one struct field as PYON sees it.
type field struct {
	name      string // key on the wire
	goName    string // also accepted when decoding
	index     []int
	omitEmpty bool
}

var fieldCache sync.Map // reflect.Type → []field

// structFields lists t's fields by wire name, the one struct-key rule of
// every sigoco wire (see Normalize): the `pyon:"name"` tag, else the
// `json:"name"` tag, else the `msgpack:"name"` tag, else SnakeCase of the
// Go name; "-" skips a field, ",omitempty" leaves out zero values when
// encoding. Untagged embedded structs are flattened, shallower fields
// winning, as in encoding/json.
func structFields(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	var out []field
	seen := map[string]bool{}
	type level struct {
		t     reflect.Type
		index []int
	}
	current := []level{{t, nil}}
	visited := map[reflect.Type]bool{}
	for len(current) > 0 {
		var next []level
		var here []field
		for _, lv := range current {
			if visited[lv.t] {
				continue
			}
			visited[lv.t] = true
			for i := 0; i < lv.t.NumField(); i++ {
				sf := lv.t.Field(i)
				name, opts, tagged := fieldTag(sf)
				if name == "-" {
					continue
				}
				index := append(append([]int(nil), lv.index...), i)
				ft := sf.Type
				if sf.Anonymous && !tagged {
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if ft.Kind() == reflect.Struct && (sf.IsExported() || sf.Type.Kind() == reflect.Struct) {
						next = append(next, level{ft, index})
						continue
					}
				}
				if !sf.IsExported() {
					continue
				}
				if name == "" {
					name = SnakeCase(sf.Name)
				}
				here = append(here, field{name: name, goName: sf.Name, index: index, omitEmpty: strings.Contains(opts, "omitempty")})
			}
		}
		for _, f := range here {
			if !seen[f.name] {
				seen[f.name] = true
				out = append(out, f)
			}
		}
		current = next
	}
	fieldCache.Store(t, out)
	return out
}

// FieldName is the wire name of a struct field by the one struct-key rule
// (see Normalize): its pyon, json or msgpack tag, else its name in
// snake_case; ok is false for a field tagged "-" or not exported.
func FieldName(sf reflect.StructField) (name string, ok bool) {
	name, _, tagged := fieldTag(sf)
	switch {
	case name == "-" || !sf.IsExported():
		return "", false
	case !tagged:
		name = SnakeCase(sf.Name)
	}
	return name, true
}

// fieldTag reads the name from the first of the pyon, json and msgpack
// tags that gives one, and the options of every tag up to it (so
// `json:",omitempty" msgpack:"n"` is "n", omitted when empty).
func fieldTag(sf reflect.StructField) (name, opts string, tagged bool) {
	for _, key := range [...]string{"pyon", "json", "msgpack"} {
		tag, ok := sf.Tag.Lookup(key)
		if !ok {
			continue
		}
		n, o, _ := strings.Cut(tag, ",")
		opts += "," + o
		if n != "" {
			return n, opts, true
		}
	}
	return "", opts, false
}

// fieldValue follows index from v, reporting false at a nil embedded
// pointer (the field is then absent).
func fieldValue(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

// fieldForSet follows index from v, allocating nil embedded pointers.
func fieldForSet(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, false
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}
