package fireforget

import (
	"context"
	"fmt"
	"reflect"

	"github.com/sigoco/sigoco/internal/snake"
)

var (
	contextType = reflect.TypeOf((*context.Context)(nil)).Elem()
	errorType   = reflect.TypeOf((*error)(nil)).Elem()
)

// method is one callable method of a local target.
type method struct {
	name     string        // Go name, for messages
	fn       reflect.Value // bound to the target
	ctx      bool          // takes a context.Context first
	params   []reflect.Type
	variadic bool
	errOut   int // index of the error result, -1 if none
}

// methodTable indexes a target's exported methods by Go and snake_case name.
func methodTable(target reflect.Value) map[string]*method {
	t := target.Type()
	table := make(map[string]*method)
	for i := range t.NumMethod() {
		m := t.Method(i)
		if !m.IsExported() {
			continue
		}
		fn := target.Method(i)
		ft := fn.Type()
		mm := &method{name: m.Name, fn: fn, variadic: ft.IsVariadic(), errOut: -1}
		for j := range ft.NumIn() {
			if j == 0 && ft.In(0) == contextType {
				mm.ctx = true
				continue
			}
			mm.params = append(mm.params, ft.In(j))
		}
		if n := ft.NumOut(); n > 0 && ft.Out(n-1) == errorType {
			mm.errOut = n - 1
		}
		table[m.Name] = mm
		table[snake.Case(m.Name)] = mm
	}
	return table
}

// bind converts args to the method's parameter types.
func (m *method) bind(args []any) ([]reflect.Value, error) {
	fixed := len(m.params)
	if m.variadic {
		fixed--
	}
	if len(args) < fixed || (!m.variadic && len(args) > fixed) {
		want := fmt.Sprint(fixed)
		if m.variadic {
			want = fmt.Sprintf("at least %d", fixed)
		}
		return nil, fmt.Errorf("%w: %s takes %s arguments, got %d", ErrBadArguments, m.name, want, len(args))
	}
	in := make([]reflect.Value, 0, len(args)+1)
	if m.ctx {
		in = append(in, reflect.Value{}) // the context, set when the call runs
	}
	for i, a := range args {
		t := m.params[min(i, len(m.params)-1)]
		if m.variadic && i >= fixed {
			t = t.Elem()
		}
		v, err := convert(a, t)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: argument %d: %v", ErrBadArguments, m.name, i+1, err)
		}
		in = append(in, v)
	}
	return in, nil
}

// convert makes a value of type t from a: assignable values as they are,
// nil for types that have nil, and numbers converted when nothing is lost.
func convert(a any, t reflect.Type) (reflect.Value, error) {
	if a == nil {
		switch t.Kind() {
		case reflect.Interface, reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
			return reflect.Zero(t), nil
		}
		return reflect.Value{}, fmt.Errorf("cannot use nil as %s", t)
	}
	v := reflect.ValueOf(a)
	if v.Type().AssignableTo(t) {
		return v, nil
	}
	if isNumber(v.Kind()) && isNumber(t.Kind()) {
		c := v.Convert(t)
		if isFloat(v.Kind()) && isFloat(t.Kind()) || c.Convert(v.Type()).Equal(v) {
			return c, nil
		}
		return reflect.Value{}, fmt.Errorf("%v does not fit in %s", a, t)
	}
	return reflect.Value{}, fmt.Errorf("cannot use %T as %s", a, t)
}

func isNumber(k reflect.Kind) bool { return k >= reflect.Int && k <= reflect.Float64 }

func isFloat(k reflect.Kind) bool { return k == reflect.Float32 || k == reflect.Float64 }
