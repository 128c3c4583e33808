package syncstruct

import (
	"fmt"

	"github.com/sigoco/sigoco/pyon"
)

// Apply applies one mod to a plain tree and returns the tree, which is a
// new value only when the root itself was replaced (init, or append /
// insert / pop / setitem on a root list, or a root dict whose key type
// changed); always keep the result. A bad path, an index out of range or a
// type mismatch returns a *ModError and leaves the tree unchanged.
//
// The tree and the mod's values should be in normal form (see Normalize;
// decoded mods always are). Apply stores the mod's values in the tree
// without copying them. List semantics are Python's: negative indices count
// from the end, insert clamps its index to the list, as list.insert
// does, and a slice key (setitem, delitem) changes a slice of a list.
// A pop on a dict is dict.pop: its key is Key, or I when Key is nil
// (SiPyCo sends it as "i"). setitem on a numpy array (pyon.NDArray)
// changes its elements in place, as numpy does (see ndarray.go). Dict
// keys follow Python's key equality (True == 1 == 1.0; see keys.go).
func Apply(tree any, m *Mod) (any, error) {
	out, _, err := apply(tree, m)
	return out, err
}

// apply is Apply that also returns the element a pop removed.
func apply(tree any, m *Mod) (root, popped any, err error) {
	if err := m.validate(); err != nil {
		return tree, nil, &ModError{Mod: m, Err: err}
	}
	if m.Action == ActInit {
		return m.Struct, nil, nil
	}
	root, popped, err = applyAt(tree, m.Path, m, 0)
	if err != nil {
		return tree, nil, &ModError{Mod: m, Err: err}
	}
	return root, popped, nil
}

// applyAt descends path and returns node after the change (a new value
// when the container's header changed); on error nothing was changed.
func applyAt(node any, path []any, m *Mod, depth int) (any, any, error) {
	if len(path) == 0 {
		return mutate(node, m)
	}
	child, err := getChild(node, path[0])
	if err != nil {
		return node, nil, fmt.Errorf("%w: at depth %d: %w", ErrBadPath, depth, err)
	}
	newChild, popped, err := applyAt(child, path[1:], m, depth+1)
	if err != nil {
		return node, nil, err
	}
	setChild(node, path[0], newChild)
	return node, popped, nil
}

// getChild returns node[k] for a dict, list or tuple node.
func getChild(node, k any) (any, error) {
	switch x := node.(type) {
	case map[string]any:
		s, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("%w: %v", ErrNoKey, k)
		}
		v, ok := x[s]
		if !ok {
			return nil, fmt.Errorf("%w: %q", ErrNoKey, s)
		}
		return v, nil
	case pyon.Dict:
		i := dictIndex(x, k)
		if i < 0 {
			return nil, fmt.Errorf("%w: %v", ErrNoKey, k)
		}
		return x[i].Value, nil
	case pyon.OrderedDict:
		i := dictIndex(x, k)
		if i < 0 {
			return nil, fmt.Errorf("%w: %v", ErrNoKey, k)
		}
		return x[i].Value, nil
	case []any:
		i, err := listIndex(len(x), k)
		if err != nil {
			return nil, err
		}
		return x[i], nil
	case pyon.Tuple:
		i, err := listIndex(len(x), k)
		if err != nil {
			return nil, err
		}
		return x[i], nil
	}
	return nil, fmt.Errorf("%w: cannot index a %s", ErrType, typeName(node))
}

// setChild stores v at k, which getChild just found, so it cannot fail.
func setChild(node, k, v any) {
	switch x := node.(type) {
	case map[string]any:
		x[k.(string)] = v
	case pyon.Dict:
		x[dictIndex(x, k)].Value = v
	case pyon.OrderedDict:
		x[dictIndex(x, k)].Value = v
	case []any:
		i, _ := listIndex(len(x), k)
		x[i] = v
	case pyon.Tuple:
		i, _ := listIndex(len(x), k)
		x[i] = v
	}
}

// listIndex resolves a Python-style index (negative counts from the end).
func listIndex(n int, k any) (int, error) {
	i, ok := toIndex(k)
	if !ok {
		return 0, fmt.Errorf("%w: list index must be an integer, not %s", ErrType, typeName(k))
	}
	if i < 0 {
		i += n
	}
	if i < 0 || i >= n {
		return 0, fmt.Errorf("%w: index %v, length %d", ErrIndex, k, n)
	}
	return i, nil
}

