package rpc

import (
	"errors"
	"fmt"
	"go/token"
	"reflect"
	"sort"
)

// Methods added to a live target. AddMethod and RemoveMethod change what a
// target offers while it is served: the new method is analysed as a Go
// method of the target's type would be (the same argument decoding,
// keyword binding, listing, docs and SiPyCo argspec), appears at once in
// the native and SiPyCo method listings, and is callable by every
// connection, existing ones included. Calls already running finish with
// the method they started.

// ErrNoSuchTarget is returned by AddMethod and RemoveMethod for a target
// name the server does not have.
var ErrNoSuchTarget = errors.New("rpc: no such target")

// AddMethod adds a method to target, as if its type had a method called
// name (a Go identifier; the wire name is its snake_case form) with fn's
// signature: fn is a func taking an optional context.Context first, then
// parameters, and returning nothing, a value, an error, or (value, error).
// doc gives the parameter names (for keyword arguments) and the doc
// comment. A name already taken (by a Go method or an added one, in either
// spelling) is an error; so is a factory target, whose objects are made
// per connection. Safe for concurrent use, also while the server serves.
func (s *Server) AddMethod(target, name string, fn any, doc MethodDoc) error {
	t, err := s.liveTarget(target)
	if err != nil {
		return err
	}
	if !token.IsIdentifier(name) || !token.IsExported(name) {
		return fmt.Errorf("rpc: AddMethod(%q): the name must be an exported Go identifier", name)
	}
	fv := reflect.ValueOf(fn)
	if fv.Kind() != reflect.Func || fv.IsNil() {
		return fmt.Errorf("rpc: AddMethod(%q): fn must be a non-nil func, not %T", name, fn)
	}
	ft := fv.Type()
	// A method type with the target as receiver, calling fn without it.
	ins := []reflect.Type{t.value.Type()}
	for i := 0; i < ft.NumIn(); i++ {
		ins = append(ins, ft.In(i))
	}
	outs := make([]reflect.Type, ft.NumOut())
	for i := range outs {
		outs[i] = ft.Out(i)
	}
	mt := reflect.FuncOf(ins, outs, ft.IsVariadic())
	call := fv.Call
	if ft.IsVariadic() {
		call = fv.CallSlice
	}
	mfn := reflect.MakeFunc(mt, func(args []reflect.Value) []reflect.Value { return call(args[1:]) })
	m, err := analyse(reflect.Method{Name: name, Type: mt, Func: mfn}, doc)
	if err != nil {
		return fmt.Errorf("rpc: AddMethod(%q) to %q: %w", name, target, err)
	}
	m.added = true

	s.tablesMu.Lock()
	defer s.tablesMu.Unlock()
	old := t.live.Load()
	for _, n := range []string{m.name, m.goName} {
		if other := old.byName[n]; other != nil {
			return fmt.Errorf("rpc: AddMethod(%q) to %q: the name %q is taken by %s", name, target, n, other.goName)
		}
	}
	tb := old.clone()
	tb.byName[m.name] = m
	tb.byName[m.goName] = m
	tb.list = append(tb.list, m)
	sort.Slice(tb.list, func(i, j int) bool { return tb.list[i].name < tb.list[j].name })
	t.live.Store(tb)
	return nil
}

// RemoveMethod removes a method added with AddMethod (by its Go or wire
// name); the target's own Go methods cannot be removed. Later calls to it
// fail with ErrUnknownMethod; calls running finish.
func (s *Server) RemoveMethod(target, name string) error {
	t, err := s.liveTarget(target)
	if err != nil {
		return err
	}
	s.tablesMu.Lock()
	defer s.tablesMu.Unlock()
	old := t.live.Load()
	m := old.byName[name]
	switch {
	case m == nil:
		return fmt.Errorf("rpc: RemoveMethod(%q) from %q: %w", name, target, ErrUnknownMethod)
	case !m.added:
		return fmt.Errorf("rpc: RemoveMethod(%q) from %q: a method of the Go type %s, not one added with AddMethod", name, target, typeName(old.typ))
	}
	tb := old.clone()
	delete(tb.byName, m.name)
	delete(tb.byName, m.goName)
	tb.list = tb.list[:0]
	for _, x := range old.list {
		if x != m {
			tb.list = append(tb.list, x)
		}
	}
	t.live.Store(tb)
	return nil
}

func (s *Server) liveTarget(name string) (*target, error) {
	t := s.targets[name]
	if t == nil {
		return nil, fmt.Errorf("%w %q", ErrNoSuchTarget, name)
	}
	if t.factory {
		return nil, fmt.Errorf("rpc: target %q is a factory (an object per connection): methods cannot be added to it", name)
	}
	return t, nil
}

// clone copies a table, so that a live one is never changed in place.
func (tb *methodTable) clone() *methodTable {
	c := &methodTable{typ: tb.typ, byName: make(map[string]*method, len(tb.byName)+2), doc: tb.doc}
	for k, v := range tb.byName {
		c.byName[k] = v
	}
	c.list = append(make([]*method, 0, len(tb.list)+1), tb.list...)
	return c
}
