package main

import (
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/sigoco/sigoco/pyon"
)

// Dict keys and set items follow Python: only hashable values, and equal
// values (1, 1.0 and True are equal) collapse into one entry.

func hashable(v any) bool {
	switch v := v.(type) {
	case nil, bool, int64, *big.Int, float64, complex128, string, []byte:
		return true
	case pyon.Tuple:
		for _, it := range v {
			if !hashable(it) {
				return false
			}
		}
		return true
	case pyon.Set:
		return v.Frozen
	}
	return false
}

// typeName is the Python name of a parsed value's type, for messages.
func typeName(v any) string {
	switch v := v.(type) {
	case []any:
		return "list"
	case map[string]any, pyon.Dict:
		return "dict"
	case pyon.Set:
		if v.Frozen {
			return "frozenset"
		}
		return "set"
	case pyon.Tuple:
		return "tuple"
	}
	return "value"
}

// hashKey returns a string equal for values Python considers equal, and
// "" for NaN (never equal to anything, so never merged).
func hashKey(v any) string {
	switch v := v.(type) {
	case nil:
		return "N"
	case bool:
		if v {
			return "i1"
		}
		return "i0"
	case int64:
		return "i" + strconv.FormatInt(v, 10)
	case *big.Int:
		return "i" + v.String()
	case float64:
		switch {
		case math.IsNaN(v):
			return ""
		case math.IsInf(v, 0):
			return "f" + strconv.FormatFloat(v, 'g', -1, 64)
		case v == math.Trunc(v):
			n, _ := new(big.Float).SetFloat64(v).Int(nil)
			return "i" + n.String()
		}
		return "f" + strconv.FormatFloat(v, 'g', -1, 64)
	case complex128:
		if imag(v) == 0 {
			return hashKey(real(v))
		}
		re, im := hashKey(real(v)), hashKey(imag(v))
		if re == "" || im == "" {
			return ""
		}
		return "c" + re + "," + im
	case string:
		return "s" + v
	case []byte:
		return "b" + string(v)
	case pyon.Tuple:
		parts := make([]string, len(v))
		for i, it := range v {
			if parts[i] = hashKey(it); parts[i] == "" {
				return ""
			}
		}
		return "t(" + strings.Join(parts, "\x00") + ")"
	case pyon.Set:
		parts := make([]string, 0, len(v.Items))
		for _, it := range v.Items {
			k := hashKey(it)
			if k == "" {
				return ""
			}
			parts = append(parts, k)
		}
		sort.Strings(parts)
		return "F(" + strings.Join(parts, "\x00") + ")"
	}
	return ""
}

// dictBuilder keeps insertion order; a repeated key keeps its first
// position and takes the last value, as in Python.
type dictBuilder struct {
	items []pyon.Item
	index map[string]int
}

func (b *dictBuilder) add(k, v any) {
	h := hashKey(k)
	if i, ok := b.index[h]; ok && h != "" {
		b.items[i].Value = v
		return
	}
	if b.index == nil {
		b.index = map[string]int{}
	}
	b.index[h] = len(b.items)
	b.items = append(b.items, pyon.Item{Key: k, Value: v})
}

// result is map[string]any when every key is a string, else pyon.Dict.
func (b *dictBuilder) result() any {
	for _, it := range b.items {
		if _, ok := it.Key.(string); !ok {
			return pyon.Dict(b.items)
		}
	}
	m := make(map[string]any, len(b.items))
	for _, it := range b.items {
		m[it.Key.(string)] = it.Value
	}
	return m
}

type setBuilder struct {
	items []any
	seen  map[string]bool
}

func (s *setBuilder) add(v any) {
	h := hashKey(v)
	if h != "" && s.seen[h] {
		return
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[h] = true
	s.items = append(s.items, v)
}
