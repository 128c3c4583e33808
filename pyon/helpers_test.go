package pyon

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// notPYONv2 are the recorded sessions whose lines are not PYON v2 by
// design (see ../shared/sipyco-wire/README.md): their client lines are
// what a SiPyCo server refuses, or the whole connection speaks PYON v1.
var notPYONv2 = map[string]string{
	"rpc_pyon_v1_raw":                      "PYON v1 after the identification",
	"rpc_int_over_4300_digits_request_raw": "a 4301-digit int, past Python's int() limit",
	"rpc_unknown_jsonclass_raw":            "a frozenset class, which SiPyCo's decoder lacks",
	"rpc_undecodable_request_raw":          "not JSON",
}

// recordedLines returns every PYON line of a recording in testdata/: the
// chunks of each (session, conn, dir) joined, split into lines, banner and
// target lines (which are not JSON) left out, and the sessions of
// notPYONv2 too.
func recordedLines(t testing.TB, name string) []string {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type stream struct {
		session string
		conn    int
		dir     string
	}
	var order []stream
	streams := map[stream]*strings.Builder{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<22)
	for sc.Scan() {
		var rec struct {
			Session, Dir, Data string
			Conn               int
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		if _, skip := notPYONv2[rec.Session]; skip || rec.Session == "" {
			continue
		}
		k := stream{rec.Session, rec.Conn, rec.Dir}
		if streams[k] == nil {
			streams[k] = &strings.Builder{}
			order = append(order, k)
		}
		streams[k].WriteString(rec.Data)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, k := range order {
		for _, l := range strings.Split(streams[k].String(), "\n") {
			if strings.HasPrefix(l, "{") || strings.HasPrefix(l, "[") {
				lines = append(lines, l)
			}
		}
	}
	return lines
}

func allRecordedLines(t testing.TB) []string {
	return append(recordedLines(t, "sipyco_pc_rpc.jsonl"), recordedLines(t, "sipyco_sync_struct.jsonl")...)
}

// equal compares decoded values: NaN equals NaN, big numbers by value, and
// a frozenset equals a set (Encode writes both as "set").
func equal(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (x == y && math.Signbit(x) == math.Signbit(y) || math.IsNaN(x) && math.IsNaN(y))
	case complex128:
		y, ok := b.(complex128)
		return ok && equal(real(x), real(y)) && equal(imag(x), imag(y))
	case *big.Int:
		y, ok := b.(*big.Int)
		return ok && x.Cmp(y) == 0
	case *Fraction:
		y, ok := b.(*Fraction)
		return ok && x.Cmp(&y.Rat) == 0
	case Fraction:
		y, ok := b.(Fraction)
		return ok && x.Cmp(&y.Rat) == 0
	case []any:
		y, ok := b.([]any)
		return ok && equalSlices(x, y)
	case Tuple:
		y, ok := b.(Tuple)
		return ok && equalSlices(x, y)
	case Set:
		y, ok := b.(Set)
		return ok && equalSlices(x.Items, y.Items)
	case Dict:
		y, ok := b.(Dict)
		return ok && equalItems(x, y)
	case OrderedDict:
		y, ok := b.(OrderedDict)
		return ok && equalItems(x, y)
	case Slice:
		y, ok := b.(Slice)
		return ok && equal(x.Start, y.Start) && equal(x.Stop, y.Stop) && equal(x.Step, y.Step)
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !equal(v, w) {
				return false
			}
		}
		return true
	case NDArray:
		y, ok := b.(NDArray)
		return ok && x.DType == y.DType && reflect.DeepEqual(x.Shape, y.Shape) && bytes.Equal(x.Data, y.Data)
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	}
	return reflect.DeepEqual(a, b)
}

func equalSlices(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func equalItems(a, b []Item) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !equal(a[i].Key, b[i].Key) || !equal(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

// jsonTree parses PYON text as plain JSON with numbers kept as their text,
// so two encodings compare equal only if Python would read the same
// numbers (1 and 1.0 differ), whatever the key order and spacing.
func jsonTree(t testing.TB, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(rewriteNonFinite([]byte(s)))))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON after the Infinity/NaN rewrite: %v\n%s", err, s)
	}
	return v
}

// allocBytes returns the bytes f allocates (TotalAlloc counts every
// allocation, collected or not, so no GC is needed around f).
func allocBytes(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}
