package track

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/sigoco/sigoco/track/store"
)

func TestSpoolFrames(t *testing.T) {
	b := &wireBatch{Batch: store.Batch{Run: "r", Records: []store.Record{{Seq: 1, Kind: store.KindNote, Value: "n"}}},
		Keys: []string{"x"}, Key: []int64{0, 0}, Seq: []int64{2, 3}, Step: []int64{5, 6}, Time: []int64{7, 8}, Value: []float64{0.5, -1}}
	buf, err := appendSpoolFrame(nil, b)
	if err != nil {
		t.Fatal(err)
	}
	buf, _ = appendSpoolFrame(buf, b)
	sr := newSpoolReader(bytes.NewReader(buf))
	for range 2 {
		got, err := sr.next()
		if err != nil || got.maxSeq() != 3 || got.minSeq() != 1 || got.Value[1] != -1 || got.Keys[0] != "x" {
			t.Fatalf("%v %+v", err, got)
		}
	}
	if _, err := sr.next(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	l := len(buf) / 2 // two frames of one length
	for _, cut := range []int{3, 9, l - 1} {
		sr := newSpoolReader(bytes.NewReader(buf[:l+cut]))
		if _, err := sr.next(); err != nil {
			t.Fatal(err)
		}
		if _, err := sr.next(); !errors.Is(err, ErrSpoolCorrupt) {
			t.Fatalf("cut %d: %v", cut, err)
		}
	}
	bad := append([]byte(nil), buf...)
	bad[20] ^= 0xff
	if _, err := newSpoolReader(bytes.NewReader(bad)).next(); !errors.Is(err, ErrSpoolCorrupt) {
		t.Fatalf("flipped byte: %v", err)
	}
}

// FuzzSpoolReader: a damaged spool is an error, never a panic, and costs
// memory only for what is in it.
func FuzzSpoolReader(f *testing.F) {
	b := &wireBatch{Batch: store.Batch{Run: "r"}, Keys: []string{"x"}, Key: []int64{0}, Seq: []int64{1}, Step: []int64{1}, Time: []int64{1}, Value: []float64{1}}
	good, _ := appendSpoolFrame(nil, b)
	f.Add(good)
	f.Add([]byte{0, 0, 0, 4, 0, 0, 0, 0, 1, 2, 3, 4})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		sr := newSpoolReader(bytes.NewReader(data))
		for range 100 {
			b, err := sr.next()
			if err != nil {
				return
			}
			if len(b.Seq) > len(data) {
				t.Fatalf("%d points from %d bytes", len(b.Seq), len(data))
			}
		}
	})
}
