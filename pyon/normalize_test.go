package pyon

import (
	"errors"
	"math"
	"math/big"
	"reflect"
	"testing"
	"time"
)

type normInner struct {
	Depth int
}

type normOuter struct {
	OmegaRate float64
	Tagged    string `pyon:"p" json:"j" msgpack:"m"`
	JSONOnly  string `json:"j2" msgpack:"m2"`
	MsgOnly   string `msgpack:"m3"`
	Skipped   int    `msgpack:"-"`
	Empty     string `json:"empty,omitempty"`
	OptsOnly  string `json:",omitempty" msgpack:"oo"`
	hidden    int
	normInner
	Ptr *normInner
}

// TestNormalizeKeys: the one struct-key rule (pyon, json, msgpack tag,
// else snake_case), embedded structs flattened, omitempty and "-".
func TestNormalizeKeys(t *testing.T) {
	got, err := Normalize(normOuter{OmegaRate: 1.5, Tagged: "a", JSONOnly: "b", MsgOnly: "c", Skipped: 9, hidden: 1, normInner: normInner{2}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"omega_rate": 1.5, "p": "a", "j2": "b", "m3": "c", "depth": int64(2), "ptr": nil}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Normalize = %#v, want %#v", got, want)
	}
	if got, _ := Normalize(normOuter{OptsOnly: "x"}); got.(map[string]any)["oo"] != "x" {
		t.Errorf("a name from the msgpack tag, omitempty from json: %#v", got)
	}
	// Encode, the msgpack mapping and Convert agree with it.
	text, err := Encode(normOuter{OmegaRate: 1.5})
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(text)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := back.(map[string]any)["omega_rate"]; !ok {
		t.Errorf("Encode keys: %s", text)
	}
	var s struct{ Any any }
	s.Any = normOuter{OmegaRate: 2}
	b, err := AppendMsgpack(nil, map[string]any{"x": s})
	if err == nil {
		t.Fatalf("AppendMsgpack took a struct: %x", b)
	}
	var enc []byte
	if enc, err = appendValue(nil, s, 0, true); err != nil {
		t.Fatal(err)
	}
	dec, err := DecodeMsgpack(enc)
	if err != nil {
		t.Fatal(err)
	}
	if r := dec.(map[string]any)["any"].(map[string]any)["omega_rate"]; r != 2.0 {
		t.Errorf("msgpack of a struct: %#v", dec)
	}
	var o normOuter
	if err := Convert(map[string]any{"omega_rate": 3.0, "m3": "x", "p": "y"}, &o); err != nil || o.OmegaRate != 3 || o.MsgOnly != "x" || o.Tagged != "y" {
		t.Errorf("Convert: %+v, %v", o, err)
	}
}

func TestNormalizeValues(t *testing.T) {
	frac := NewFraction(1, 3)
	huge := new(big.Int).Lsh(big.NewInt(1), 80)
	nd := FromFloat64s([]float64{1, 2})
	type withBig struct{ B *big.Int }
	cases := []struct {
		in, want any
	}{
		{3, int64(3)},
		{uint8(7), int64(7)},
		{uint64(math.MaxUint64), uint64(math.MaxUint64)},
		{float32(0.5), 0.5},
		{complex64(1i), complex128(1i)},
		{"s", "s"},
		{[]int{1, 2}, []any{int64(1), int64(2)}},
		{[2]byte{1, 2}, []byte{1, 2}},
		{[]byte(nil), []byte{}},
		{[]string(nil), nil},
		{[]any(nil), []any{}},
		{map[string]any(nil), map[string]any{}},
		{[]any{[]any{int8(1)}}, []any{[]any{int64(1)}}},
		{map[string]int{"a": 1}, map[string]any{"a": int64(1)}},
		{map[int]bool{2: true, 1: false}, Dict{{int64(1), false}, {int64(2), true}}},
		{map[[2]int]string{{1, 2}: "x"}, Dict{{Tuple{int64(1), int64(2)}, "x"}}},
		{nd, nd},
		{[]any{nd, Tuple{1, "a"}}, []any{nd, Tuple{int64(1), "a"}}},
		{Set{Items: []any{1}}, Set{Items: []any{int64(1)}}},
		{frac, *frac},
		{[]any{*frac}, []any{*frac}},
		{big.NewRat(2, 4), *NewFraction(1, 2)},
		{withBig{huge}, map[string]any{"b": huge}},
		{withBig{big.NewInt(-5)}, map[string]any{"b": int64(-5)}},
		{Slice{Start: 1}, Slice{Start: int64(1)}},
		{OrderedDict{{"b", 1}}, OrderedDict{{"b", int64(1)}}},
		{(*int)(nil), nil},
		{nil, nil},
	}
	for _, c := range cases {
		got, err := Normalize(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Normalize(%#v) = %#v, %v; want %#v", c.in, got, err, c.want)
		}
	}
	got, err := NormalizeWith([]float32{1, 2}, NormalizeOptions{Packed: true})
	if err != nil || !reflect.DeepEqual(got, []float64{1, 2}) {
		t.Errorf("Packed: %#v, %v", got, err)
	}
	// A copy: changing the input afterwards changes nothing.
	in := []float64{1, 2}
	out, _ := NormalizeWith(in, NormalizeOptions{Packed: true})
	in[0] = 9
	if out.([]float64)[0] != 1 {
		t.Error("Normalize kept a reference to its input")
	}
	for _, bad := range []any{make(chan int), func() {}, time.Now(), struct{ T time.Time }{}, map[string]any{"e": struct{ Err error }{errors.New("x")}}, map[any]int{struct{ S any }{}: 1}} {
		if _, err := Normalize(bad); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Normalize(%T): %v, want ErrUnsupported", bad, err)
		}
	}
	var e *EncodeError
	if _, err := Normalize(map[string]any{"a": []any{1, make(chan int)}}); !errors.As(err, &e) || e.Path != "/a/1" {
		t.Errorf("path: %v", err)
	}
	deep := any(1)
	for range 5 {
		deep = []any{deep}
	}
	if _, err := NormalizeWith(deep, NormalizeOptions{MaxDepth: 5}); err != nil {
		t.Errorf("MaxDepth 5, 5 lists deep: %v", err)
	}
	if _, err := NormalizeWith(deep, NormalizeOptions{MaxDepth: 4}); !errors.Is(err, ErrTooDeep) {
		t.Errorf("MaxDepth 4, 5 lists deep: %v", err)
	}
	type cyc struct{ Next *cyc }
	c := &cyc{}
	c.Next = c
	if _, err := Normalize(c); !errors.Is(err, ErrTooDeep) {
		t.Errorf("cycle: %v", err)
	}
}

