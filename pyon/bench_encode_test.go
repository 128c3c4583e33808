package pyon

import (
	"bytes"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

type benchRow struct {
	ID        int64
	Name      string
	Gain      float64
	On        bool
	T         [2]float64
	OmegaRate float32 `json:"omega"`
}

func benchStructs() any {
	rows := make([]benchRow, 100)
	for i := range rows {
		rows[i] = benchRow{ID: int64(i), Name: "channel", Gain: 1.5, On: true, T: [2]float64{float64(i), 2.5}}
	}
	return struct {
		Rows []benchRow
		Meta map[string]int
	}{rows, map[string]int{"n": 100}}
}

// BenchmarkEncode: the PYON text of the generic tree (the hot path: what
// decoders give and rpc echoes) and of the same data as Go structs (the
// reflect walk).
func BenchmarkEncode(b *testing.B) {
	for _, c := range []struct {
		name string
		v    any
	}{{"Tree", benchTree()}, {"Struct", benchStructs()}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			for range b.N {
				var err error
				if buf, err = Append(buf[:0], c.v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMsgpackStruct: Go structs written in the msgpack mapping (the
// reflect walk behind EncodeMsgpackValue).
func BenchmarkMsgpackStruct(b *testing.B) {
	v := benchStructs()
	b.ReportAllocs()
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	for range b.N {
		buf.Reset()
		if err := EncodeMsgpackValue(enc, v); err != nil {
			b.Fatal(err)
		}
	}
}
