package pyon

import (
	"math"
	"math/big"
	"reflect"
	"testing"
)

// TestRecordingsRoundTrip decodes every PYON line SiPyCo sent in the
// recordings, encodes the value again and checks that the result is the
// same JSON as SiPyCo's, number texts included (key order aside), and
// decodes to the same value.
func TestRecordingsRoundTrip(t *testing.T) {
	lines := allRecordedLines(t)
	if len(lines) < 20 {
		t.Fatalf("only %d PYON lines found in the recordings", len(lines))
	}
	for _, line := range lines {
		v, err := Decode([]byte(line))
		if err != nil {
			t.Errorf("Decode(%s): %v", line, err)
			continue
		}
		out, err := Encode(v)
		if err != nil {
			t.Errorf("Encode(Decode(%s)): %v", line, err)
			continue
		}
		if got, want := jsonTree(t, string(out)), jsonTree(t, line); !reflect.DeepEqual(got, want) {
			t.Errorf("re-encoding differs from SiPyCo's:\n got %s\nwant %s", out, line)
		}
		v2, err := Decode(out)
		if err != nil || !equal(v, v2) {
			t.Errorf("Decode(Encode(v)) = %#v, %v; want %#v", v2, err, v)
		}
	}
}

// TestRecordedEcho checks the Go value of every PYON type in the recorded
// echo call.
func TestRecordedEcho(t *testing.T) {
	var echo map[string]any
	for _, line := range recordedLines(t, "sipyco_pc_rpc.jsonl") {
		v, err := Decode([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		m, _ := v.(map[string]any)
		if m["name"] == "echo" && echo == nil {
			echo = m
		}
	}
	if echo == nil {
		t.Fatal("no echo call in the recording")
	}
	args, ok := echo["args"].(Tuple)
	if !ok || len(args) != 1 {
		t.Fatalf("args = %#v, want a 1-tuple", echo["args"])
	}
	if kw, ok := echo["kwargs"].(map[string]any); !ok || len(kw) != 0 {
		t.Fatalf("kwargs = %#v", echo["kwargs"])
	}
	big70 := new(big.Int).Lsh(big.NewInt(1), 70)
	want := []any{
		int64(1), 2.5, nil, true, false, "ab\nx\"'",
		Dict{{"a", int64(5)}, {int64(2), "int key"}},
		Tuple{int64(4), int64(5)},
		Tuple{int64(10)},
		Set{Items: []any{int64(1), int64(2)}},
		[]byte("\x00\xffbytes"),
		complex(1, 2),
		NewFraction(1, 3),
		map[string]any{"z": int64(1), "a": int64(2)},
		big70,
		int64(-7),
		1e300,
		math.Inf(1),
	}
	got, ok := args[0].([]any)
	if !ok || len(got) != len(want) {
		t.Fatalf("echo argument = %#v", args[0])
	}
	for i := range want {
		if !equal(got[i], want[i]) {
			t.Errorf("element %d = %#v (%T), want %#v (%T)", i, got[i], got[i], want[i], want[i])
		}
	}
}

func TestRecordedNumpy(t *testing.T) {
	var arr NDArray
	var scalar NPScalar
	for _, line := range recordedLines(t, "sipyco_pc_rpc.jsonl") {
		v, _ := Decode([]byte(line))
		m, _ := v.(map[string]any)
		switch x := m["ret"].(type) {
		case NDArray:
			arr = x
		case NPScalar:
			scalar = x
		}
	}
	rows, err := arr.Float64s2D()
	if err != nil || !reflect.DeepEqual(rows, [][]float64{{1, 2}, {3, 4}}) {
		t.Errorf("recorded array = %v, %v", rows, err)
	}
	if v, err := scalar.Value(); err != nil || v != int64(7) {
		t.Errorf("recorded np.int32(7) = %#v, %v", v, err)
	}
	if s, _ := ScalarOf(int32(7)); !equal(s.Data, scalar.Data) || s.DType != scalar.DType {
		t.Errorf("ScalarOf(int32(7)) = %v, want %v", s, scalar)
	}
	a, _ := FromFloat64s2D([][]float64{{1, 2}, {3, 4}})
	if !equal(a, arr) {
		t.Errorf("FromFloat64s2D = %#v, want %#v", a, arr)
	}
}
