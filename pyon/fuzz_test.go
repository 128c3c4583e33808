package pyon

import (
	"errors"
	"testing"
)

// FuzzDecode checks that Decode never panics, fails only with a
// *DecodeError, and that whatever it accepts encodes and decodes back to
// the same value, as JSON that encoding/json accepts after the
// Infinity/NaN rewrite. The seed corpus is every PYON line in the
// recordings plus edge cases.
func FuzzDecode(f *testing.F) {
	for _, l := range allRecordedLines(f) {
		f.Add([]byte(l))
	}
	for _, s := range []string{
		`[Infinity,-Infinity,NaN,1E400,-0,1e-400]`,
		`{"__jsonclass__":["dict",[[[{"__jsonclass__":["frozenset",[[1]]]},1]]]]}`,
		`{"__jsonclass__":["OrderedDict",[[["__jsonclass__",1]]]]}`,
		`{"__jsonclass__":["Fraction",["-3/9"]]}`,
		`{"__jsonclass__":["slice",[1,2.5,"x"]]}`,
		`{"__jsonclass__":["npscalar",["<U1","6QAAAA=="]]}`,
		`{"__jsonclass__":["nparray",[[1,0],"<M8[s]",""]]}`,
		`{"args": (1, 2), "x": None}`,
		`"\ud800"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		IsV1(data)
		v, err := Decode(data)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode error %v is %T, not *DecodeError", err, err)
			}
			return
		}
		out, err := Encode(v)
		if err != nil {
			t.Fatalf("Encode(Decode(%q)): %v", data, err)
		}
		jsonTree(t, string(out))
		v2, err := Decode(out)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(%q))) = %v\n%s", data, err, out)
		}
		if !equal(v, v2) {
			t.Fatalf("round trip of %q changed the value:\n%#v\n%#v", data, v, v2)
		}
	})
}

// FuzzConvert checks that converting any decodable value into a few
// parameter types never panics and fails only with *ConvertError.
func FuzzConvert(f *testing.F) {
	for _, l := range allRecordedLines(f) {
		f.Add([]byte(l))
	}
	f.Add([]byte(`[[1,2],[3]]`))
	f.Add([]byte(`{"gain": 1, "channels": [1, 2.5]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode(data)
		if err != nil {
			return
		}
		for _, dst := range []any{new([]float64), new([][]float64), new(map[string]any), new(settings), new(int8), new(NDArray), new(Tuple), new(map[int]string)} {
			if err := Convert(v, dst); err != nil {
				var ce *ConvertError
				if !errors.As(err, &ce) {
					t.Fatalf("Convert into %T: %v is %T", dst, err, err)
				}
			}
		}
	})
}
