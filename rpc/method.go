package rpc

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sigoco/sigoco/internal/snake"
	"github.com/sigoco/sigoco/pyon"
	"github.com/vmihailenco/msgpack/v5"
)

var (
	contextType = reflect.TypeOf((*context.Context)(nil)).Elem()
	errorType   = reflect.TypeOf((*error)(nil)).Elem()
)

// resultShape is what a method returns.
type resultShape uint8

const (
	resultNone     resultShape = iota // func(...)
	resultValue                       // func(...) T
	resultError                       // func(...) error
	resultValueErr                    // func(...) (T, error)
)

// method is one exposed method, analysed once per receiver type.
type method struct {
	name     string // wire name, snake_case
	goName   string
	fn       reflect.Value // the method expression: receiver first
	hasCtx   bool
	params   []param // context.Context excluded
	variadic bool    // the last param is variadic (its typ is the slice type)
	shape    resultShape
	result   *typePlan // resultValue, resultValueErr
	opts     *optsStruct
	info     MethodInfo
	added    bool // by Server.AddMethod: fn takes the receiver and drops it

	// longLeft counts the next calls that run on their own goroutine in
	// parallel mode because a call ran long (serverhandoff.go).
	longLeft atomic.Int32
}

type param struct {
	typ   reflect.Type
	plan  *typePlan
	name  string // Go name from generated docs, "" if unknown
	snake string
}

// optsStruct describes a trailing struct parameter that keyword arguments
// without a matching parameter name fill, field by field.
type optsStruct struct {
	ptr    bool             // the parameter is *S
	typ    reflect.Type     // S
	fields map[string][]int // keyword -> field index path
}

// methodTable is every exposed method of one receiver type.
type methodTable struct {
	typ    reflect.Type
	byName map[string]*method // wire and Go names
	list   []*method          // sorted by wire name
	doc    string
}

var tables sync.Map // reflect.Type -> *methodTable

// tableFor analyses the exported methods of t once. A method whose
// signature cannot be served (a channel or function parameter, more than
// two results, ...) is an error naming it and why, and so is a type with
// no method to call: nothing is left out silently.
func tableFor(t reflect.Type) (*methodTable, error) {
	if tb, ok := tables.Load(t); ok {
		return tb.(*methodTable), nil
	}
	docs := lookupDoc(t)
	tb := &methodTable{typ: t, byName: map[string]*method{}, doc: docs.Doc}
	for i := 0; i < t.NumMethod(); i++ {
		rm := t.Method(i)
		if !rm.IsExported() {
			continue
		}
		m, err := analyse(rm, docs.Methods[rm.Name])
		if err != nil {
			return nil, fmt.Errorf("rpc: %s.%s cannot be served: %w", typeName(t), rm.Name, err)
		}
		if other, dup := tb.byName[m.name]; dup {
			return nil, fmt.Errorf("rpc: methods %s and %s of %s both map to the wire name %q", other.goName, m.goName, t, m.name)
		}
		tb.byName[m.name] = m
		tb.byName[m.goName] = m
		tb.list = append(tb.list, m)
	}
	if len(tb.list) == 0 {
		why := "it has no exported methods"
		if t.Kind() != reflect.Ptr && t.Kind() != reflect.Interface && reflect.PointerTo(t).NumMethod() > 0 {
			why = fmt.Sprintf("its methods have pointer receivers: pass a *%s", typeName(t))
		}
		return nil, fmt.Errorf("rpc: %s has nothing to call: %s", typeName(t), why)
	}
	sort.Slice(tb.list, func(i, j int) bool { return tb.list[i].name < tb.list[j].name })
	actual, _ := tables.LoadOrStore(t, tb)
	return actual.(*methodTable), nil
}

