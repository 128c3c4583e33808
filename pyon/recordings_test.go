package pyon

import (
	"bufio"
	"encoding/json"
	"math"
	"math/big"
	"os"
	"reflect"
	"strings"
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

// TestRecordedEcho checks the Go value of PYON types as SiPyCo's client
// sent them in the recorded echo calls (session rpc_values, case
// echo_<name>), and that the server's reply holds the same value.
func TestRecordedEcho(t *testing.T) {
	cases := recordedEchoes(t)
	if len(cases) < 90 {
		t.Fatalf("only %d echo cases in the recording", len(cases))
	}
	f32, _ := ScalarOf(float32(0.1))
	big100 := new(big.Int).Lsh(big.NewInt(1), 100)
	for _, tt := range []struct {
		name string
		want any
	}{
		{"none", nil},
		{"true", true},
		{"int_neg", int64(-7)},
		{"int64_min", int64(math.MinInt64)},
		{"uint64_max", new(big.Int).SetUint64(math.MaxUint64)},
		{"int_2pow100", big100},
		{"float_one", 1.0},
		{"float_1e16", 1e16},
		{"float_negzero", math.Copysign(0, -1)},
		{"float_denorm", 5e-324},
		{"float_inf", math.Inf(1)},
		{"float_nan", math.NaN()},
		{"complex", complex(1, 2)},
		{"complex_negzero", complex(0, math.Copysign(0, -1))},
		{"str_escapes", "tab\tnl\ncr\rquote\"bs\\nul\x00del\x7f ls\u2028 ps\u2029"},
		{"bytes", []byte("\x00\xff\x80abc\n")},
		{"bytes_empty", []byte{}},
		{"tuple", Tuple{int64(1), "a", Tuple{int64(2), 3.5}, []any{}}},
		{"tuple_empty", Tuple{}},
		{"tuple_single", Tuple{int64(10)}},
		{"list_of_tuples", []any{Tuple{int64(1), int64(2)}, Tuple{int64(3)}, Tuple{}}},
		{"dict_str_keys", map[string]any{"zeta": int64(1), "alpha": []any{int64(1), int64(2)}, "": nil, "mid": map[string]any{"x": int64(1)}}},
		{"dict_int_keys", Dict{{int64(1), "a"}, {int64(2), "b"}, {int64(-3), "c"}}},
		{"dict_tuple_keys", Dict{{Tuple{int64(1), int64(2)}, "a"}, {Tuple{int64(3), "x"}, []any{int64(1)}}, {Tuple{}, int64(0)}}},
		{"dict_mixed_keys", Dict{{int64(1), "a"}, {"b", int64(2)}, {nil, int64(3)}, {2.5, int64(4)}, {Tuple{int64(1)}, int64(6)}, {[]byte("k"), int64(7)}, {false, int64(8)}}},
		{"set_str", Set{Items: []any{"c", "a", "b"}}},
		{"set_mixed", Set{Items: []any{3.5, Tuple{int64(1), int64(2)}, "a", nil}}},
		{"set_empty", Set{}},
		// SiPyCo writes an OrderedDict as a plain object: Decode gives a map.
		{"ordered_dict", map[string]any{"z": int64(1), "a": int64(2), "m": []any{int64(3)}}},
		{"ordered_dict_int_keys", Dict{{int64(2), "two"}, {int64(1), "one"}}},
		{"fraction_neg", NewFraction(-7, 2)},
		{"slice", Slice{Start: int64(1), Stop: int64(10), Step: int64(2)}},
		{"slice_none", Slice{Stop: int64(5)}},
		{"arr_2d_f8", mustArray(FromFloat64s2D([][]float64{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9, 10, 11}}))},
		{"arr_0d_i8", NDArray{Shape: []int{}, DType: "<i8", Data: []byte{5, 0, 0, 0, 0, 0, 0, 0}}},
		{"arr_big_endian_i4", NDArray{Shape: []int{2}, DType: ">i4", Data: []byte{0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe}}},
		{"np_int32", mustScalar(ScalarOf(int32(42)))},
		{"np_float32", f32},
		{"np_float64", 9.0}, // numpy's float64 is a Python float subclass: plain float on the wire
		{"np_datetime64", NPScalar{DType: "<M8[s]", Data: make([]byte, 8)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := cases[tt.name]
			if !ok {
				t.Fatalf("no case echo_%s in the recording", tt.name)
			}
			if !equal(c.arg, tt.want) {
				t.Errorf("argument %#v, want %#v", c.arg, tt.want)
			}
		})
	}
	for name, c := range cases {
		if !equal(c.arg, c.ret) && !sameSet(c.arg, c.ret) {
			t.Errorf("echo_%s: reply %#v, want the argument %#v", name, c.ret, c.arg)
		}
	}
}

