package simsvc

import (
	"fmt"
	"reflect"
	"sort"

	"github.com/sigoco/sigoco/rpc"
)

// Property is a named, typed value of a service that clients get and set
// (SimService's connect_properties): served as the methods get_NAME and
// set_NAME (typed, listed with the other methods), and listed with its
// type by the properties call. Make one with NewProperty.
type Property struct {
	Name string // snake_case, e.g. "diffusivity"
	Doc  string // shown in the listings
	typ  reflect.Type
	get  any // func() T
	set  any // func(T) error; nil: read-only
}

// NewProperty returns a property called name whose value get returns and
// set (nil for a read-only property) changes; set may refuse a value with
// an error (wrap rpc.ErrValue for a value out of range). get and set run
// in turn with the lifecycle calls, never during a step.
func NewProperty[T any](name string, get func() T, set func(T) error) Property {
	p := Property{Name: name, typ: reflect.TypeFor[T](), get: get}
	if set != nil {
		p.set = set
	}
	return p
}

// PropertyInfo describes a property in the properties listing.
type PropertyInfo struct {
	Name     string `msgpack:"name"`
	Type     string `msgpack:"type"` // Go type, e.g. "float64"
	Writable bool   `msgpack:"writable"`
	Doc      string `msgpack:"doc"`
}

// AddProperty adds a property, at any stage: get_NAME and set_NAME appear
// in the listings at once.
func (h *Host) AddProperty(p Property) error {
	s := h.s
	goName, wireName, err := names(p.Name)
	if err != nil {
		return err
	}
	if p.Name != wireName || p.get == nil {
		return fmt.Errorf("simsvc: property %q: the name must be snake_case and get set (use NewProperty)", p.Name)
	}
	s.mu.Lock()
	_, dup := s.props[wireName]
	s.mu.Unlock()
	if dup {
		return fmt.Errorf("simsvc: property %q exists", wireName)
	}
	get, err := s.serialised(p.get)
	if err != nil {
		return err
	}
	doc := p.Doc
	if doc == "" {
		doc = "property " + wireName
	}
	if err := s.rpc.AddMethod(s.opts.Name, "Get"+goName, get, rpc.MethodDoc{Doc: "Get " + doc}); err != nil {
		return fmt.Errorf("simsvc: property %q: %w", wireName, err)
	}
	if p.set != nil {
		set, err := s.serialised(p.set)
		if err == nil {
			err = s.rpc.AddMethod(s.opts.Name, "Set"+goName, set, rpc.MethodDoc{Params: []string{"value"}, Doc: "Set " + doc})
		}
		if err != nil {
			s.rpc.RemoveMethod(s.opts.Name, "Get"+goName)
			return fmt.Errorf("simsvc: property %q: %w", wireName, err)
		}
	}
	s.mu.Lock()
	s.props[wireName] = &p
	names := make([]string, 0, len(s.props))
	for n := range s.props {
		names = append(names, n)
	}
	s.mu.Unlock()
	sort.Strings(names)
	s.publish("properties", stringsAny(names))
	return nil
}

// PropertyInfos lists the properties, sorted by name.
func (h *Host) PropertyInfos() []PropertyInfo {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	out := make([]PropertyInfo, 0, len(h.s.props))
	for _, p := range h.s.props {
		out = append(out, PropertyInfo{Name: p.Name, Type: p.typ.String(), Writable: p.set != nil, Doc: p.Doc})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
