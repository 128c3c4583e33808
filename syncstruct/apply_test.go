package syncstruct

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/sigoco/sigoco/pyon"
)

func TestApply(t *testing.T) {
	base := func() any {
		return map[string]any{
			"l": []any{int64(1), int64(2), int64(3)},
			"d": map[string]any{"a": map[string]any{"b": int64(1)}},
			"s": "x",
		}
	}
	tests := []struct {
		name string
		mod  Mod
		want any   // the whole tree after, if err is nil
		err  error // else the sentinel
	}{
		{"append", Mod{Action: ActAppend, Path: []any{"l"}, X: int64(4)},
			map[string]any{"l": []any{int64(1), int64(2), int64(3), int64(4)}, "d": map[string]any{"a": map[string]any{"b": int64(1)}}, "s": "x"}, nil},
		{"insert front", Mod{Action: ActInsert, Path: []any{"l"}, I: 0, X: "z"},
			map[string]any{"l": []any{"z", int64(1), int64(2), int64(3)}, "d": map[string]any{"a": map[string]any{"b": int64(1)}}, "s": "x"}, nil},
		{"insert clamps like Python", Mod{Action: ActInsert, Path: []any{"l"}, I: 99, X: "z"},
			map[string]any{"l": []any{int64(1), int64(2), int64(3), "z"}, "d": map[string]any{"a": map[string]any{"b": int64(1)}}, "s": "x"}, nil},
		{"insert negative", Mod{Action: ActInsert, Path: []any{"l"}, I: -1, X: "z"},
			map[string]any{"l": []any{int64(1), int64(2), "z", int64(3)}, "d": map[string]any{"a": map[string]any{"b": int64(1)}}, "s": "x"}, nil},
		{"pop last", Mod{Action: ActPop, Path: []any{"l"}, I: -1},
			map[string]any{"l": []any{int64(1), int64(2)}, "d": map[string]any{"a": map[string]any{"b": int64(1)}}, "s": "x"}, nil},
		{"pop first", Mod{Action: ActPop, Path: []any{"l"}, I: 0},
			map[string]any{"l": []any{int64(2), int64(3)}, "d": map[string]any{"a": map[string]any{"b": int64(1)}}, "s": "x"}, nil},
		{"setitem deep", Mod{Action: ActSetItem, Path: []any{"d", "a"}, Key: "b", Value: int64(2)},
			map[string]any{"l": []any{int64(1), int64(2), int64(3)}, "d": map[string]any{"a": map[string]any{"b": int64(2)}}, "s": "x"}, nil},
		{"setitem list index", Mod{Action: ActSetItem, Path: []any{"l"}, Key: int64(-1), Value: "last"},
			map[string]any{"l": []any{int64(1), int64(2), "last"}, "d": map[string]any{"a": map[string]any{"b": int64(1)}}, "s": "x"}, nil},
		{"setitem tuple key makes a pyon.Dict", Mod{Action: ActSetItem, Path: []any{"d"}, Key: pyon.Tuple{int64(1), int64(2)}, Value: "t"},
			map[string]any{"l": []any{int64(1), int64(2), int64(3)}, "d": pyon.Dict{{Key: "a", Value: map[string]any{"b": int64(1)}}, {Key: pyon.Tuple{int64(1), int64(2)}, Value: "t"}}, "s": "x"}, nil},
		{"delitem", Mod{Action: ActDelItem, Path: []any{}, Key: "s"},
			map[string]any{"l": []any{int64(1), int64(2), int64(3)}, "d": map[string]any{"a": map[string]any{"b": int64(1)}}}, nil},
		{"delitem list index", Mod{Action: ActDelItem, Path: []any{"l"}, Key: int64(1)},
			map[string]any{"l": []any{int64(1), int64(3)}, "d": map[string]any{"a": map[string]any{"b": int64(1)}}, "s": "x"}, nil},
		{"init", Mod{Action: ActInit, Struct: []any{"new"}}, []any{"new"}, nil},

		{"bad path", Mod{Action: ActSetItem, Path: []any{"nope"}, Key: "k", Value: 1}, nil, ErrBadPath},
		{"path through a string", Mod{Action: ActSetItem, Path: []any{"s", "x"}, Key: "k", Value: 1}, nil, ErrType},
		{"string index into list", Mod{Action: ActAppend, Path: []any{"l", "0"}, X: 1}, nil, ErrType},
		{"append to dict", Mod{Action: ActAppend, Path: []any{"d"}, X: int64(1)}, nil, ErrType},
		{"insert into dict", Mod{Action: ActInsert, Path: []any{"d"}, X: int64(1)}, nil, ErrType},
		{"pop out of range", Mod{Action: ActPop, Path: []any{"l"}, I: 3}, nil, ErrIndex},
		{"pop negative out of range", Mod{Action: ActPop, Path: []any{"l"}, I: -4}, nil, ErrIndex},
		{"pop from dict: dict.pop(0), a missing key", Mod{Action: ActPop, Path: []any{"d"}, I: 0}, nil, ErrNoKey},
		{"pop from a string", Mod{Action: ActPop, Path: []any{"s"}, I: 0}, nil, ErrType},
		{"setitem list out of range", Mod{Action: ActSetItem, Path: []any{"l"}, Key: int64(5), Value: 1}, nil, ErrIndex},
		{"setitem on scalar", Mod{Action: ActSetItem, Path: []any{"s"}, Key: "k", Value: 1}, nil, ErrType},
		{"setitem list key", Mod{Action: ActSetItem, Path: []any{"d"}, Key: []any{int64(1)}, Value: 1}, nil, ErrBadKey},
		{"delitem missing", Mod{Action: ActDelItem, Path: []any{"d"}, Key: "zz"}, nil, ErrNoKey},
		{"delitem int key in str dict", Mod{Action: ActDelItem, Path: []any{"d"}, Key: int64(1)}, nil, ErrNoKey},
		{"unknown action", Mod{Action: "frobnicate", Path: []any{}}, nil, ErrBadMod},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tree := base()
			before := Copy(tree)
			got, err := Apply(tree, &tc.mod)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				var me *ModError
				if !errors.As(err, &me) {
					t.Fatalf("err %T is not a *ModError", err)
				}
				if !Equal(tree, before) || !Equal(got, before) {
					t.Fatalf("failed mod changed the tree: %#v", tree)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !Equal(got, tc.want) {
				t.Fatalf("got  %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestDelitemLastOddKeyGivesMapBack(t *testing.T) {
	tree := any(map[string]any{"a": int64(1)})
	var err error
	tree, err = Apply(tree, &Mod{Action: ActSetItem, Path: []any{}, Key: int64(7), Value: "seven"})
	must(t, err)
	if _, ok := tree.(pyon.Dict); !ok {
		t.Fatalf("tree is %T, want pyon.Dict", tree)
	}
	tree, err = Apply(tree, &Mod{Action: ActDelItem, Path: []any{}, Key: int64(7)})
	must(t, err)
	if !Equal(tree, map[string]any{"a": int64(1)}) {
		t.Fatalf("tree is %#v", tree)
	}
}

// fromPYONJSON converts the little of PYON the recording uses (numbers,
// tuples) to normal form.
func fromPYONJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = fromPYONJSON(x[i])
		}
		return x
	case map[string]any:
		if jc, ok := x["__jsonclass__"].([]any); ok && jc[0] == "tuple" {
			return pyon.Tuple(fromPYONJSON(jc[1].([]any)[0]).([]any))
		}
		for k := range x {
			x[k] = fromPYONJSON(x[k])
		}
		return x
	}
	return v
}

// historyMods decodes every mod kept in n's history.
func historyMods(t *testing.T, n *Notifier) []*Mod {
	t.Helper()
	h := n.hist
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*Mod
	for _, e := range h.entries[h.start:] {
		m, err := decodeMod(e.frame[4:])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func modsEqual(a, b *Mod) bool {
	return a.Action == b.Action && Equal(a.Path, b.Path) && Equal(a.Key, b.Key) && Equal(a.Value, b.Value) &&
		Equal(a.X, b.X) && a.I == b.I && Equal(a.Struct, b.Struct) && a.Seq == b.Seq
}

func TestMsgpackModRoundTrip(t *testing.T) {
	for _, m := range sipycoMods(t) {
		m.Seq = 99
		b, err := encMsgpack.AppendMod(nil, m)
		must(t, err)
		got, err := decodeMod(b[4:])
		must(t, err)
		if m.Action == ActPop && m.Path == nil {
			m.Path = []any{}
		}
		if !modsEqual(got, m) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, m)
		}
		// The JSON encoding is the recorded PYON line plus "seq".
		j, err := encJSON.AppendMod(nil, m)
		must(t, err)
		if !bytes.Contains(j, []byte(`"seq":99}`)) || !json.Valid(j) {
			t.Errorf("JSON %s", j)
		}
	}
}