func analyse(rm reflect.Method, doc MethodDoc) (*method, error) {
	ft := rm.Type // receiver is In(0)
	m := &method{name: snake.Case(rm.Name), goName: rm.Name, fn: rm.Func, variadic: ft.IsVariadic()}
	first := 1
	if ft.NumIn() > 1 && ft.In(1) == contextType {
		m.hasCtx = true
		first = 2
	}
	for i := first; i < ft.NumIn(); i++ {
		pt := ft.In(i)
		if why := unservable(pt); why != "" {
			return nil, fmt.Errorf("parameter %d is a %s: %s", i-first+1, typeName(pt), why)
		}
		m.params = append(m.params, param{typ: pt, plan: planFor(pt)})
	}
	if m.variadic {
		// Elements of the variadic slice are decoded one by one.
		last := &m.params[len(m.params)-1]
		last.plan = planFor(last.typ.Elem())
	}
	switch ft.NumOut() {
	case 0:
		m.shape = resultNone
	case 1:
		if ft.Out(0) == errorType {
			m.shape = resultError
		} else {
			m.shape, m.result = resultValue, planFor(ft.Out(0))
		}
	case 2:
		if ft.Out(1) != errorType {
			return nil, fmt.Errorf("two results (%s, %s): the second of two results must be an error", typeName(ft.Out(0)), typeName(ft.Out(1)))
		}
		m.shape, m.result = resultValueErr, planFor(ft.Out(0))
	default:
		return nil, fmt.Errorf("%d results: a method returns nothing, a value, an error, or (value, error)", ft.NumOut())
	}
	for i := 0; i < ft.NumOut(); i++ {
		if ft.Out(i) == errorType {
			continue
		}
		if why := unservable(ft.Out(i)); why != "" {
			return nil, fmt.Errorf("its result is a %s: %s", typeName(ft.Out(i)), why)
		}
	}
	// Names from generated docs count only if they match the signature.
	if len(doc.Params) == len(m.params) {
		for i, n := range doc.Params {
			if n != "" && n != "_" {
				m.params[i].name = n
				m.params[i].snake = snake.Case(n)
			}
		}
	}
	if n := len(m.params); n > 0 && !m.variadic {
		m.opts = optsFor(m.params[n-1].typ)
	}
	m.info = methodInfo(m, ft, doc.Doc)
	return m, nil
}

// unservable says why values of t cannot cross the wire, or "" if they can.
func unservable(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Chan:
		return "channels cannot cross the wire"
	case reflect.Func:
		return "functions cannot cross the wire"
	case reflect.UnsafePointer:
		return "unsafe pointers cannot cross the wire"
	case reflect.Complex64:
		return "complex64 is not supported; use complex128"
	case reflect.Ptr, reflect.Slice, reflect.Array:
		if why := unservable(t.Elem()); why != "" {
			return why
		}
	case reflect.Map:
		if why := unservable(t.Key()); why != "" {
			return why
		}
		return unservable(t.Elem())
	}
	return ""
}

func optsFor(t reflect.Type) *optsStruct {
	o := &optsStruct{typ: t}
	if t.Kind() == reflect.Ptr {
		o.ptr, o.typ = true, t.Elem()
	}
	if o.typ.Kind() != reflect.Struct || !expandable(o.typ) {
		return nil
	}
	o.fields = map[string][]int{}
	for _, f := range reflect.VisibleFields(o.typ) {
		if !f.IsExported() || f.Anonymous || throughPointer(o.typ, f.Index) {
			continue
		}
		wire, ok := pyon.FieldName(f)
		if !ok {
			continue
		}
		for _, n := range []string{f.Name, snake.Case(f.Name), wire} {
			o.fields[n] = f.Index
		}
	}
	if len(o.fields) == 0 {
		return nil
	}
	return o
}

// expandable reports whether a struct type is a plain options struct of
// the program's own, whose fields become keyword arguments: not one of
// pyon's value types (pyon.NDArray is one value, not keywords shape,
// d_type, data) and not a type with an encoding of its own.
func expandable(t reflect.Type) bool {
	if t.PkgPath() == pyonPkg {
		return false
	}
	for _, it := range ownEncodings {
		if t.Implements(it) || reflect.PointerTo(t).Implements(it) {
			return false
		}
	}
	return true
}

var (
	pyonPkg      = reflect.TypeFor[pyon.NDArray]().PkgPath()
	ownEncodings = []reflect.Type{
		reflect.TypeFor[msgpack.CustomDecoder](),
		reflect.TypeFor[msgpack.Unmarshaler](),
		reflect.TypeFor[encoding.TextUnmarshaler](),
		reflect.TypeFor[encoding.BinaryUnmarshaler](),
		reflect.TypeFor[json.Unmarshaler](),
	}
)

// throughPointer reports whether a promoted field is reached through an
// embedded pointer, which may be nil.
func throughPointer(t reflect.Type, index []int) bool {
	for _, i := range index[:len(index)-1] {
		t = t.Field(i).Type
		if t.Kind() == reflect.Ptr {
			return true
		}
	}
	return false
}

// suggest returns the method names closest to name, best first.
func (tb *methodTable) suggest(name string) []string {
	type cand struct {
		name string
		dist int
	}
	var cs []cand
	lname := strings.ToLower(name)
	for _, m := range tb.list {
		d := min(editDistance(lname, m.name), editDistance(lname, strings.ToLower(m.goName)))
		if d <= max(2, len(name)/3) {
			cs = append(cs, cand{m.name, d})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].dist < cs[j].dist })
	var out []string
	for i, c := range cs {
		if i == 5 {
			break
		}
		out = append(out, c.name)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b)) // not worth it; never "close"
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
