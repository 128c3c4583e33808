package rpc

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode"

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
func formatArgspec(spec map[string]any) string {
	ann, _ := spec["annotations"].(map[string]any)
	param := func(prefix, name string, def any, hasDef bool) string {
		s := prefix + name
		a, annotated := ann[name]
		if annotated {
			s += ": " + pyRepr(a)
		}
		if hasDef {
			if annotated {
				s += " = " + pyRepr(def)
			} else {
				s += "=" + pyRepr(def)
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
		s += " -> " + pyRepr(r)
	}
	return s
}

// pyRepr writes a decoded PYON value as Python's repr would, for the
// values that appear in signatures; others fall back to their PYON text.
func pyRepr(v any) string {
	join := func(items []any) string {
		s := make([]string, len(items))
		for i, it := range items {
			s[i] = pyRepr(it)
		}
		return strings.Join(s, ", ")
	}
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(x, 10)
	case *big.Int:
		return x.String()
	case float64:
		b, _ := pyon.Encode(x)
		switch s := string(b); s {
		case "Infinity":
			return "inf"
		case "-Infinity":
			return "-inf"
		case "NaN":
			return "nan"
		default:
			return s
		}
	case string:
		return pyQuote(x)
	case []any:
		return "[" + join(x) + "]"
	case pyon.Tuple:
		if len(x) == 1 {
			return "(" + pyRepr(x[0]) + ",)"
		}
		return "(" + join(x) + ")"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		s := make([]string, len(keys))
		for i, k := range keys {
			s[i] = pyQuote(k) + ": " + pyRepr(x[k])
		}
		return "{" + strings.Join(s, ", ") + "}"
	}
	if b, err := pyon.Encode(v); err == nil {
		return string(b)
	}
	return fmt.Sprint(v)
}

// pyQuote is Python's repr of a str.
func pyQuote(s string) string {
	q := '\''
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteRune(q)
	for _, r := range s {
		switch {
		case r == '\\' || r == q:
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsPrint(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteRune(q)
	return b.String()
}
