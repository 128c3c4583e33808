package pyon

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// TestPackedAnyList: a []any of at least minPackedList elements, all
// int64 or all float64, is written packed and decodes to the same []any;
// shorter or mixed lists are written as msgpack arrays.
func TestPackedAnyList(t *testing.T) {
	ints := func(n int) []any {
		l := make([]any, n)
		for i := range l {
			l[i] = int64(i*7919 - 50)
		}
		return l
	}
	floats := func(n int) []any {
		l := make([]any, n)
		for i := range l {
			l[i] = float64(i) / 3
		}
		return l
	}
	mixed := append(ints(20), 1.5)
	plainInt := append(ints(20), 3) // an int, not an int64
	tests := []struct {
		name string
		v    []any
		ext  int8 // 0: an array
	}{
		{"ints 16", ints(16), ExtPackedInt64},
		{"ints 1000", ints(1000), ExtPackedInt64},
		{"floats 16", floats(16), ExtPackedFloat64},
		{"ints 15", ints(15), 0},
		{"floats 15", floats(15), 0},
		{"mixed", mixed, 0},
		{"int among int64", plainInt, 0},
		{"nested", []any{ints(16)}, 0},
		{"empty", []any{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := AppendMsgpack(nil, tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if tt.ext != 0 {
				// ext 32 header: 0xc9, 4-byte length, type.
				if b[0] != 0xc7 && b[0] != 0xc8 && b[0] != 0xc9 {
					t.Fatalf("not an ext: % x", b[:min(len(b), 8)])
				}
				if got := int8(b[map[byte]int{0xc7: 2, 0xc8: 3, 0xc9: 5}[b[0]]]); got != tt.ext {
					t.Fatalf("ext type %d, want %d", got, tt.ext)
				}
			} else if b[0]&0xf0 != 0x90 && b[0] != 0xdc {
				t.Fatalf("not an array: % x", b[:min(len(b), 8)])
			}
			var d MsgpackDecoder
			got, n, err := d.Decode(b)
			if err != nil || n != len(b) {
				t.Fatalf("Decode: %v (%d of %d bytes)", err, n, len(b))
			}
			want := any(tt.v)
			if tt.name == "int among int64" {
				l := append([]any(nil), tt.v...)
				l[len(l)-1] = int64(3)
				want = l
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip: %v, want %v", got, want)
			}
			// EncodeMsgpackValue writes the same bytes.
			var buf bytes.Buffer
			if err := EncodeMsgpackValue(msgpack.NewEncoder(&buf), tt.v); err != nil || buf.String() != string(b) {
				t.Fatalf("EncodeMsgpackValue differs from AppendMsgpack: %v", err)
			}
		})
	}
	// Inside a nested list the inner one is packed.
	b, _ := AppendMsgpack(nil, []any{ints(16)})
	if b[0] != 0x91 || b[1] != 0xc7 && b[1] != 0xc8 {
		t.Fatalf("nested: % x", b[:4])
	}
}
