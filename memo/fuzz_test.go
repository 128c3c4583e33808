package memo

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"runtime"
	"testing"
	"time"
)

// withinBounds runs f and fails if it allocates more than a small multiple
// of n bytes (plus a constant) or takes more than a second.
func withinBounds(t *testing.T, n int, f func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(128*n+256<<10) {
		t.Fatalf("%d bytes allocated for %d bytes of input", alloc, n)
	}
	if elapsed > time.Second {
		t.Fatalf("took %v for %d bytes", elapsed, n)
	}
}

func fileSeeds(f *testing.F) {
	for _, v := range []any{[]float64{1, 2}, [][]float64{{1}, {2}}, map[string]any{"a": []any{1, "x", 2.5}}, "s", complex(1, 2), nil,
		map[string]any{"x": []float64{1, 2}, "y": []int32{3}}, [][]float64{{1}, {2, 3}}} {
		b, _, err := encodeFile(&Entry{Key: Key{"f", "1"}, Value: v, Computed: time.Unix(1, 0)})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// withTrailer makes b a file with a valid trailer, so the fuzzer reaches
// the decoders behind the checksum: the last byte says where meta starts.
func withTrailer(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	split := int(b[len(b)-1]) % len(b)
	b = b[:len(b)-1]
	if split > len(b) {
		split = len(b)
	}
	out := append([]byte(nil), b...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(b)-split))
	out = binary.LittleEndian.AppendUint32(out, crc32.Checksum(out, castagnoli))
	return append(out, fileMagic...)
}

func FuzzDecodeFile(f *testing.F) {
	fileSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, in := range [][]byte{b, withTrailer(b)} {
			withinBounds(t, len(in), func() {
				e, err := decodeFile(in)
				if err == nil && e == nil {
					t.Fatal("nil entry without error")
				}
			})
		}
	})
}

func FuzzReadNPY(f *testing.F) {
	var buf = newBuf()
	writeNPY(buf, array{shape: []int{2, 1}, dtype: "<f8", data: make([]byte, 16)})
	f.Add(buf.Bytes())
	f.Add([]byte("\x93NUMPY\x01\x00\x30\x00{'descr': '<i4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }"))
	f.Fuzz(func(t *testing.T, b []byte) {
		withinBounds(t, len(b), func() {
			a, err := readNPY(b)
			if err == nil {
				if _, err := arrayValue(a); err == nil && len(a.data) > len(b) {
					t.Fatal("data beyond the input")
				}
			}
		})
	})
}

func FuzzDecodeMsgpack(f *testing.F) {
	for _, s := range []string{"\x93\x01\xa1x\xcb\x40\x04\x00\x00\x00\x00\x00\x00", "\xdd\xff\xff\xff\xff", "\xdf\x7f\xff\xff\xff", "\xdb\xff\xff\xff\xff", "\x81\x01\x02"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		withinBounds(t, len(b), func() {
			decodeMsgpack(b)
		})
	})
}

func newBuf() *bytes.Buffer { return new(bytes.Buffer) }
