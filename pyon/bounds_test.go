package pyon

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// hugeEmpty is issue 9's array: no element, but 2^31-1 rows.
var hugeEmpty = NDArray{Shape: []int{math.MaxInt32, 0}, DType: "<f8", Data: []byte{}}

// TestHugeEmptyArray: converting an empty array with a huge shape is an
// error, not an out-of-memory crash, on every conversion path.
func TestHugeEmptyArray(t *testing.T) {
	for _, tc := range []struct {
		name string
		dst  any
	}{
		{"[][]float64", new([][]float64)},
		{"[]int", new([]int)},
		{"[][]int", new([][]int)},
		{"any", new(any)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			allocs := allocBytes(func() { err = Convert(hugeEmpty, tc.dst) })
			if tc.name == "any" {
				if err != nil {
					t.Fatal(err) // into `any` the array is kept as is
				}
				return
			}
			if err == nil {
				t.Fatal("converted")
			}
			if allocs > 1<<20 {
				t.Errorf("allocated %d bytes", allocs)
			}
		})
	}
	if _, err := hugeEmpty.ToList(); !errors.Is(err, ErrLimit) {
		t.Errorf("ToList: %v", err)
	}
	if err := hugeEmpty.Validate(); !errors.Is(err, ErrLimit) {
		t.Errorf("Validate: %v", err)
	}
	ok := NDArray{Shape: []int{maxEmptyCells, 0}, DType: "<f8", Data: []byte{}}
	if err := ok.Validate(); err != nil {
		t.Errorf("shape %v: %v", ok.Shape, err)
	}
	// The same array in PYON text, as a SiPyCo peer sends it.
	text, err := Encode(NDArray{Shape: []int{3, 0}, DType: "<f8", Data: []byte{}})
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(text), "[3,0]", "[2147483647,0]", 1)
	if bad == string(text) {
		t.Fatalf("no shape in %s", text)
	}
	if _, err := Decode([]byte(bad)); !errors.Is(err, ErrLimit) {
		t.Errorf("Decode %s: %v", bad, err)
	}
}

// TestIntDigits: PYON integers are bounded like Python's int().
func TestIntDigits(t *testing.T) {
	ok := strings.Repeat("9", DefaultLimits.MaxIntDigits)
	if _, err := Decode([]byte(ok)); err != nil {
		t.Errorf("%d digits: %v", len(ok), err)
	}
	if _, err := Decode([]byte("-" + ok)); err != nil {
		t.Errorf("-%d digits: %v", len(ok), err)
	}
	for _, s := range []string{ok + "9", "[" + strings.Repeat("1", 1_000_000) + "]"} {
		var err error
		allocs := allocBytes(func() { _, err = Decode([]byte(s)) })
		if !errors.Is(err, ErrLimit) {
			t.Errorf("%d digits: %v", len(s), err)
		}
		if allocs > 16*uint64(len(s))+1<<16 {
			t.Errorf("%d digits: allocated %d", len(s), allocs)
		}
	}
}
