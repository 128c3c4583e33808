package pyon

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// testdata/numpy_repr.jsonl holds arrays and the repr real numpy (1.24,
// default print options) gives them; Repr must write the same.
func TestReprNumpyArrays(t *testing.T) {
	f, err := os.Open("testdata/numpy_repr.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		var c struct {
			Name, DType, Data, Repr string
			Shape                   []int
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		data, err := hex.DecodeString(c.Data)
		if err != nil {
			t.Fatal(err)
		}
		n++
		if got := Repr(NDArray{Shape: c.Shape, DType: c.DType, Data: data}); got != c.Repr {
			t.Errorf("%s:\n%s\nwant (numpy)\n%s", c.Name, got, c.Repr)
		}
	}
	if n < 20 {
		t.Fatalf("only %d cases", n)
	}
}

func TestReprNumpyScalars(t *testing.T) {
	for _, tt := range []struct {
		s    NPScalar
		want string
	}{
		{NPScalar{DType: "<M8[s]", Data: make([]byte, 8)}, "np.datetime64('1970-01-01T00:00:00')"},
		{NPScalar{DType: "<M8[D]", Data: []byte{1, 0, 0, 0, 0, 0, 0, 0}}, "np.datetime64('1970-01-02')"},
		{NPScalar{DType: "<M8[ms]", Data: []byte{1, 0, 0, 0, 0, 0, 0, 0}}, "np.datetime64('1970-01-01T00:00:00.001')"},
		{NPScalar{DType: "<M8[s]", Data: []byte{0, 0, 0, 0, 0, 0, 0, 0x80}}, "np.datetime64('NaT')"},
		{NPScalar{DType: "<m8[ms]", Data: []byte{5, 0, 0, 0, 0, 0, 0, 0}}, "np.timedelta64(5,'ms')"},
		{NPScalar{DType: "|b1", Data: []byte{0}}, "np.False_"},
		{NPScalar{DType: "<i4", Data: []byte{7, 0, 0, 0}}, "np.int32(7)"},
	} {
		if got := Repr(tt.s); got != tt.want {
			t.Errorf("Repr(%v) = %s, want %s", tt.s, got, tt.want)
		}
	}
}
