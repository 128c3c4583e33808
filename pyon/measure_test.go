package pyon

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestMeasureAmplification prints decode cost per input byte (run with
// PYON_MEASURE=1).
func TestMeasureAmplification(t *testing.T) {
	if os.Getenv("PYON_MEASURE") == "" {
		t.Skip("set PYON_MEASURE=1")
	}
	const n = 1 << 20
	ints := make([]any, n)
	floats := make([]any, n)
	strs := make([]any, n)
	m := make(map[string]any, n)
	for i := range ints {
		ints[i] = int64(i)
		floats[i] = float64(i) + 0.5
		strs[i] = "ab"
		m[fmt.Sprint(i)] = nil
	}
	for name, v := range map[string]any{"ints": ints, "floats": floats, "strs": strs, "map": m, "nils": make([]any, n)} {
		b, _ := AppendMsgpack(nil, v)
		var d MsgpackDecoder
		d.Limits.MaxDecodedSize = -1
		allocs := allocBytes(func() { d.Decode(b) })
		txt, _ := Encode(v)
		tallocs := allocBytes(func() { Decode(txt) })
		fmt.Printf("%-6s msgpack %8d B: alloc %5.1f×, SizeOf %5.1f×   PYON text %8d B: alloc %5.1f×\n",
			name, len(b), float64(allocs)/float64(len(b)), float64(d.Used)/float64(len(b)), len(txt), float64(tallocs)/float64(len(txt)))
	}
	_ = strings.Repeat
}
