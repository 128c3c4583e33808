package simsvc_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/simsvc"
)

// TestSiPyCoProtocolLiveFunctions: over SiPyCo's pc_rpc, a service
// function registered at init is callable by a client connected before
// (the server resolves each call against the live method set; sigoco's
// Go client sends names its selection did not list) and is in the
// method names a client connecting afterwards is sent (what SiPyCo's
// Python Client checks attributes against).
func TestSiPyCoProtocolLiveFunctions(t *testing.T) {
	_, addr := serve(t, newCounter(), simsvc.Options{Name: "counter"})
	ctx := testCtx(t)
	early, err := rpc.Dial(ctx, addr, "counter", rpc.ClientOptions{Protocol: rpc.ProtocolSiPyCo})
	must(t, err)
	t.Cleanup(func() { early.Close() })
	if _, err := early.Call(ctx, "add", 1.0); err == nil {
		t.Fatal("add before init succeeded")
	}
	// A raw SiPyCo connection made before init, as Python's Client makes it.
	raw := sipycoSelect(t, addr, "counter")
	if strings.Contains(raw.methods, `"add"`) {
		t.Fatalf("add listed before init: %s", raw.methods)
	}
	for _, m := range []string{"run", "init", "init"} {
		if _, err := early.Call(ctx, m); err != nil {
			t.Fatal(m, err)
		}
	}
	var v float64
	if err := early.CallInto(ctx, &v, "add", 2.5); err != nil || v != 2.5 {
		t.Fatalf("add from a client connected before init: %v, %v", v, err)
	}
	req := map[string]any{"action": "call", "name": "add", "args": pyon.Tuple{1.5}, "kwargs": map[string]any{}}
	if got := raw.call(t, req); !strings.Contains(got, `"status":"ok"`) || !strings.Contains(got, `4.0`) {
		t.Fatalf("raw add from a connection made before init: %s", got)
	}
	late := sipycoSelect(t, addr, "counter")
	if !strings.Contains(late.methods, `"add"`) {
		t.Fatalf("a client connecting after init is not sent add: %s", late.methods)
	}
}

type sipycoConn struct {
	c       net.Conn
	r       *bufio.Reader
	methods string
}

// sipycoSelect opens a SiPyCo pc_rpc connection and selects target.
func sipycoSelect(t *testing.T, addr, target string) *sipycoConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	must(t, err)
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	sc := &sipycoConn{c: c, r: bufio.NewReader(c)}
	_, err = c.Write([]byte("ARTIQ pc_rpc\n"))
	must(t, err)
	if _, err := sc.r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	_, err = c.Write([]byte(target + " pyon_v2\n"))
	must(t, err)
	sc.methods, err = sc.r.ReadString('\n')
	must(t, err)
	return sc
}

func (sc *sipycoConn) call(t *testing.T, req any) string {
	t.Helper()
	b, err := pyon.Append(nil, req)
	must(t, err)
	_, err = sc.c.Write(append(b, '\n'))
	must(t, err)
	line, err := sc.r.ReadString('\n')
	must(t, err)
	return line
}
