package rpc

import (
	"reflect"
	"sync"
)

// MethodDoc is what the generator (cmd/sigoco-gen) knows about a method
// that reflection does not.
type MethodDoc struct {
	Params []string // Go parameter names, context.Context excluded; "" when unnamed
	Doc    string   // the doc comment
}

// TargetDoc is the doc comment of a target type and of its methods.
type TargetDoc struct {
	Doc     string
	Methods map[string]MethodDoc // keyed by Go method name
}

var (
	docsMu sync.RWMutex
	docs   = map[reflect.Type]TargetDoc{}
)

// RegisterDoc records parameter names and doc comments for the type of
// typ, given as a value of the type or a nil pointer to it:
// RegisterDoc((*Attenuator)(nil), ...) covers both Attenuator and
// *Attenuator targets. The generated file calls it from init; call it
// before NewServer, which reads the docs once. With them, listings show
// parameter names and comments, and keyword arguments bind to parameters
// by name.
func RegisterDoc(typ any, doc TargetDoc) {
	t := reflect.TypeOf(typ)
	if t == nil {
		return
	}
	if t.Kind() == reflect.Ptr {
		t = t.Elem()
	}
	docsMu.Lock()
	docs[t] = doc
	docsMu.Unlock()
	tables.Delete(t) // a table built before is stale
	tables.Delete(reflect.PointerTo(t))
}

func lookupDoc(t reflect.Type) TargetDoc {
	if t.Kind() == reflect.Ptr {
		t = t.Elem()
	}
	docsMu.RLock()
	defer docsMu.RUnlock()
	return docs[t]
}

// TargetInfo describes a target: what ListMethods returns.
type TargetInfo struct {
	Name    string       `msgpack:"name"`
	Doc     string       `msgpack:"doc"`
	Methods []MethodInfo `msgpack:"methods"` // sorted by Name
}

// MethodInfo describes one method of a target.
type MethodInfo struct {
	Name     string   `msgpack:"name"`    // wire name, snake_case
	GoName   string   `msgpack:"go_name"` // Go method name (also accepted on the wire)
	Params   []Param  `msgpack:"params"`  // context.Context excluded
	Results  []string `msgpack:"results"` // Go type names, error included
	Variadic bool     `msgpack:"variadic"`
	Doc      string   `msgpack:"doc"`
	// Signature is set for methods of SiPyCo servers only: the Python
	// signature sipyco_rpctool prints after the name, from SiPyCo's
	// argspec, e.g. "(self, a, b=1, *, scale=1)".
	Signature string `msgpack:"signature,omitempty"`
}

// Param is one parameter of a method.
type Param struct {
	Name string `msgpack:"name"` // "" without generated docs
	Type string `msgpack:"type"` // Go type, e.g. "float64", "[]int64", "...string"
}

func methodInfo(m *method, ft reflect.Type, doc string) MethodInfo {
	mi := MethodInfo{Name: m.name, GoName: m.goName, Variadic: m.variadic, Doc: doc, Params: []Param{}, Results: []string{}}
	for i, p := range m.params {
		typ := typeName(p.typ)
		if m.variadic && i == len(m.params)-1 {
			typ = "..." + typeName(p.typ.Elem())
		}
		mi.Params = append(mi.Params, Param{Name: p.name, Type: typ})
	}
	for i := 0; i < ft.NumOut(); i++ {
		mi.Results = append(mi.Results, typeName(ft.Out(i)))
	}
	return mi
}

// info builds the listing of a target named name.
func (tb *methodTable) info(name string) *TargetInfo {
	ti := &TargetInfo{Name: name, Doc: tb.doc, Methods: make([]MethodInfo, len(tb.list))}
	for i, m := range tb.list {
		ti.Methods[i] = m.info
	}
	return ti
}
