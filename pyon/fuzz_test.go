package pyon

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"
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

// checkBounds fails when decode allocated more than perByte per input byte
// plus slack, or took longer than a second.
func checkBounds(t *testing.T, data []byte, perByte, slack uint64, decode func()) {
	t.Helper()
	start := time.Now()
	allocs := allocBytes(decode)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("decoding %d bytes took %v", len(data), d)
	}
	if max := perByte*uint64(len(data)) + slack; allocs > max {
		t.Errorf("decoding %d bytes allocated %d (max %d)", len(data), allocs, max)
	}
}

// FuzzDecodeBounds: PYON text costs at most a bounded multiple of its size
// to decode, in memory and time.
func FuzzDecodeBounds(f *testing.F) {
	for _, l := range allRecordedLines(f) {
		f.Add([]byte(l))
	}
	f.Add([]byte("[" + strings.Repeat("9", 5000) + "]"))
	f.Add([]byte(`{"__jsonclass__":["nparray",[[2147483647,0],"<f8",""]]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkBounds(t, data, 256, 1<<20, func() { Decode(data) })
	})
}

// FuzzDecodeMsgpack: the msgpack decoder never panics, fails with
// ErrMalformed or ErrLimit, allocates at most a bounded multiple of its
// input, and what it accepts encodes and decodes back to the same value.
// Seeds (testdata/fuzz/FuzzDecodeMsgpack) include bin32, str32 and ext32
// headers announcing gigabytes.
func FuzzDecodeMsgpack(f *testing.F) {
	for _, s := range [][]byte{
		{0xc6, 0xff, 0xff, 0xff, 0xff, 1},
		{0xdb, 0x7f, 0xff, 0xff, 0xff, 'a'},
		{0xc9, 0x7f, 0xff, 0xff, 0xff, 7, 0x93},
		{0xdd, 0xff, 0xff, 0xff, 0xff},
		{0xdf, 0x00, 0xff, 0xff, 0xff, 0xc0},
	} {
		f.Add(s)
	}
	for _, v := range []any{
		Tuple{int64(1), Set{Items: []any{"a"}, Frozen: true}}, complex(1, 2),
		bigOfString("-123456789012345678901234567890"), *NewFraction(1, 3),
		NDArray{Shape: []int{2, 0}, DType: "<f8", Data: []byte{}}, FromInt64s([]int64{1, 2}),
		NPScalar{DType: "<i2", Data: []byte{1, 0}}, OrderedDict{{int64(1), nil}},
		Dict{{Tuple{}, 1.5}}, Slice{Stop: int64(3)}, map[string]any{"a": []any{}}, []byte{0xff},
	} {
		b, err := AppendMsgpack(nil, v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var (
			v   any
			err error
		)
		checkBounds(t, data, 128, 64<<10, func() { v, err = DecodeMsgpack(data) })
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrLimit) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrLimit", err)
			}
			return
		}
		b, err := AppendMsgpack(nil, v)
		if err != nil {
			t.Fatalf("AppendMsgpack(DecodeMsgpack(% x)): %v", data, err)
		}
		v2, err := DecodeMsgpack(b)
		if err != nil {
			t.Fatalf("re-decoding % x: %v", b, err)
		}
		if !equal(v, v2) {
			t.Fatalf("round trip of % x changed the value:\n%#v\n%#v", data, v, v2)
		}
		Repr(v)
	})
}

// FuzzShapes: any numpy shape and dtype with any amount of data is either
// refused or converts within a bounded multiple of the data present —
// including empty arrays with huge shapes.
func FuzzShapes(f *testing.F) {
	f.Add("<f8", []byte{0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0}, uint16(0))
	f.Add("<i4", []byte{0, 0, 0, 2, 0, 0, 0, 3}, uint16(24))
	f.Add("|b1", []byte{0, 0, 0, 0}, uint16(0))
	f.Add(">c16", []byte{0, 0, 0, 1}, uint16(16))
	f.Add("<U3", []byte{0, 0, 0, 1}, uint16(12))
	f.Add("<M8[s]", []byte{}, uint16(8))
	f.Fuzz(func(t *testing.T, dt string, shapeBytes []byte, n uint16) {
		shape := make([]int, 0, len(shapeBytes)/4)
		for i := 0; i+4 <= len(shapeBytes) && len(shape) < 40; i += 4 {
			shape = append(shape, int(int32(binary.BigEndian.Uint32(shapeBytes[i:]))))
		}
		a := NDArray{Shape: shape, DType: dt, Data: make([]byte, n)}
		msg, _ := AppendMsgpack(nil, a)
		checkBounds(t, shapeBytes, 64, 64*uint64(n)+1<<20, func() {
			if msg != nil {
				DecodeMsgpack(msg)
			}
			if a.Validate() != nil {
				return
			}
			a.ToList()
			Repr(a)
			for _, dst := range []any{new([][]float64), new([]int), new([]float64), new([][]int), new([]bool)} {
				Convert(a, dst)
			}
		})
	})
}
