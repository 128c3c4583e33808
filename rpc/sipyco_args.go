package rpc

import (
	"encoding"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/sigoco/sigoco/pyon"
)

// bindPyon binds the decoded PYON arguments of a SiPyCo call to m's
// parameters with the native rules (bind), values converted by
// pyon.DecodeInto, and appends them to in. One addition: a parameter whose
// name is unknown (no generated docs) is listed to SiPyCo as arg0, arg1,
// ..., and accepted by that name as a keyword.
func (m *method) bindPyon(in []reflect.Value, args []any, kwargs map[string]any) ([]reflect.Value, *RemoteError) {
	keys := make([]string, 0, len(kwargs))
	for k := range kwargs {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the same error for the same call
	return bind(m, &pyonArgs{args: args, kwargs: kwargs, keys: keys}, in)
}

// pyonArgs reads the arguments of a SiPyCo call: positional ones in
// order, then keyword ones by sorted name.
type pyonArgs struct {
	args    []any
	kwargs  map[string]any
	keys    []string
	next    int    // the next positional argument
	lastKey string // the keyword read last
	nk      int    // keywords read
}

func (a *pyonArgs) positional(*method) (int, *RemoteError) { return len(a.args), nil }

func (a *pyonArgs) keywords(*method) (int, *RemoteError) { return len(a.keys), nil }

func (a *pyonArgs) key(*method) (string, *RemoteError) {
	a.lastKey = a.keys[a.nk]
	a.nk++
	return a.lastKey, nil
}

func (a *pyonArgs) value(m *method, v reflect.Value, _ *typePlan, what argName) *RemoteError {
	var x any
	if a.next < len(a.args) {
		x = a.args[a.next]
		a.next++
	} else {
		x = a.kwargs[a.lastKey]
	}
	if err := pyon.DecodeInto(x, v); err != nil {
		return m.badArgs("%s: %v", what, err)
	}
	return nil
}

func (a *pyonArgs) param(m *method, key string) int { return m.sipycoParamIndex(key) }

func (a *pyonArgs) optsField(m *method, key string) []int {
	if f := m.opts.fields[key]; f != nil {
		return f
	}
	return m.sipycoOptsField(key)
}

// sipycoParamIndex is paramIndex, plus the names SiPyCo listings give
// (sipycoParamName).
func (m *method) sipycoParamIndex(key string) int {
	if j := m.paramIndex(key); j >= 0 {
		return j
	}
	for j, p := range m.params {
		if sipycoParamName(p, j) == key {
			return j
		}
	}
	return -1
}

// sipycoOptsField finds an options-struct field by the name SiPyCo
// listings give it, when that differs from the native names.
func (m *method) sipycoOptsField(key string) []int {
	for _, f := range optsFields(m.opts.typ) {
		if f.name == key {
			return f.index
		}
	}
	return nil
}

// sipycoParamName is a parameter's name in SiPyCo listings: its
// snake_case name, or arg0, arg1, ... without generated docs; a Python
// keyword gets a trailing underscore (from → from_).
func sipycoParamName(p param, i int) string {
	if p.snake != "" {
		return pyIdent(p.snake)
	}
	return "arg" + strconv.Itoa(i)
}

// pyKeywords are the names Python does not accept as parameter names
// (keywords), and self, which the listing gives the receiver.
var pyKeywords = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`False None True and as assert async
		await break class continue def del elif else except finally for
		from global if import in is lambda nonlocal not or pass raise
		return try while with yield self`) {
		pyKeywords[k] = true
	}
}

// pyIdent makes name a valid Python parameter name, as PEP 8 suggests:
// a keyword gets a trailing underscore, other characters than letters,
// digits and underscores become underscores.
func pyIdent(name string) string {
	b := []rune(name)
	for i, r := range b {
		if r != '_' && !unicode.IsLetter(r) && (i == 0 || !unicode.IsDigit(r)) {
			b[i] = '_'
		}
	}
	s := string(b)
	if s == "" || pyKeywords[s] {
		s += "_"
	}
	return s
}

