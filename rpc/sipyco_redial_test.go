package rpc

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/sipycotest"
	"github.com/sigoco/sigoco/pyon"
)

// redialCheck: after a call abandoned over SiPyCo's protocol (the next call
// connects again), calls whose deadlines end during that reconnection fail
// with their deadline, and the client goes on working (issue 10).
func redialCheck(t *testing.T, addr string, opts ClientOptions) {
	ctx := testCtx(t)
	opts.Protocol = ProtocolSiPyCo
	c, err := Dial(ctx, addr, "lda", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for i := range 60 {
		abandon, cancel := context.WithTimeout(ctx, 2*time.Millisecond)
		if _, err := c.Call(abandon, "slow", 0.05); !errors.Is(err, context.DeadlineExceeded) {
			cancel()
			t.Fatalf("round %d: slow with a 2 ms deadline = %v", i, err)
		}
		cancel()
		// A deadline that ends while the client reconnects, at some point
		// of the dial, the identification or the selection.
		short, cancel := context.WithTimeout(ctx, time.Duration(i%20)*50*time.Microsecond)
		_, err := c.Call(short, "add", 1, 2)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("round %d: add with a short deadline = %v, want nil or context.DeadlineExceeded", i, err)
		}
		if v, err := c.Call(ctx, "add", 1, 2); err != nil || v != int64(3) {
			t.Fatalf("round %d: the client broke: add = %v, %v", i, v, err)
		}
	}
}

func TestSiPyCoRedialDeadlineGoServer(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr transport) {
		ts := startController(t, tr, ServerOptions{AllowParallel: true})
		redialCheck(t, ts.addr, ts.clientOpts(t))
	})
}

// The same against SiPyCo's own Python server (its slow is asyncio.sleep).
func TestSiPyCoRedialDeadlinePythonServer(t *testing.T) {
	env := sipycotest.Python(t)
	srv := env.Serve(t, sipycotest.RPCServer, "--targets", "lda")
	redialCheck(t, srv.Addr, ClientOptions{})
}

// ndTarget's trailing parameters are values, not options structs.
type ndTarget struct{}

func (ndTarget) Fit(xs pyon.NDArray) int             { return len(xs.Shape) }
func (ndTarget) At(t time.Time, n pyon.NPScalar) int { return 0 }

// Issue 10: a trailing pyon.NDArray (or any value type with its own
// encoding) is a positional parameter, never keyword-only fields.
func TestTrailingValueStructNotOptions(t *testing.T) {
	tb, err := tableFor(reflect.TypeFor[ndTarget]())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"fit", "at"} {
		m := tb.byName[name]
		if m.opts != nil {
			t.Errorf("%s: trailing %s taken as an options struct", name, m.params[len(m.params)-1].typ)
		}
		spec := sipycoArgspec(m)
		if kw := spec["kwonlyargs"].([]any); len(kw) != 0 {
			t.Errorf("%s listed to SiPyCo with keyword-only %v", name, kw)
		}
	}
}

// Issue 10: a BestEffortClient asking for a target the server does not
// have says so with ErrIncompatibleServer (over both protocols).
func TestBestEffortUnknownTarget(t *testing.T) {
	ts := startController(t, transports[0], ServerOptions{})
	for _, p := range []Protocol{ProtocolNative, ProtocolSiPyCo} {
		b := NewBestEffortClient(testCtx(t), ts.addr, "nope", BestEffortOptions{ClientOptions: ClientOptions{Protocol: p}})
		_, err := b.Call(testCtx(t), "add", 1, 2)
		b.Close()
		if !errors.Is(err, ErrIncompatibleServer) || !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "lda") {
			t.Fatalf("protocol %v: %v, want ErrUnavailable wrapping ErrIncompatibleServer and the valid names", p, err)
		}
	}
}