func mustArray(a NDArray, err error) NDArray {
	if err != nil {
		panic(err)
	}
	return a
}

func mustScalar(s NPScalar, err error) NPScalar {
	if err != nil {
		panic(err)
	}
	return s
}

type recordedEcho struct{ arg, ret any }

// recordedEchoes decodes the echo calls of session rpc_values: the
// request's args[0] and the reply's ret, by case name without "echo_".
func recordedEchoes(t *testing.T) map[string]recordedEcho {
	t.Helper()
	f, err := os.Open("testdata/sipyco_pc_rpc.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	text := map[[2]string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<22)
	for sc.Scan() {
		var rec struct{ Session, Case, Dir, Data string }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Session == "rpc_values" && strings.HasPrefix(rec.Case, "echo_") {
			text[[2]string{strings.TrimPrefix(rec.Case, "echo_"), rec.Dir}] += rec.Data
		}
	}
	out := map[string]recordedEcho{}
	for k, req := range text {
		if k[1] != "client" {
			continue
		}
		rv, err := DecodeString(req)
		if err != nil {
			t.Fatalf("echo_%s: %v", k[0], err)
		}
		rep, err := DecodeString(text[[2]string{k[0], "server"}])
		if err != nil {
			t.Fatalf("echo_%s reply: %v", k[0], err)
		}
		args, _ := rv.(map[string]any)["args"].(Tuple)
		if len(args) != 1 {
			t.Fatalf("echo_%s: args %#v", k[0], rv)
		}
		out[k[0]] = recordedEcho{args[0], rep.(map[string]any)["ret"]}
	}
	return out
}

// TestRecordedNumpy checks the typed conversions of recorded arrays and
// scalars.
func TestRecordedNumpy(t *testing.T) {
	cases := recordedEchoes(t)
	arr := cases["arr_2d_f8"].arg.(NDArray)
	if rows, err := arr.Float64s2D(); err != nil || !reflect.DeepEqual(rows, [][]float64{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9, 10, 11}}) {
		t.Errorf("recorded 3x4 array = %v, %v", rows, err)
	}
	if v, err := cases["arr_big_endian_i4"].arg.(NDArray).Int64s(); err != nil || !reflect.DeepEqual(v, []int64{1, -2}) {
		t.Errorf("recorded >i4 array = %v, %v", v, err)
	}
	if v, err := cases["arr_f8_10000"].arg.(NDArray).Float64s(); err != nil || len(v) != 10000 {
		t.Errorf("recorded 10000-element array: %d elements, %v", len(v), err)
	}
	for name, want := range map[string]any{
		"np_int32": int64(42), "np_uint64": uint64(math.MaxUint64), "np_int8": int64(-5),
		"np_bool": true, "np_bytes": []byte("ab"), "np_complex128": complex(0, 1),
	} {
		if v, err := cases[name].arg.(NPScalar).Value(); err != nil || !equal(v, want) {
			t.Errorf("recorded %s = %#v, %v; want %#v", name, v, err, want)
		}
	}
}

// sameSet compares two sets regardless of order (CPython iterates a set
// in hash order, which differs between the two processes for strings).
func sameSet(a, b any) bool {
	x, ok1 := a.(Set)
	y, ok2 := b.(Set)
	if !ok1 || !ok2 || len(x.Items) != len(y.Items) {
		return false
	}
	used := make([]bool, len(y.Items))
next:
	for _, e := range x.Items {
		for j, f := range y.Items {
			if !used[j] && equal(e, f) {
				used[j] = true
				continue next
			}
		}
		return false
	}
	return true
}