// TestNormalizeKeyed: the Keyed option sees every dict and set, contents
// normalized, and its answer takes their place.
func TestNormalizeKeyed(t *testing.T) {
	var seen []any
	keyed := func(v any) (any, error) {
		seen = append(seen, v)
		if d, ok := v.(Dict); ok && len(d) == 1 {
			return "one", nil
		}
		return v, nil
	}
	in := []any{Dict{{int8(1), "a"}}, map[int]int{2: 3, 4: 5}, Set{Items: []any{uint8(6)}}, OrderedDict{{"k", int16(7)}}}
	got, err := NormalizeWith(in, NormalizeOptions{Keyed: keyed})
	want := []any{"one", Dict{{int64(2), int64(3)}, {int64(4), int64(5)}}, Set{Items: []any{int64(6)}}, OrderedDict{{"k", int64(7)}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, %v; want %#v", got, err, want)
	}
	if len(seen) != 4 {
		t.Errorf("Keyed saw %d values, want 4: %#v", len(seen), seen)
	}
	bad := errors.New("refused")
	if _, err := NormalizeWith(map[string]any{"x": Set{}}, NormalizeOptions{Keyed: func(any) (any, error) { return nil, bad }}); !errors.Is(err, bad) {
		t.Errorf("a Keyed error: %v", err)
	}
}

// TestNormalizeDoesNotKeepInput: a number passed as any is not moved to
// the heap (only the result is boxed), which keeps track's LogResult free
// of allocations.
func TestNormalizeDoesNotKeepInput(t *testing.T) {
	x := 1000.5
	n := testing.AllocsPerRun(1000, func() {
		x++
		if _, err := Normalize(x); err != nil {
			t.Fatal(err)
		}
	})
	if n > 1 {
		t.Errorf("Normalize(float64) allocates %.1f times, want at most 1 (the result)", n)
	}
}

// TestNormalizeNilAsEmptyIsEncodeDecode: with NilAsEmpty, Normalize gives
// what a round trip through the PYON text gives, so a caller can skip the
// text (track/server's live state did the round trip).
func TestNormalizeNilAsEmptyIsEncodeDecode(t *testing.T) {
	type row struct {
		ID     string
		Tags   []string
		Params map[string]any
		Counts map[string]int
		Step   int64
		Loss   *float64
		Vals   []float64
		Arr    [2]int
		F32    float32
		Inner  *normOuter
		Bytes  []byte
		Any    any
	}
	loss := 0.25
	for _, v := range []any{
		row{},
		row{ID: "r", Tags: []string{"a"}, Params: map[string]any{"lr": 0.1, "n": nil}, Counts: map[string]int{"x": 1},
			Step: 7, Loss: &loss, Vals: []float64{1, math.Inf(1)}, Arr: [2]int{1, 2}, F32: 0.5,
			Inner: &normOuter{OmegaRate: 2, Tagged: "t"}, Bytes: []byte("b"), Any: []any{int8(1), "s"}},
		[]row{{}, {ID: "x"}},
		map[string]row{"k": {}},
	} {
		b, err := Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := NormalizeWith(v, NormalizeOptions{NilAsEmpty: true})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%+v:\nNormalize %#v\nround trip %#v", v, got, want)
		}
	}
}
