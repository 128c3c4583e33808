package rpc

import (
	"math"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/internal/sipycotest"
	"github.com/sigoco/sigoco/pyon"
)

// valueModelCases are values of every type of the value model
// (docs/protocol.md "Values"), as a Go caller sends them, and what an
// untyped echo gives back (nil: the same value).
func valueModelCases(t *testing.T) []struct {
	name     string
	in, want any
} {
	two, err := pyon.FromFloat64s2D([][]float64{{1, 2}, {3, math.Inf(1)}})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := pyon.ScalarOf(2.5)
	if err != nil {
		t.Fatal(err)
	}
	neg := new(big.Int).Neg(hugeInt())
	return []struct {
		name     string
		in, want any
	}{
		{"tuple", pyon.Tuple{int64(1), "a", pyon.Tuple{}}, nil},
		{"set", pyon.Set{Items: []any{int64(1), int64(2)}}, nil},
		{"frozenset", pyon.Set{Items: []any{"x"}, Frozen: true}, nil},
		{"bytes", []byte{0, 1, 255}, nil},
		{"big int", hugeInt(), nil},
		{"negative big int", neg, nil},
		{"uint64", uint64(math.MaxUint64), nil},
		{"complex", complex(1, -2), nil},
		{"fraction", pyon.NewFraction(-1, 3), *pyon.NewFraction(-1, 3)},
		{"numpy int array", pyon.FromInt64s([]int64{1, -2, 3}), nil},
		{"numpy 2-D float array", two, nil},
		{"numpy scalar", sc, nil},
		{"non-string keys", pyon.Dict{{Key: int64(1), Value: "x"}, {Key: pyon.Tuple{int64(1), int64(2)}, Value: true}}, nil},
		{"nan and inf", []any{math.NaN(), math.Inf(1), math.Inf(-1)}, nil},
		{"ordered dict", pyon.OrderedDict{{Key: "b", Value: int64(1)}, {Key: "a", Value: int64(2)}}, nil},
		{"slice", pyon.Slice{Start: int64(1), Stop: nil, Step: int64(2)}, nil},
		{"nested", map[string]any{"t": pyon.Tuple{pyon.Set{Items: []any{int64(3)}}, []any{complex(0, 1)}}}, nil},
	}
}

// sameValue compares by Go type and PYON text (so nan equals nan, and
// big.Int internals do not matter), recursively through Repr.
func sameValue(got, want any) bool {
	return reflect.TypeOf(got) == reflect.TypeOf(want) && pyon.Repr(got) == pyon.Repr(want)
}

// Issue 11: every type of the value model survives an untyped echo over
// native rpc (TCP, TLS, behind a Mux) and over SiPyCo's pc_rpc (the Go
// client speaking it), types included.
func TestValueModelRoundTrip(t *testing.T) {
	cases := valueModelCases(t)
	forEachTransportMux(t, func(t *testing.T, tr transport) {
		ts := startServer(t, tr, map[string]any{"lda": newAttenuator()}, ServerOptions{})
		for _, proto := range []Protocol{ProtocolNative, ProtocolSiPyCo} {
			opts := ts.clientOpts(t)
			opts.Protocol = proto
			c, err := Dial(testCtx(t), ts.addr, "lda", opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			for _, tc := range cases {
				want := tc.want
				if want == nil {
					want = tc.in
				}
				if proto == ProtocolSiPyCo {
					// PYON v2 text (SiPyCo's protocol) has no frozenset, and
					// pyon's text decoder gives ints beyond int64 as *big.Int
					// and fractions as *pyon.Fraction.
					switch tc.name {
					case "frozenset":
						continue
					case "uint64":
						want = new(big.Int).SetUint64(math.MaxUint64)
					case "fraction":
						want = pyon.NewFraction(-1, 3)
					}
				}
				got, err := c.Call(testCtx(t), "echo", tc.in)
				if err != nil {
					t.Fatalf("%v: echo(%s): %v", proto, tc.name, err)
				}
				if !sameValue(got, want) {
					t.Errorf("%v: echo(%s) = %T %s, want %T %s", proto, tc.name, got, pyon.Repr(got), want, pyon.Repr(want))
				}
			}
		}
	})
}

// The same values from SiPyCo's own Python client (sipyco_rpctool, which
// prints the result's repr) against a sigoco server.
func TestValueModelRoundTripSiPyCoClient(t *testing.T) {
	env := sipycotest.Python(t)
	ts := startServer(t, transports[0], map[string]any{"lda": newAttenuator()}, ServerOptions{})
	host, port := splitAddr(t, ts.addr)
	// sipyco_rpctool evaluates its arguments with the builtins and numpy
	// (np) at hand, and pprints the result. PYON v2 has no frozenset.
	for _, tc := range []struct{ expr, want string }{
		{`(1, 'a', ())`, ""},
		{`{1, 2}`, ""},
		{`b'\x00\x01\xff'`, ""},
		{`123456789012345678901234567890`, ""},
		{`-123456789012345678901234567890`, ""},
		{`(1-2j)`, ""},
		{`__import__('fractions').Fraction(-1, 3)`, `Fraction(-1, 3)`},
		{`{1: 'x', (1, 2): True}`, ""},
		// SiPyCo's encoder (pyon.wrap) sends an OrderedDict as a plain dict.
		{`__import__('collections').OrderedDict([('b', 1), ('a', 2)])`, `{'a': 2, 'b': 1}`},
		{`slice(1, None, 2)`, ""},
		{`[float('nan'), float('inf'), -float('inf')]`, `[nan, inf, -inf]`},
		{`{'t': ({3}, [1j])}`, ""},
		{`np.array([1, -2, 3])`, `array([ 1, -2,  3])`},
		{`np.array([[1.0, 2.0], [3.0, float('inf')]])`, "array([[ 1.,  2.],\n       [ 3., inf]])"},
		{`np.int32(7)`, `7|np.int32(7)`},
		{`np.float64(2.5)`, `2.5|np.float64(2.5)`},
	} {
		want := tc.want
		if want == "" {
			want = tc.expr
		}
		r := env.RPCTool(t, host, port, "call", "-t", "lda", "echo", tc.expr)
		if got := strings.TrimSpace(r.Stdout); r.ExitCode != 0 || !slices.Contains(strings.Split(want, "|"), got) {
			t.Errorf("echo %s: exit %d, stdout %q (want %q), stderr %q", tc.expr, r.ExitCode, got, want, r.Stderr)
		}
	}
}
