package logfwd

import (
	"log/slog"
	"math/big"
	"reflect"
	"testing"

	"github.com/sigoco/sigoco/pyon"
)

// Issue 11: attribute values travel in the one value model, so the PYON
// types arrive as themselves through a real server (they used to arrive
// as JSON: a tuple or a set as a list, a big int as a float).
func TestAttributeValuesRoundTrip(t *testing.T) {
	big1, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	values := []struct {
		key  string
		sent any
		want any // what the server's handler gets; nil: sent
	}{
		{"tuple", pyon.Tuple{1, "two", 3.5}, pyon.Tuple{int64(1), "two", 3.5}},
		{"set", pyon.Set{Items: []any{"a", "b"}}, nil},
		{"frozenset", pyon.Set{Items: []any{int64(7)}, Frozen: true}, nil},
		{"bigint", big1, nil},
		{"ndarray", pyon.FromFloat64s([]float64{1.5, -2, 3}), nil},
		{"complex", complex(1, -2), nil},
		{"bytes", []byte{0, 1, 0xff}, nil},
		{"nested", map[string]any{"t": pyon.Tuple{"x"}, "n": nil}, map[string]any{"t": pyon.Tuple{"x"}, "n": nil}},
	}
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			col := newCollector()
			addr, _, cli := serve(t, col, tr, ServerOptions{}, "")
			f := forward(t, addr, ForwarderOptions{TLS: cli})
			var args []any
			for _, v := range values {
				args = append(args, slog.Any(v.key, v.sent))
			}
			slog.New(f).WithGroup("g").Info("values", args...)
			flush(t, f)
			g, _ := col.wait(t, 1)[0].attr("g")
			got := map[string]any{}
			for _, a := range g.Group() {
				got[a.Key] = a.Value.Any()
			}
			for _, v := range values {
				want := v.want
				if want == nil {
					want = v.sent
				}
				if b, ok := want.(*big.Int); ok {
					if gb, ok := got[v.key].(*big.Int); !ok || gb.Cmp(b) != 0 {
						t.Errorf("%s: got %#v (%T), want %v", v.key, got[v.key], got[v.key], b)
					}
					continue
				}
				if !reflect.DeepEqual(got[v.key], want) {
					t.Errorf("%s: got %#v (%T), want %#v", v.key, got[v.key], got[v.key], want)
				}
			}
		})
	}
}