// mutate applies m to the container it names.
func mutate(node any, m *Mod) (any, any, error) {
	switch m.Action {
	case ActAppend:
		l, ok := node.([]any)
		if !ok {
			return node, nil, fmt.Errorf("%w: append to a %s", ErrType, typeName(node))
		}
		return append(l, m.X), nil, nil
	case ActInsert:
		l, ok := node.([]any)
		if !ok {
			return node, nil, fmt.Errorf("%w: insert into a %s", ErrType, typeName(node))
		}
		i := m.I
		if i < 0 {
			i = max(i+len(l), 0)
		}
		i = min(i, len(l))
		l = append(l, nil)
		copy(l[i+1:], l[i:])
		l[i] = m.X
		return l, nil, nil
	case ActPop:
		switch node.(type) {
		case map[string]any, pyon.Dict, pyon.OrderedDict:
			// dict.pop(key): SiPyCo sends the key as "i".
			k := m.Key
			if k == nil {
				k = int64(m.I)
			}
			return delItem(node, k)
		}
		l, ok := node.([]any)
		if !ok {
			return node, nil, fmt.Errorf("%w: pop from a %s", ErrType, typeName(node))
		}
		i, err := listIndex(len(l), m.I)
		if err != nil {
			return node, nil, err
		}
		popped := l[i]
		copy(l[i:], l[i+1:])
		l[len(l)-1] = nil
		return l[:len(l)-1], popped, nil
	case ActSetItem:
		return setItem(node, m.Key, m.Value)
	case ActDelItem:
		return delItem(node, m.Key)
	}
	return node, nil, fmt.Errorf("%w: action %q", ErrBadMod, m.Action)
}

func setItem(node, k, v any) (any, any, error) {
	switch x := node.(type) {
	case map[string]any:
		if s, ok := k.(string); ok {
			x[s] = v
			return x, nil, nil
		}
		if !isKey(k) {
			return node, nil, fmt.Errorf("%w: %s", ErrBadKey, typeName(k))
		}
		// A first non-string key turns the dict into a pyon.Dict.
		d := dictFromMap(x, 1)
		return append(d, pyon.Item{Key: k, Value: v}), nil, nil
	case pyon.Dict:
		if i := dictIndex(x, k); i >= 0 {
			x[i].Value = v
			return x, nil, nil
		}
		if !isKey(k) {
			return node, nil, fmt.Errorf("%w: %s", ErrBadKey, typeName(k))
		}
		return append(x, pyon.Item{Key: k, Value: v}), nil, nil
	case pyon.OrderedDict:
		if i := dictIndex(x, k); i >= 0 {
			x[i].Value = v
			return x, nil, nil
		}
		if !isKey(k) {
			return node, nil, fmt.Errorf("%w: %s", ErrBadKey, typeName(k))
		}
		return append(x, pyon.Item{Key: k, Value: v}), nil, nil
	case []any:
		if sl, ok := k.(pyon.Slice); ok {
			l, err := listSetSlice(x, sl, v)
			return l, nil, err
		}
		i, err := listIndex(len(x), k)
		if err != nil {
			return node, nil, err
		}
		x[i] = v
		return x, nil, nil
	case pyon.NDArray:
		a, err := ndSetItem(x, k, v)
		return a, nil, err
	}
	return node, nil, fmt.Errorf("%w: setitem on a %s", ErrType, typeName(node))
}

func delItem(node, k any) (any, any, error) {
	switch x := node.(type) {
	case map[string]any:
		s, ok := k.(string)
		if !ok {
			return node, nil, fmt.Errorf("%w: %v", ErrNoKey, k)
		}
		v, ok := x[s]
		if !ok {
			return node, nil, fmt.Errorf("%w: %q", ErrNoKey, s)
		}
		delete(x, s)
		return x, v, nil
	case pyon.Dict:
		i := dictIndex(x, k)
		if i < 0 {
			return node, nil, fmt.Errorf("%w: %v", ErrNoKey, k)
		}
		v := x[i].Value
		d := append(x[:i:i], x[i+1:]...)
		// Back to a map once the last non-string key is gone.
		return dictOf(d), v, nil
	case pyon.OrderedDict:
		i := dictIndex(x, k)
		if i < 0 {
			return node, nil, fmt.Errorf("%w: %v", ErrNoKey, k)
		}
		v := x[i].Value
		return append(x[:i:i], x[i+1:]...), v, nil
	case []any:
		if sl, ok := k.(pyon.Slice); ok {
			l, err := listDelSlice(x, sl)
			return l, nil, err
		}
		i, err := listIndex(len(x), k)
		if err != nil {
			return node, nil, err
		}
		v := x[i]
		copy(x[i:], x[i+1:])
		x[len(x)-1] = nil
		return x[:len(x)-1], v, nil
	}
	return node, nil, fmt.Errorf("%w: delitem on a %s", ErrType, typeName(node))
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "None"
	case map[string]any, pyon.Dict:
		return "dict"
	case pyon.OrderedDict:
		return "OrderedDict"
	case []any:
		return "list"
	case pyon.NDArray:
		return "numpy array"
	case pyon.Slice:
		return "slice"
	case pyon.Tuple:
		return "tuple"
	case string:
		return "str"
	case int64, uint64:
		return "int"
	case float64:
		return "float"
	case bool:
		return "bool"
	}
	return fmt.Sprintf("%T", v)
}
