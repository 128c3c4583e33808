package pyon

import (
	"errors"
	"strings"
	"testing"
)

func nestedLists(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

// TestDecodeWithDepthAndSize: the text decoder enforces Limits.MaxDepth
// and Limits.MaxDecodedSize (it once ignored both). Depth is the decoded
// value's nesting; for plain lists, maps and strings the msgpack decoder
// accepts and refuses the same (its extensions, tuples included, count
// one level more for their payload).
func TestDecodeWithDepthAndSize(t *testing.T) {
	tuples := `{"__jsonclass__":["tuple",[[{"__jsonclass__":["tuple",[[1]]]}]]]}` // depth 2 decoded, 7 in JSON
	str := `"` + strings.Repeat("a", 1000) + `"`
	for _, tt := range []struct {
		name, in string
		lim      Limits
		ok       bool
	}{
		{"lists at the depth limit", nestedLists(4), Limits{MaxDepth: 3}, true},
		{"lists past the depth limit", nestedLists(5), Limits{MaxDepth: 3}, false},
		{"a scalar past the depth limit", "[[[[1]]]]", Limits{MaxDepth: 3}, false},
		{"maps past the depth limit", `{"a":{"b":{"c":{"d":1}}}}`, Limits{MaxDepth: 3}, false},
		{"tuples count as decoded", tuples, Limits{MaxDepth: 2}, true},
		{"tuples past the depth limit", tuples, Limits{MaxDepth: 1}, false},
		{"dict keys count", `{"__jsonclass__":["dict",[[[{"__jsonclass__":["tuple",[[1]]]},2]]]]}`, Limits{MaxDepth: 1}, false},
		{"default depth: 1000 deep", nestedLists(1001), Limits{}, true},
		{"default depth: 1001 deep", nestedLists(1002), Limits{}, false},
		{"string within the size limit", str, Limits{MaxDecodedSize: 2000}, true},
		{"string over the size limit", str, Limits{MaxDecodedSize: 1000}, false},
		{"list over the size limit", "[" + strings.Repeat("0,", 99) + "0]", Limits{MaxDecodedSize: 100 * 24}, false},
		{"list at the size limit", "[" + strings.Repeat("0,", 99) + "0]", Limits{MaxDecodedSize: 16 + 24 + 100*24}, true},
		{"no size limit", str, Limits{MaxDecodedSize: -1}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, order := range []bool{false, true} {
				v, err := DecodeWith([]byte(tt.in), DecodeOptions{Limits: tt.lim, KeepOrder: order})
				if tt.ok && err != nil {
					t.Fatalf("KeepOrder %v: %v", order, err)
				}
				if !tt.ok {
					var de *DecodeError
					if !errors.Is(err, ErrLimit) || !errors.As(err, &de) {
						t.Fatalf("KeepOrder %v: got %v, %v; want a *DecodeError wrapping ErrLimit", order, v, err)
					}
				}
			}
			if strings.Contains(tt.in, "__jsonclass__") {
				return
			}
			// The msgpack decoder agrees.
			full, err := DecodeWith([]byte(tt.in), DecodeOptions{Limits: Limits{MaxDepth: 2000}})
			if err != nil {
				t.Fatal(err)
			}
			b, err := AppendMsgpack(nil, full)
			if err != nil {
				t.Fatal(err)
			}
			d := MsgpackDecoder{Limits: tt.lim}
			if _, _, err := d.Decode(b); (err == nil) != tt.ok {
				t.Errorf("msgpack decoder: %v, text decoder ok %v", err, tt.ok)
			}
		})
	}
}

// FuzzDecodeWithLimits: under small limits, DecodeWith either refuses
// with a *DecodeError or returns a value within them (depth, decoded
// size).
func FuzzDecodeWithLimits(f *testing.F) {
	for _, l := range allRecordedLines(f) {
		f.Add([]byte(l))
	}
	f.Add([]byte(nestedLists(12)))
	f.Add([]byte(`{"__jsonclass__":["tuple",[[{"__jsonclass__":["set",[[[1]]]]}]]]}`))
	f.Add([]byte(`"` + strings.Repeat("x", 5000) + `"`))
	lim := Limits{MaxDepth: 8, MaxDecodedSize: 4096}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := DecodeWith(data, DecodeOptions{Limits: lim})
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is %T, not *DecodeError", err, err)
			}
			return
		}
		if !withinDepth(v, 0, lim.MaxDepth) {
			t.Fatalf("%q: a value deeper than %d", data, lim.MaxDepth)
		}
		if n := SizeOf(v); n > lim.MaxDecodedSize {
			t.Fatalf("%q: decoded size %d over %d", data, n, lim.MaxDecodedSize)
		}
	})
}
