package rpc

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sigoco/sigoco/pyon"
)

// sipycoTargetInfo turns SiPyCo's get_rpc_method_list reply,
// {"docstring", "methods": {name: (argspec, doc)}}, into a TargetInfo.
// Params are the positional, variadic ("...") and keyword-only arguments
// with their annotations as types; Signature is what sipyco_rpctool
// prints after the name.
func sipycoTargetInfo(target string, v any) (*TargetInfo, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("expected a dict, got %s", describePy(v))
	}
	info := &TargetInfo{Name: target, Methods: []MethodInfo{}}
	info.Doc, _ = m["docstring"].(string)
	methods, _ := m["methods"].(map[string]any)
	names := make([]string, 0, len(methods))
	for name := range methods {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		var spec map[string]any
		mi := MethodInfo{Name: name, Params: []Param{}, Results: []string{}}
		switch e := methods[name].(type) {
		case pyon.Tuple:
			if len(e) == 2 {
				spec, _ = e[0].(map[string]any)
				mi.Doc, _ = e[1].(string)
			}
		case []any:
			if len(e) == 2 {
				spec, _ = e[0].(map[string]any)
				mi.Doc, _ = e[1].(string)
			}
		}
		if spec != nil {
			ann, _ := spec["annotations"].(map[string]any)
			annot := func(n string) string { s, _ := ann[n].(string); return s }
			args := toStrings(spec["args"])
			if len(args) > 0 && args[0] == "self" {
				args = args[1:]
			}
			for _, a := range args {
				mi.Params = append(mi.Params, Param{Name: a, Type: annot(a)})
			}
			if va, ok := spec["varargs"].(string); ok {
				mi.Params = append(mi.Params, Param{Name: va, Type: "..." + annot(va)})
				mi.Variadic = true
			}
			for _, k := range toStrings(spec["kwonlyargs"]) {
				mi.Params = append(mi.Params, Param{Name: k, Type: annot(k)})
			}
			if r := annot("return"); r != "" {
				mi.Results = []string{r}
			}
			mi.Signature = formatArgspec(spec)
		}
		info.Methods = append(info.Methods, mi)
	}
	return info, nil
}

// formatArgspec renders an argspec as Python's inspect.Signature does
// (SiPyCo's formatargspec): "(self, a, b=1, *, scale: 'int' = 1) -> 'int'".
// Defaults and annotations are shown by pyon.Repr, Python's repr of the
// decoded values (b'\x00\xff', (1+2j), Fraction(1, 3), array([1])).
func formatArgspec(spec map[string]any) string {
	ann, _ := spec["annotations"].(map[string]any)
	param := func(prefix, name string, def any, hasDef bool) string {
		s := prefix + name
		a, annotated := ann[name]
		if annotated {
			s += ": " + pyon.Repr(a)
		}
		if hasDef {
			if annotated {
				s += " = " + pyon.Repr(def)
			} else {
				s += "=" + pyon.Repr(def)
			}
		}
		return s
	}
	var parts []string
	args := toStrings(spec["args"])
	var defaults []any
	switch d := spec["defaults"].(type) {
	case pyon.Tuple:
		defaults = d
	case []any:
		defaults = d
	}
	for i, a := range args {
		j := i - (len(args) - len(defaults))
		if j >= 0 {
			parts = append(parts, param("", a, defaults[j], true))
		} else {
			parts = append(parts, param("", a, nil, false))
		}
	}
	va, hasVarargs := spec["varargs"].(string)
	if hasVarargs {
		parts = append(parts, param("*", va, nil, false))
	}
	kwonly := toStrings(spec["kwonlyargs"])
	if len(kwonly) > 0 && !hasVarargs {
		parts = append(parts, "*")
	}
	kwdefaults, _ := spec["kwonlydefaults"].(map[string]any)
	for _, k := range kwonly {
		d, ok := kwdefaults[k]
		parts = append(parts, param("", k, d, ok))
	}
	if vk, ok := spec["varkw"].(string); ok {
		parts = append(parts, param("**", vk, nil, false))
	}
	s := "(" + strings.Join(parts, ", ") + ")"
	if r, ok := ann["return"]; ok {
		s += " -> " + pyon.Repr(r)
	}
	return s
}
