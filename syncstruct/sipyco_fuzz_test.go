package syncstruct

import (
	"strings"
	"testing"

	"github.com/sigoco/sigoco/pyon"
)

// FuzzSiPyCoLine: whatever line a SiPyCo publisher sends, decoding it never
// panics; a line that decodes is a mod that encSiPyCo writes back to
// a line decoding to the same mod, and that Apply takes or refuses without
// panicking.
func FuzzSiPyCoLine(f *testing.F) {
	for _, l := range recordedServerLines(f) {
		f.Add([]byte(l))
	}
	for _, l := range []string{
		`{"action":"init","struct":{"__jsonclass__":["dict",[[[{"__jsonclass__":["tuple",[[1,2]]]},{"__jsonclass__":["set",[[1]]]}]]]]}}`,
		`{"action":"append","path":["a",0],"x":{"__jsonclass__":["nparray",[[2],"<f8","AAAAAAAA+D8AAAAAAAAEQA=="]]}}`,
		`{"action":"insert","path":["a"],"i":-3,"x":[Infinity,-Infinity,NaN,1e999]}`,
		`{"action":"setitem","path":[],"key":{"__jsonclass__":["Fraction",[1,3]]},"value":{"__jsonclass__":["complex",[1.0,-2.0]]}}`,
		`{"action":"setitem","path":["a"],"key":1,"value":18446744073709551615}`,
		`{"action":"delitem","path":["a"],"key":{"__jsonclass__":["bytes",["AAE="]]}}`,
		`{"action":"pop","path":["a"]}`,
		`{"action":"init","struct":{"__jsonclass__":["OrderedDict",[[["b",1],["a",{"__jsonclass__":["slice",[1,null,2]]}]]]]}}`,
		`{"action":"init","struct":{"__jsonclass__":["npscalar",["<i4","BwAAAA=="]]}}`,
		`{'action': 'init', 'struct': (1, 2)}`,
		`{"action":"init","struct":` + strings.Repeat("[", 1100) + strings.Repeat("]", 1100) + `}`,
	} {
		f.Add([]byte(l))
	}
	base := map[string]any{"a": []any{[]any{int64(1)}, map[string]any{}}, "d": pyon.Dict{{Key: int64(1), Value: "x"}}}
	f.Fuzz(func(t *testing.T, line []byte) {
		m, err := decodeSiPyCoMod(line)
		if err != nil {
			return
		}
		b, err := encSiPyCo.AppendMod(nil, m)
		if err != nil {
			t.Fatalf("decoded mod %v does not encode: %v", m, err)
		}
		again, err := decodeSiPyCoMod(b)
		if err != nil {
			t.Fatalf("re-encoded line %q does not decode: %v", b, err)
		}
		if !modsEqual(again, m) {
			t.Fatalf("round trip:\n got %+v\nwant %+v\nline %q", again, m, b)
		}
		Apply(Copy(base), m)
	})
}
