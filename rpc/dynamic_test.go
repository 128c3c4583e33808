package rpc

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// Issue 16: methods added to and removed from a live target are called,
// listed (natively and to SiPyCo) and documented as Go methods are.
func TestAddRemoveMethod(t *testing.T) {
	forEachTransportMux(t, func(t *testing.T, tr transport) {
		ts := startServer(t, tr, map[string]any{"t": fuzzTarget{}, "f": func() any { return fuzzTarget{} }}, ServerOptions{})
		c := ts.dial(t, "t") // connected before the method exists
		ctx := testCtx(t)
		if _, err := c.Call(ctx, "scale_by", 2.0); !errors.Is(err, ErrUnknownMethod) {
			t.Fatalf("before AddMethod: %v", err)
		}
		err := ts.AddMethod("t", "ScaleBy", func(ctx context.Context, x float64, factor float64) (float64, error) {
			return x * factor, ctx.Err()
		}, MethodDoc{Params: []string{"x", "factor"}, Doc: "ScaleBy multiplies."})
		if err != nil {
			t.Fatal(err)
		}
		var got float64
		if err := c.CallInto(ctx, &got, "scale_by", 2.0, Kwargs{"factor": 3}); err != nil || got != 6 {
			t.Fatalf("scale_by(2, factor=3) = %v, %v", got, err)
		}
		if v, err := c.Call(ctx, "ScaleBy", 1, 1); err != nil || v != 1.0 {
			t.Fatalf("ScaleBy(1, 1) = %v, %v", v, err)
		}
		if _, err := c.Call(ctx, "scale_by", "x", 1); !errors.Is(err, ErrBadArguments) {
			t.Fatalf("scale_by(\"x\", 1) = %v", err)
		}
		info, err := c.ListMethods(ctx)
		if err != nil {
			t.Fatal(err)
		}
		mi, ok := findInfo(info, "scale_by")
		if !ok || mi.Doc != "ScaleBy multiplies." || len(mi.Params) != 2 || mi.Params[1] != (Param{"factor", "float64"}) {
			t.Fatalf("listed as %+v (%v)", mi, ok)
		}
		// SiPyCo's listing has it too.
		sp, err := Dial(ctx, ts.addr, "t", ClientOptions{TLS: ts.clientTLS, Protocol: ProtocolSiPyCo})
		if err != nil {
			t.Fatal(err)
		}
		defer sp.Close()
		spi, err := sp.ListMethods(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m, ok := findInfo(spi, "scale_by"); !ok || !strings.Contains(m.Signature, "factor") {
			t.Fatalf("SiPyCo listing: %+v (%v)", m, ok)
		}
		if v, err := sp.Call(ctx, "scale_by", 2.0, 4.0); err != nil || v != 8.0 {
			t.Fatalf("over SiPyCo: %v, %v", v, err)
		}

		for _, bad := range []struct {
			target, name string
			fn           any
			want         string
		}{
			{"t", "Add", func() {}, "taken"},
			{"t", "ScaleBy", func() {}, "taken"},
			{"t", "lower", func() {}, "exported Go identifier"},
			{"t", "Feed", func(chan int) {}, "channels"},
			{"t", "NotAFunc", 5, "must be a non-nil func"},
			{"nope", "X", func() {}, "no such target"},
			{"f", "X", func() {}, "factory"},
		} {
			if err := ts.AddMethod(bad.target, bad.name, bad.fn, MethodDoc{}); err == nil || !strings.Contains(err.Error(), bad.want) {
				t.Errorf("AddMethod(%q, %q) = %v, want an error saying %q", bad.target, bad.name, err, bad.want)
			}
		}
		if err := ts.RemoveMethod("t", "add"); err == nil || !strings.Contains(err.Error(), "Go type") {
			t.Errorf("RemoveMethod(add) = %v", err)
		}
		if err := ts.RemoveMethod("t", "scale_by"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Call(ctx, "scale_by", 2.0, 3.0); !errors.Is(err, ErrUnknownMethod) {
			t.Fatalf("after RemoveMethod: %v", err)
		}
		if err := ts.RemoveMethod("t", "scale_by"); !errors.Is(err, ErrUnknownMethod) {
			t.Fatalf("RemoveMethod twice = %v", err)
		}
		// Another server of the same type is not affected.
		other := startServer(t, transports[0], map[string]any{"t": fuzzTarget{}}, ServerOptions{})
		if err := ts.AddMethod("t", "Only", func() int { return 1 }, MethodDoc{}); err != nil {
			t.Fatal(err)
		}
		oc := other.dial(t, "t")
		if _, err := oc.Call(ctx, "only"); !errors.Is(err, ErrUnknownMethod) {
			t.Fatalf("a method added to one server's target reached another: %v", err)
		}
	})
}
