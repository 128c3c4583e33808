package syncstruct

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/pyon"
)

// decodeBoth decodes b with a decoder that takes the fast path (fast,
// which keeps its intern tables and previous path from earlier calls) and
// with the generic decoder alone (gen), and fails unless both give the
// same message or the same error. It reports whether the fast path
// decoded b by itself.
func decodeBoth(t testing.TB, fast, gen *msgDecoder, b []byte) (taken bool) {
	t.Helper()
	var scratch message
	taken = fast.fastMod(b, &scratch)
	var fm, gm message
	ferr := fast.decode(b, &fm)
	gerr := gen.decode(b, &gm)
	if (ferr == nil) != (gerr == nil) || (ferr != nil && ferr.Error() != gerr.Error()) {
		t.Fatalf("%x:\nfast path error %v\ngeneric error   %v", b, ferr, gerr)
	}
	if ferr == nil && !reflect.DeepEqual(fm, gm) && !sameNaNs(fm, gm) {
		t.Fatalf("%x:\nfast path %#v\ngeneric   %#v", b, fm, gm)
	}
	return taken
}

// sameNaNs reports whether messages that reflect.DeepEqual finds unequal
// differ only by NaNs (never equal to themselves): the same bytes when
// encoded, with the same field bits.
func sameNaNs(a, b message) bool {
	ea, err1 := encMsgpack.AppendMod(nil, &a.Mod)
	eb, err2 := encMsgpack.AppendMod(nil, &b.Mod)
	return err1 == nil && err2 == nil && bytes.Equal(ea, eb) && a.has == b.has && a.T == b.T
}

func newGenericDecoder() *msgDecoder {
	md := newMsgDecoder()
	md.generic = true
	return md
}

// randomFastMod returns a random mod of any action, with paths, keys and
// values of every kind, often of the common shape.
func randomFastMod(rng *rand.Rand) *Mod {
	var path []any
	for range rng.IntN(5) {
		switch rng.IntN(8) {
		case 0:
			path = append(path, int64(rng.IntN(300))-20)
		case 1:
			path = append(path, pyon.Tuple{int64(1), "t"})
		case 2:
			path = append(path, strings.Repeat("p", rng.IntN(300)))
		default:
			path = append(path, fmt.Sprint("p", rng.IntN(4)))
		}
	}
	if path == nil {
		path = []any{}
	}
	key := randomKey(rng)
	if k, ok := key.(int); ok {
		key = int64(k)
	}
	val := func() any {
		switch rng.IntN(6) {
		case 0:
			return strings.Repeat("v", rng.IntN(70000))
		case 1:
			return int64(rng.Uint64())
		case 2:
			return float64(rng.Float32())
		}
		v, err := Normalize(randomValue(rng, 1))
		if err != nil {
			panic(err)
		}
		return v
	}
	m := &Mod{Path: path, Seq: rng.Uint64() >> rng.IntN(64)}
	switch rng.IntN(7) {
	case 0:
		m.Action, m.X = ActAppend, val()
	case 1:
		m.Action, m.I, m.X = ActInsert, rng.IntN(100)-50, val()
	case 2:
		m.Action, m.I = ActPop, rng.IntN(10)-1
	case 3:
		m.Action, m.Key = ActPop, key
	case 4:
		m.Action, m.Key = ActDelItem, key
	case 5:
		m.Action, m.Struct = ActInit, map[string]any{"a": val()}
		m.Path = nil
	default:
		m.Action, m.Key, m.Value = ActSetItem, key, val()
	}
	return m
}

