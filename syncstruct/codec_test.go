package syncstruct

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"testing"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/wire"
)

func bigFraction(a, b int64) pyon.Fraction {
	var f pyon.Fraction
	f.SetFrac(big.NewInt(a), big.NewInt(b))
	return f
}

// everyType is a tree holding a value of every normal-form type.
func everyType() any {
	huge, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	return map[string]any{
		"nil": nil, "bool": true, "int": int64(-5), "uint": uint64(math.MaxUint64), "big": huge,
		"float": 2.5, "nan": math.NaN(), "str": "é\n\"", "bytes": []byte{0, 255},
		"complex": complex(1, -2), "list": []any{int64(1), []any{}}, "map": map[string]any{},
		"tuple": pyon.Tuple{int64(1), "a"}, "dict": pyon.Dict{{Key: int64(1), Value: "one"}, {Key: pyon.Tuple{int64(2)}, Value: nil}},
		"odict":    pyon.OrderedDict{{Key: "b", Value: int64(1)}, {Key: "a", Value: int64(2)}},
		"set":      pyon.Set{Items: []any{int64(1), "x"}},
		"frozen":   pyon.Set{Items: []any{int64(1)}, Frozen: true},
		"fraction": bigFraction(1, 3),
		"slice":    pyon.Slice{Start: int64(1), Stop: nil, Step: int64(2)},
		"ndarray":  pyon.NDArray{Shape: []int{2, 2}, DType: "<f8", Data: make([]byte, 32)},
		"npscalar": pyon.NPScalar{DType: "<i4", Data: []byte{7, 0, 0, 0}},
	}
}

func TestMsgpackTreeRoundTrip(t *testing.T) {
	tree := everyType()
	b, err := encMsgpack.AppendMod(nil, &Mod{Action: ActInit, Struct: tree, Seq: 1})
	must(t, err)
	m, err := decodeMod(b[4:])
	must(t, err)
	if !Equal(m.Struct, tree) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", m.Struct, tree)
	}
}

func TestNormalize(t *testing.T) {
	type point struct {
		X, Y int
		Name string `msgpack:"name"`
	}
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"ints widen", []any{1, int8(2), uint16(3), uint64(4)}, []any{int64(1), int64(2), int64(3), int64(4)}},
		{"float32", float32(0.5), 0.5},
		{"struct by pyon's key rule", point{1, 2, "p"}, map[string]any{"x": int64(1), "y": int64(2), "name": "p"}},
		{"typed slice", []string{"a", "b"}, []any{"a", "b"}},
		{"int-keyed map", map[int]string{1: "a"}, pyon.Dict{{Key: int64(1), Value: "a"}}},
		{"dict of string keys", pyon.Dict{{Key: "a", Value: 1}}, map[string]any{"a": int64(1)}},
		{"small big.Int", big.NewInt(5), int64(5)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Normalize(tc.in)
			must(t, err)
			if !Equal(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
	if _, err := Normalize(make(chan int)); !errors.Is(err, ErrUnsupportedValue) {
		t.Fatalf("Normalize(chan) = %v", err)
	}
	if _, err := Normalize(pyon.Dict{{Key: []any{1}, Value: 1}}); !errors.Is(err, ErrBadKey) {
		t.Fatalf("list key: %v", err)
	}
}

// TestJSONIsPYON checks the JSON browsers get: plain JSON where JSON has
// the type, PYON's __jsonclass__ where it does not.
func TestJSONIsPYON(t *testing.T) {
	b, err := encJSON.AppendMod(nil, &Mod{Action: ActSetItem, Path: []any{"runs"}, Key: pyon.Tuple{int64(1), int64(2)}, Value: everyType(), Seq: 5})
	must(t, err)
	var got map[string]any
	must(t, json.Unmarshal(b, &got))
	want := `{"action":"setitem","path":["runs"],"key":{"__jsonclass__":["tuple",[[1,2]]]},"value":{"big":123456789012345678901234567890,"bool":true,"bytes":{"__jsonclass__":["bytes",["AP8="]]},"complex":{"__jsonclass__":["complex",[1.0,-2.0]]},"dict":{"__jsonclass__":["dict",[[[1,"one"],[{"__jsonclass__":["tuple",[[2]]]},null]]]]},"float":2.5,"fraction":{"__jsonclass__":["Fraction",[1,3]]},"frozen":{"__jsonclass__":["frozenset",[[1]]]},"int":-5,"list":[1,[]],"map":{},"nan":null,"ndarray":{"__jsonclass__":["nparray",[[2,2],"<f8","AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]]},"nil":null,"npscalar":{"__jsonclass__":["npscalar",["<i4","BwAAAA=="]]},"odict":{"__jsonclass__":["OrderedDict",[[["b",1],["a",2]]]]},"set":{"__jsonclass__":["set",[[1,"x"]]]},"slice":{"__jsonclass__":["slice",[1,null,2]]},"str":"é\n\"","tuple":{"__jsonclass__":["tuple",[[1,"a"]]]},"uint":18446744073709551615},"seq":5}`
	if string(b) != want {
		t.Fatalf("JSON\n got %s\nwant %s", b, want)
	}
}

func TestChunkerPieces(t *testing.T) {
	for _, framed := range []bool{true, false} {
		c := newChunker(framed)
		data := make([]byte, 3*wire.DefaultChunkSize+17)
		for i := range data {
			data[i] = byte(i)
		}
		c.Write(data[:10])
		c.Write(data[10:])
		pieces := c.Pieces()
		if len(pieces) != 4 {
			t.Fatalf("%d pieces", len(pieces))
		}
		var joined []byte
		dec := newMsgDecoder()
		for _, p := range pieces {
			if !framed {
				joined = append(joined, p...)
				continue
			}
			var m message
			must(t, dec.decode(p[4:], &m))
			if m.T != msgChunk || int(uint32(p[0])<<24|uint32(p[1])<<16|uint32(p[2])<<8|uint32(p[3])) != len(p)-4 {
				t.Fatalf("bad chunk frame %x", p[:12])
			}
			joined = append(joined, m.D...)
		}
		if string(joined) != string(data) {
			t.Fatal("pieces do not add up to the data")
		}
	}
}

// TestStreamedInitMatchesFrame: a snapshot streamed element by element
// into a chunker has the bytes of the same init mod encoded in one frame.
func TestStreamedInitMatchesFrame(t *testing.T) {
	long := string(make([]byte, 300))
	tree, err := Normalize(map[string]any{
		"a": []any{int64(1), long, map[string]any{"z": 1.5, long: pyon.Tuple{int64(2)}}},
		"b": map[any]any{int64(1): "one"}, "c": []byte{1, 2}, "d": pyon.Set{Items: []any{int64(3)}},
	})
	must(t, err)
	c := newChunker(false)
	must(t, encMsgpack.WriteInit(c, tree, 5))
	var streamed []byte
	for _, p := range c.Pieces() {
		streamed = append(streamed, p...)
	}
	framed, err := encMsgpack.AppendMod(nil, &Mod{Action: ActInit, Struct: tree, Seq: 5})
	must(t, err)
	if string(streamed) != string(framed[wire.FrameHeaderLen:]) {
		t.Fatalf("streamed %x\n framed %x", streamed, framed[wire.FrameHeaderLen:])
	}
}
