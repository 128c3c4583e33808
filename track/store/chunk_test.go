package store

import (
	"reflect"
	"testing"
)

func TestChunkRoundTrip(t *testing.T) {
	for _, c := range []Chunk{
		{Seq: []int64{1, 2, 9}, Step: []int64{0, -5, 1 << 40}, Time: []int64{100, 50, 1e18}, Value: []float64{1.5, -2, 0}},
		{Seq: []int64{3}, Step: []int64{7}, Time: []int64{1}, Values: [][]byte{{0x91, 0x01}}},
	} {
		var got Chunk
		if !c.Scalar() {
			got.Values = [][]byte{}
		}
		if err := DecodeChunk(c.AppendEncoded(nil), &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("got %+v, want %+v", got, c)
		}
	}
}

// FuzzDecodeChunk: any input decodes or fails without allocating more
// than a small multiple of its size.
func FuzzDecodeChunk(f *testing.F) {
	good := (&Chunk{Seq: []int64{1, 2}, Step: []int64{1, 2}, Time: []int64{1, 2}, Value: []float64{1, 2}}).AppendEncoded(nil)
	f.Add(good)
	f.Add((&Chunk{Seq: []int64{1}, Step: []int64{1}, Time: []int64{1}, Values: [][]byte{{1}}}).AppendEncoded(nil))
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Chunk
		err := DecodeChunk(b, &c)
		if c.Len() > len(b) {
			t.Fatalf("%d points from %d bytes", c.Len(), len(b))
		}
		if err == nil {
			again := c.AppendEncoded(nil)
			var c2 Chunk
			if !c.Scalar() {
				c2.Values = [][]byte{}
			}
			if err := DecodeChunk(again, &c2); err != nil || c2.Len() != c.Len() {
				t.Fatalf("re-decoding: %v", err)
			}
		}
	})
}
