package syncstruct

import (
	"testing"

	"github.com/sigoco/sigoco/pyon"
)

// fuzzSeeds are valid native messages: every mod shape, every control
// message, and values of every normal-form type.
func fuzzSeeds(t testing.TB) [][]byte {
	var out [][]byte
	add := func(b []byte, err error) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b[4:])
	}
	for _, m := range []*Mod{
		{Action: ActInit, Struct: map[string]any{"a": []any{int64(1), "x"}}, Seq: 3},
		{Action: ActAppend, Path: []any{"a"}, X: pyon.Tuple{int64(1), 2.5}, Seq: 4},
		{Action: ActInsert, Path: []any{"a"}, I: -1, X: []byte{1, 2}, Seq: 5},
		{Action: ActPop, Path: []any{"a", int64(0)}, I: 2, Seq: 6},
		{Action: ActSetItem, Path: []any{}, Key: pyon.Tuple{int64(1), "k"}, Value: pyon.Dict{{Key: int64(1), Value: nil}}, Seq: 7},
		{Action: ActDelItem, Path: []any{"a"}, Key: "k", Seq: 8},
		{Action: ActSetItem, Path: []any{"a"}, Key: pyon.Slice{Start: int64(1), Step: int64(-1)}, Value: []any{int64(1)}, Seq: 8},
		{Action: ActDelItem, Path: []any{"a"}, Key: pyon.Slice{Stop: int64(-1), Step: int64(2)}, Seq: 8},
		{Action: ActSetItem, Path: []any{"n"}, Key: pyon.Tuple{int64(1), pyon.Slice{}}, Value: []any{int64(3), 2.5}, Seq: 8},
		{Action: ActSetItem, Path: []any{"f"}, Key: pyon.Slice{Start: int64(-2)}, Value: pyon.FromInt64s([]int64{4, 5}), Seq: 8},
		{Action: ActPop, Path: []any{"d"}, Key: int64(1), Seq: 8},
		{Action: ActSetItem, Path: []any{}, Key: "v", Value: []any{complex(1, 2), uint64(1 << 63), pyon.Set{Items: []any{int64(1)}}, pyon.NDArray{Shape: []int{1}, DType: "<i4", Data: []byte{1, 0, 0, 0}}}, Seq: 9},
	} {
		add(encMsgpack.AppendMod(nil, m))
	}
	for _, c := range []*control{
		{T: msgSubscribe, Notifier: "state", Epoch: 5, Seq: 9},
		{T: msgSync, Epoch: 5, Seq: 9, Mode: modeSnapshot, Reason: ReasonBehind, HeartbeatMS: 2000},
		{T: msgSynced, Seq: 9},
		{T: msgPing},
		{T: msgError, Code: CodeBadRequest, Message: "no"},
	} {
		add(appendControlFrame(nil, c))
	}
	ch := newChunker(true)
	encMsgpack.WriteInit(ch, map[string]any{"x": int64(1)}, 2)
	out = append(out, ch.Pieces()[0][4:])
	return out
}

// FuzzDecodeMessage feeds arbitrary bytes to the message decoder: it must
// return an error or a message, never panic, within the allocation and
// time bounds; the fast path must give what the generic decoder gives;
// and a decoded mod must survive a round trip.
func FuzzDecodeMessage(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Add([]byte{0xdf, 0xff, 0xff, 0xff, 0xff})                  // map claiming 4G entries
	f.Add([]byte{0x81, 0xa1, 'x', 0xdd, 0xff, 0xff, 0xff, 0xff}) // array claiming 4G elements
	fast, gen := newMsgDecoder(), newGenericDecoder()
	f.Fuzz(func(t *testing.T, b []byte) {
		// The fast path and the generic decoder agree (decoders kept
		// across inputs, as a subscriber keeps its own), within bounds.
		checkBounds(t, len(b), func() { decodeBoth(t, fast, gen, b) })
		var m message
		if err := newMsgDecoder().decode(b, &m); err != nil {
			return
		}
		if m.T != "" {
			return
		}
		enc, err := encMsgpack.AppendMod(nil, &m.Mod)
		if err != nil {
			t.Fatalf("decoded mod %v does not encode: %v", &m.Mod, err)
		}
		back, err := decodeMod(enc[4:])
		if err != nil {
			t.Fatalf("re-encoded mod does not decode: %v", err)
		}
		if !modsEqual(back, &m.Mod) {
			t.Fatalf("round trip changed the mod:\n%+v\n%+v", back, &m.Mod)
		}
		if _, err := encJSON.AppendMod(nil, &m.Mod); err != nil {
			t.Fatalf("decoded mod does not encode as JSON: %v", err)
		}
	})
}

// FuzzApply decodes a mod from arbitrary bytes and applies it to a fixed
// tree: Apply must never panic, and a failed Apply must leave the tree
// exactly as it was.
func FuzzApply(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMod(b)
		if err != nil {
			return
		}
		tree := any(map[string]any{
			"a": []any{int64(1), map[string]any{"k": "v"}, []any{}},
			"d": pyon.Dict{{Key: int64(1), Value: []any{"x"}}, {Key: "s", Value: nil}},
			"t": pyon.Tuple{[]any{int64(2)}},
			"n": pyon.NDArray{Shape: []int{2, 2}, DType: "<i4", Data: make([]byte, 16)},
			"f": pyon.FromFloat64s([]float64{1, 2, 3}),
		})
		before := Copy(tree)
		out, err := Apply(tree, m)
		if err != nil {
			if !Equal(tree, before) {
				t.Fatalf("failed %v changed the tree", m)
			}
			return
		}
		// What Apply produced is a tree the encoders accept.
		if _, err := encMsgpack.AppendMod(nil, &Mod{Action: ActInit, Struct: out}); err != nil {
			t.Fatalf("tree after %v does not encode: %v", m, err)
		}
	})
}
