package syncstruct

import (
	"fmt"
	"sort"

	"github.com/sigoco/sigoco/pyon"
)

// UpdateFrom makes n's tree equal to source with few mods, all published
// atomically (no reader sees a state in between). Unlike SiPyCo's
// update_from_dict, it works recursively: a change deep inside a nested
// dict or list is sent as one mod at that depth, not as a new copy of the
// top-level member. Lists are compared index by index, then extended with
// append or shortened with pop from the end.
//
// The root of source must be the same kind of container as the tree's (a
// dict, or a list); otherwise UpdateFrom returns an error wrapping ErrType
// and changes nothing.
func UpdateFrom(n *Notifier, source any) error {
	src, err := normalize(source, treeDepth)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	defer n.Hold()() // the mods go out together
	if kind(n.tree) != kind(src) || kind(src) == kindOther {
		return fmt.Errorf("%w: cannot update a %s from a %s", ErrType, typeName(n.tree), typeName(src))
	}
	return n.diffLocked([]any{}, n.tree, src)
}

type containerKind int

const (
	kindOther containerKind = iota
	kindDict
	kindList
)

func kind(v any) containerKind {
	switch v.(type) {
	case map[string]any, pyon.Dict:
		return kindDict
	case []any:
		return kindList
	}
	return kindOther
}

// diffLocked publishes the mods that turn old (at path) into src. old is
// the live value in the tree; it is re-read after each mod where a mod may
// have replaced it.
func (n *Notifier) diffLocked(path []any, old, src any) error {
	sub := func(k any) []any {
		p := make([]any, len(path)+1)
		copy(p, path)
		p[len(path)] = k
		return p
	}
	apply := func(m *Mod) error {
		_, err := n.applyLocked(m)
		return err
	}
	switch kind(old) {
	case kindDict:
		oldKeys, srcKeys := dictKeys(old), dictKeys(src)
		for _, k := range oldKeys {
			if _, ok := dictGet(src, k); !ok {
				if err := apply(&Mod{Action: ActDelItem, Path: path, Key: k}); err != nil {
					return err
				}
			}
		}
		for _, k := range srcKeys {
			sv, _ := dictGet(src, k)
			cur, err := n.lookupLocked(path)
			if err != nil {
				return err
			}
			ov, ok := dictGet(cur, k)
			if err := n.diffChild(sub(k), ok, ov, sv, func() error {
				return apply(&Mod{Action: ActSetItem, Path: path, Key: k, Value: sv})
			}); err != nil {
				return err
			}
		}
	case kindList:
		ol, sl := old.([]any), src.([]any)
		for i := 0; i < min(len(ol), len(sl)); i++ {
			if err := n.diffChild(sub(int64(i)), true, ol[i], sl[i], func() error {
				return apply(&Mod{Action: ActSetItem, Path: path, Key: int64(i), Value: sl[i]})
			}); err != nil {
				return err
			}
		}
		for i := len(ol); i < len(sl); i++ {
			if err := apply(&Mod{Action: ActAppend, Path: path, X: sl[i]}); err != nil {
				return err
			}
		}
		for i := len(sl); i < len(ol); i++ {
			if err := apply(&Mod{Action: ActPop, Path: path, I: -1}); err != nil {
				return err
			}
		}
	}
	return nil
}

// diffChild recurses into a child present on both sides with the same
// container kind, and otherwise calls set when the values differ.
func (n *Notifier) diffChild(path []any, present bool, old, src any, set func() error) error {
	if present && Equal(old, src) {
		return nil
	}
	if present && kind(old) != kindOther && kind(old) == kind(src) {
		return n.diffLocked(path, old, src)
	}
	return set()
}

// lookupLocked returns the value at path.
func (n *Notifier) lookupLocked(path []any) (any, error) {
	v := n.tree
	for _, k := range path {
		c, err := getChild(v, k)
		if err != nil {
			return nil, err
		}
		v = c
	}
	return v, nil
}

// dictKeys returns a dict's keys, string keys sorted first, so the mods
// UpdateFrom sends do not depend on map iteration order.
func dictKeys(d any) []any {
	switch x := d.(type) {
	case map[string]any:
		ks := sortedKeys(x)
		out := make([]any, len(ks))
		for i, k := range ks {
			out[i] = k
		}
		return out
	case pyon.Dict:
		out := make([]any, 0, len(x))
		var strs []string
		for _, it := range x {
			if s, ok := it.Key.(string); ok {
				strs = append(strs, s)
			}
		}
		sort.Strings(strs)
		for _, s := range strs {
			out = append(out, s)
		}
		for _, it := range x {
			if _, ok := it.Key.(string); !ok {
				out = append(out, it.Key)
			}
		}
		return out
	}
	return nil
}

func dictGet(d, k any) (any, bool) {
	switch x := d.(type) {
	case map[string]any:
		s, ok := k.(string)
		if !ok {
			return nil, false
		}
		v, ok := x[s]
		return v, ok
	case pyon.Dict:
		if i := dictIndex(x, k); i >= 0 {
			return x[i].Value, true
		}
	}
	return nil, false
}