// sipycoArgspec describes m as Python's inspect.getfullargspec describes
// a bound method, which is what sipyco_rpctool list-methods formats:
// positional parameters in args (after "self"), a variadic one in varargs,
// the fields of a trailing options struct as keyword-only arguments whose
// defaults are the fields' zero values (what the method gets when they
// are left out), and Python class names of the Go types as annotations.
// Go has no default values, so defaults is always None.
func sipycoArgspec(m *method) map[string]any {
	args := []any{"self"}
	ann := map[string]any{}
	var varargs any
	np := len(m.params)
	last := np
	if m.opts != nil {
		last-- // listed as keyword-only arguments below
	}
	for i := 0; i < last; i++ {
		p := m.params[i]
		name, t := sipycoParamName(p, i), p.typ
		if m.variadic && i == np-1 {
			varargs, t = name, t.Elem()
		} else {
			args = append(args, name)
		}
		if a := pyTypeName(t); a != "" {
			ann[name] = a
		}
	}
	kwonly := []any{}
	var kwdefaults any
	if m.opts != nil {
		defaults := map[string]any{}
		for _, f := range optsFields(m.opts.typ) {
			if slices.Contains(args, any(f.name)) || f.name == varargs {
				continue // the keyword binds the parameter, not the field
			}
			kwonly = append(kwonly, f.name)
			if a := pyTypeName(f.typ); a != "" {
				ann[f.name] = a
			}
			zero := reflect.Zero(f.typ).Interface()
			if _, err := pyon.Encode(zero); err == nil {
				defaults[f.name] = zero
			}
		}
		if len(kwonly) > 0 {
			kwdefaults = defaults // None without keyword-only arguments, as in Python
		}
	}
	if m.shape == resultValue || m.shape == resultValueErr {
		if a := pyTypeName(m.fn.Type().Out(0)); a != "" {
			ann["return"] = a
		}
	}
	return map[string]any{
		"args": args, "varargs": varargs, "varkw": nil, "defaults": nil,
		"kwonlyargs": kwonly, "kwonlydefaults": kwdefaults, "annotations": ann,
	}
}

type optsField struct {
	name  string
	typ   reflect.Type
	index []int
}

// optsFields lists the keyword arguments of an options struct in field
// order, each by one name, pyon's struct-key rule (pyon.FieldName), as a
// Python identifier (pyIdent). The fields are those optsFor accepts.
func optsFields(t reflect.Type) []optsField {
	var out []optsField
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous || throughPointer(t, f.Index) {
			continue
		}
		name, ok := pyon.FieldName(f)
		if !ok {
			continue
		}
		out = append(out, optsField{pyIdent(name), f.Type, f.Index})
	}
	return out
}

var (
	bigIntType   = reflect.TypeFor[big.Int]()
	bigRatType   = reflect.TypeFor[big.Rat]()
	textUnmType  = reflect.TypeFor[encoding.TextUnmarshaler]()
	pyTypeByType = map[reflect.Type]string{
		reflect.TypeFor[pyon.Tuple]():       "tuple",
		reflect.TypeFor[pyon.Set]():         "set",
		reflect.TypeFor[pyon.Dict]():        "dict",
		reflect.TypeFor[pyon.OrderedDict](): "OrderedDict",
		reflect.TypeFor[pyon.Fraction]():    "Fraction",
		reflect.TypeFor[pyon.Slice]():       "slice",
		reflect.TypeFor[pyon.NDArray]():     "ndarray",
		reflect.TypeFor[pyon.NPScalar]():    "", // any numpy scalar type
		bigIntType:                          "int",
		bigRatType:                          "Fraction",
	}
)

// pyTypeName is the Python class a Go parameter type takes (the
// annotation in a SiPyCo listing), or "" when any value goes (any) or
// there is no single class (a numpy scalar).
func pyTypeName(t reflect.Type) string {
	for t.Kind() == reflect.Ptr {
		t = t.Elem()
	}
	if s, ok := pyTypeByType[t]; ok {
		return s
	}
	if reflect.PointerTo(t).Implements(textUnmType) {
		return "str" // netip.Addr, time.Time, ...
	}
	switch t.Kind() {
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "int"
	case reflect.Float32, reflect.Float64:
		return "float"
	case reflect.Complex64, reflect.Complex128:
		return "complex"
	case reflect.String:
		return "str"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "bytes"
		}
		return "list"
	case reflect.Map, reflect.Struct:
		return "dict"
	}
	return ""
}

// sipycoMethodList is the reply to get_rpc_method_list: the shape of
// SiPyCo's, {"docstring", "methods": {name: (argspec, doc)}}.
func (c *serverConn) sipycoMethodList() map[string]any {
	methods := map[string]any{}
	for _, m := range c.methods().list {
		methods[m.name] = pyon.Tuple{sipycoArgspec(m), docOrNone(m.info.Doc)}
	}
	if c.s.opts.BuiltinTerminate {
		// Exactly what SiPyCo's server lists for its built-in terminate.
		methods[terminateMethod] = pyon.Tuple{map[string]any{
			"args": []any{"self"}, "defaults": nil, "varargs": nil, "varkw": nil,
			"kwonlyargs": []any{}, "kwonlydefaults": []any{},
		}, "Terminate the server."}
	}
	return map[string]any{"docstring": docOrNone(c.methods().doc), "methods": methods}
}

func docOrNone(doc string) any {
	if doc = strings.TrimSpace(doc); doc != "" {
		return doc
	}
	return nil
}

// describePy names a decoded PYON value's Python class, for messages.
func describePy(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []any:
		return "list"
	case map[string]any, pyon.Dict:
		return "dict"
	}
	if s := pyTypeName(reflect.TypeOf(v)); s != "" {
		return s
	}
	return fmt.Sprintf("%T", v)
}
