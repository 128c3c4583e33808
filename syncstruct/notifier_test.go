package syncstruct

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/sigoco/sigoco/pyon"
)

func TestNodeErrorsChangeNothing(t *testing.T) {
	n := mustNotifier(t, map[string]any{"l": []any{1}, "d": map[string]any{}, "s": "x"}, NotifierOptions{})
	before := n.Copy()
	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"set under a missing key", func() error { return n.At("nope").Set("k", 1) }, ErrBadPath},
		{"append to a dict", func() error { return n.At("d").Append(1) }, ErrType},
		{"insert into a string", func() error { return n.At("s").Insert(0, 1) }, ErrType},
		{"pop a missing int key from a dict", func() error { _, err := n.At("d").Pop(0); return err }, ErrNoKey},
		{"pop out of range", func() error { _, err := n.At("l").Pop(5); return err }, ErrIndex},
		{"delete a missing key", func() error { return n.At("d").Delete("k") }, ErrNoKey},
		{"list as key", func() error { return n.Set([]any{1}, 1) }, ErrBadKey},
		{"list in path", func() error { return n.At([]any{1}).Set("k", 1) }, ErrBadKey},
		{"unsupported value", func() error { return n.Set("k", func() {}) }, ErrUnsupportedValue},
		{"index into a dict", func() error { return n.At("d", 0).Set("k", 1) }, ErrBadPath},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !Equal(n.Copy(), before) || n.Seq() != 0 {
				t.Fatalf("a refused mutation changed the tree or published a mod (seq %d)", n.Seq())
			}
		})
	}
}

func TestNotifierCopiesValues(t *testing.T) {
	n := mustNotifier(t, nil, NotifierOptions{})
	v := map[string]any{"a": []any{1}}
	must(t, n.Set("v", v))
	v["a"] = "changed behind the notifier's back"
	got, err := n.At("v").Get()
	must(t, err)
	if !Equal(got, map[string]any{"a": []any{int64(1)}}) {
		t.Fatalf("the notifier's tree follows the caller's map: %#v", got)
	}
	got.(map[string]any)["a"] = "changed in a copy"
	if again, _ := n.At("v", "a").Get(); !Equal(again, []any{int64(1)}) {
		t.Fatalf("Get returned a view, not a copy: %#v", again)
	}
}

// TestConcurrentMutations: many goroutines mutate at once; every mod gets
// its own seq, in the order the tree changed, so replaying the history on
// the initial tree gives the final tree.
func TestConcurrentMutations(t *testing.T) {
	const workers, each = 8, 200
	init := map[string]any{"l": []any{}, "d": map[string]any{}}
	n := mustNotifier(t, init, NotifierOptions{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				must(t, n.At("l").Append(w))
				must(t, n.At("d").Set(fmt.Sprint(w), i))
				if i%3 == 0 {
					_, err := n.At("l").Pop(0)
					must(t, err)
				}
				n.Read(func(any) {})
			}
		}()
	}
	wg.Wait()
	mods := historyMods(t, n)
	if uint64(len(mods)) != n.Seq() {
		t.Fatalf("%d mods kept, seq %d", len(mods), n.Seq())
	}
	tree := Copy(mustNormalize(t, init))
	for i, m := range mods {
		if m.Seq != uint64(i+1) {
			t.Fatalf("mod %d has seq %d", i, m.Seq)
		}
		var err error
		if tree, err = Apply(tree, m); err != nil {
			t.Fatal(err)
		}
	}
	if !Equal(tree, n.Copy()) {
		t.Fatal("replaying the mods does not give the tree")
	}
}

func mustNormalize(t testing.TB, v any) any {
	t.Helper()
	out, err := Normalize(v)
	must(t, err)
	return out
}