// TestFastPathMatchesGeneric: for many random mods, the same mods with
// bytes changed or cut, and every recorded mod, the fast path and the
// generic decoder give identical messages or identical errors.
func TestFastPathMatchesGeneric(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 18))
	fast, gen := newMsgDecoder(), newGenericDecoder()
	n := 20000
	if testing.Short() {
		n = 4000
	}
	taken := 0
	for range n {
		m := randomFastMod(rng)
		f, err := encMsgpack.AppendMod(nil, m)
		if err != nil {
			t.Fatalf("%v: %v", m, err)
		}
		b := f[4:]
		if decodeBoth(t, fast, gen, b) {
			taken++
		}
		// The same bytes, damaged: the fast path must fall back (or
		// agree) whatever they say.
		d := append([]byte(nil), b...)
		switch rng.IntN(3) {
		case 0:
			d = d[:rng.IntN(len(d))]
		case 1:
			d[rng.IntN(len(d))] = byte(rng.Uint32())
		default:
			d[rng.IntN(len(d))] ^= 1 << rng.IntN(8)
		}
		decodeBoth(t, fast, gen, d)
	}
	if taken < n/3 {
		t.Fatalf("the fast path took only %d of %d mods", taken, n)
	}

	// Recorded mods: the frames of the native session, and the shared
	// replica cases' mods in the native encoding.
	f, err := os.Open("testdata/native_session.jsonl")
	must(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l exchangeLine
		must(t, json.Unmarshal(sc.Bytes(), &l))
		if l.Dir != "server" {
			continue
		}
		b, err := hex.DecodeString(l.Hex)
		must(t, err)
		decodeBoth(t, fast, gen, b[4:])
	}
	for _, m := range sipycoMods(t) {
		b, err := encMsgpack.AppendMod(nil, m)
		must(t, err)
		decodeBoth(t, fast, gen, b[4:])
	}
	for _, s := range fuzzSeeds(t) {
		decodeBoth(t, fast, gen, s)
	}
}

// TestFastPathTakesCommonMods: the mods a fan-out carries are decoded by
// the fast path itself, and repeated paths and short keys are shared.
func TestFastPathTakesCommonMods(t *testing.T) {
	md := newMsgDecoder()
	var first []any
	for i, m := range []*Mod{
		{Action: ActSetItem, Path: []any{"runs", "r1"}, Key: "step", Value: int64(7), Seq: 1},
		{Action: ActSetItem, Path: []any{"runs", "r1"}, Key: "loss", Value: 0.25, Seq: 1 << 40},
		{Action: ActSetItem, Path: []any{"runs", "r1"}, Key: "status", Value: "running", Seq: 3},
		{Action: ActAppend, Path: []any{"runs", "r1"}, X: nil, Seq: 4},
		{Action: ActInsert, Path: []any{"runs", "r1"}, I: -3, X: true, Seq: 5},
		{Action: ActPop, Path: []any{"runs", "r1"}, I: 2, Seq: 6},
		{Action: ActPop, Path: []any{"runs", "r1"}, Key: "k", Seq: 6},
		{Action: ActDelItem, Path: []any{"runs", "r1"}, Key: int64(-5), Seq: 7},
		{Action: ActSetItem, Path: []any{"runs", "r1"}, Key: "v", Value: []any{int64(1)}, Seq: 8},
	} {
		f, err := encMsgpack.AppendMod(nil, m)
		must(t, err)
		var got message
		if !md.fastMod(f[4:], &got) {
			t.Fatalf("%v: not taken by the fast path", m)
		}
		must(t, got.checkMod())
		if !modsEqual(&got.Mod, m) {
			t.Fatalf("got %v, want %v", &got.Mod, m)
		}
		if i == 0 {
			first = got.Path
		} else if &got.Path[0] != &first[0] {
			t.Fatalf("%v: path not shared", m)
		}
	}
}

// BenchmarkDecodeMod decodes the fan-out benchmark's mod shape (a setitem
// of a ~100-byte string on one of 1,000 keys) with and without the fast
// path.
func BenchmarkDecodeMod(b *testing.B) {
	var frames [][]byte
	for i := range 1000 {
		f, err := encMsgpack.AppendMod(nil, &Mod{Action: ActSetItem, Path: []any{"values"},
			Key: fmt.Sprint("k", i), Value: strings.Repeat("x", 90), Seq: uint64(i + 1)})
		if err != nil {
			b.Fatal(err)
		}
		frames = append(frames, f[4:])
	}
	for _, c := range []struct {
		name string
		md   *msgDecoder
	}{{"fast", newMsgDecoder()}, {"generic", newGenericDecoder()}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var m message
			for i := range b.N {
				if err := c.md.decode(frames[i%len(frames)], &m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