func TestUpdateFromIsRecursive(t *testing.T) {
	n := mustNotifier(t, map[string]any{
		"runs": map[string]any{"r1": map[string]any{"params": map[string]any{"v": 1, "w": 2}, "step": 5}},
		"l":    []any{1, []any{2, 3}, 4},
		"k":    pyon.Dict{{Key: int64(1), Value: "a"}},
	}, NotifierOptions{})
	must(t, UpdateFrom(n, map[string]any{
		"runs": map[string]any{"r1": map[string]any{"params": map[string]any{"v": 1, "w": 3}, "step": 5}},
		"l":    []any{1, []any{2, 3, 9}},
		"k":    pyon.Dict{{Key: int64(1), Value: "a"}, {Key: int64(2), Value: "b"}},
	}))
	got := historyMods(t, n)
	want := []Mod{
		{Action: ActSetItem, Path: []any{"k"}, Key: int64(2), Value: "b", Seq: 1},
		{Action: ActAppend, Path: []any{"l", int64(1)}, X: int64(9), Seq: 2},
		{Action: ActPop, Path: []any{"l"}, I: -1, Seq: 3},
		{Action: ActSetItem, Path: []any{"runs", "r1", "params"}, Key: "w", Value: int64(3), Seq: 4},
	}
	if len(got) != len(want) {
		t.Fatalf("mods %v", got)
	}
	for i := range want {
		if !modsEqual(got[i], &want[i]) {
			t.Errorf("mod %d: got %v, want %+v", i, got[i], want[i])
		}
	}
	// Nothing to do: no mods.
	must(t, UpdateFrom(n, n.Copy()))
	if n.Seq() != 4 {
		t.Fatalf("an update to the same tree made mods: seq %d", n.Seq())
	}
	if err := UpdateFrom(n, []any{}); !errors.Is(err, ErrType) {
		t.Fatalf("dict from list: %v", err)
	}
}

// nested returns d lists nested around an int.
func nested(d int) any {
	var v any = int64(1)
	for range d {
		v = []any{v}
	}
	return v
}

// TestTreeStaysSnapshottable: a change that would make the tree too deep
// to encode is refused. Accepted, it would make every snapshot fail, and
// every subscriber, new or resyncing, would reconnect for ever without a
// replica.
func TestTreeStaysSnapshottable(t *testing.T) {
	tests := []struct {
		name string
		do   func(n *Notifier, d int) error
	}{
		{"set at the root", func(n *Notifier, d int) error { return n.Set("k", nested(d)) }},
		{"set below a path", func(n *Notifier, d int) error {
			if err := n.Set("a", map[string]any{"b": map[string]any{}}); err != nil {
				return err
			}
			return n.At("a", "b").Set("k", nested(d))
		}},
		{"append", func(n *Notifier, d int) error {
			if err := n.Set("l", []any{}); err != nil {
				return err
			}
			return n.At("l").Append(nested(d))
		}},
		{"update", func(n *Notifier, d int) error { return UpdateFrom(n, map[string]any{"k": nested(d)}) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for d := 990; d <= 1001; d++ {
				n := mustNotifier(t, nil, NotifierOptions{})
				if err := tc.do(n, d); err != nil {
					if d == 990 || !errors.Is(err, ErrUnsupportedValue) {
						t.Fatalf("depth %d: %v", d, err)
					}
					continue
				}
				for _, enc := range []modEncoding{encMsgpack, encJSON, encSiPyCo} {
					if _, _, err := n.snapshot(enc, false); err != nil {
						t.Fatalf("depth %d accepted, but its %T snapshot fails: %v", d, enc, err)
					}
				}
			}
		})
	}
	if _, err := NewNotifier(map[string]any{"k": nested(999)}, NotifierOptions{}); err == nil {
		t.Error("NewNotifier accepted a tree too deep to snapshot")
	}
}

// TestTooDeepSetKeepsSubscribers: end to end over TCP, a refused deep
// value leaves the subscribers able to sync.
func TestTooDeepSetKeepsSubscribers(t *testing.T) {
	n := mustNotifier(t, nil, NotifierOptions{})
	p := NewPublisher(map[string]*Notifier{"s": n}, PublisherOptions{})
	ep := serve(t, p, "tcp")
	n.Set("k", nested(1000))
	s := subscribe(t, ep, "s", SubscriberOptions{})
	waitSynced(t, s)
	waitReplica(t, s, n)
}
