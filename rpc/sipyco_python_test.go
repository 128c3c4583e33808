package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/sipycotest"
	"github.com/sigoco/sigoco/pyon"
)

// Optional tests against real SiPyCo (skipped, saying why, when python3
// with SiPyCo and numpy is not available; see internal/sipycotest).

// pyDescribed is sipycotest_common.describe's view of a Python value.
type pyDescribed struct {
	Type  string `json:"type"`
	Repr  string `json:"repr"`
	JSON  any    `json:"json"`
	PYON  string `json:"pyon"`
	DType string `json:"dtype"`
}

// pyRPCSummary is rpc_client.py's output.
type pyRPCSummary struct {
	Client         string            `json:"client"`
	Targets        []string          `json:"targets"`
	Description    *string           `json:"description"`
	SelectedTarget string            `json:"selected_target"`
	Signatures     map[string]string `json:"signatures"`
	Steps          []string          `json:"steps"`
	FailedSteps    []string          `json:"failed_steps"`
	Results        map[string]struct {
		Call      string       `json:"call"`
		OK        bool         `json:"ok"`
		Pass      bool         `json:"pass"`
		Ret       *pyDescribed `json:"ret"`
		Exception *struct {
			Class     string   `json:"class"`
			Message   string   `json:"message"`
			Traceback []string `json:"traceback"`
			Remote    bool     `json:"remote"`
		} `json:"exception"`
	} `json:"results"`
}

// expectedPyFailures are the steps of rpc_client.py a Go target cannot
// pass, because Go has no default parameter values: add(4) relies on
// Python's b=1, and the script checks add's signature to be exactly
// "(self, a, b=1, *, scale=1)".
var expectedPyFailures = map[string][]string{
	"sync":       {"get_rpc_method_list", "add_default"},
	"async":      {"add_default"},
	"besteffort": {"add_default"},
}

// SiPyCo's Client, AsyncioClient and BestEffortClient run the recorded
// call sequence (and every PYON type) against the Go server.
func TestSiPyCoPythonClients(t *testing.T) {
	env := sipycotest.Python(t)
	forEachTransport(t, func(t *testing.T, tr transport) {
		ts := startController(t, tr, ServerOptions{})
		var tlsArgs []string
		if tr.server != nil {
			p := certsFor(t)
			tlsArgs = []string{"--ssl", p.client.CertFile, p.client.KeyFile, p.server.CertFile}
		}
		host, port := splitAddr(t, ts.addr)
		for _, client := range []string{"sync", "async", "besteffort"} {
			t.Run(client, func(t *testing.T) {
				var out pyRPCSummary
				r := env.RunJSON(t, &out, sipycotest.RPCClient, append([]string{host, port, "lda", "--client", client}, tlsArgs...)...)
				if !slices.Equal(out.FailedSteps, expectedPyFailures[client]) {
					b, _ := json.MarshalIndent(out.Results, "", "  ")
					t.Fatalf("failed steps %v, want %v\n%s\n%s", out.FailedSteps, expectedPyFailures[client], b, r.Stderr)
				}
				if len(out.Steps) < 50 {
					t.Errorf("ran %d steps: %v", len(out.Steps), out.Steps)
				}
				res := out.Results
				if e := res["add_default"].Exception; e == nil || e.Class != "TypeError" || !strings.Contains(e.Message, "missing argument 2 (b int)") {
					t.Errorf("add(4) raised %+v", e)
				}
				if e := res["fail"].Exception; e == nil || e.Class != "ValueError" || e.Message != "attenuation out of range" || !e.Remote {
					t.Errorf("fail() raised %+v", e)
				}
				if e := res["fail_custom"].Exception; e == nil || e.Class != "GenericRemoteException" || e.Message != "rpc.DeviceError: device not responding" {
					t.Errorf("fail_custom() raised %+v", e)
				}
				if e := res["bad_args"].Exception; e == nil || e.Class != "TypeError" || !e.Remote {
					t.Errorf("add() raised %+v", e)
				}
				if client != "sync" {
					return
				}
				if !slices.Equal(out.Targets, []string{"aux", "lda"}) || out.Description == nil || *out.Description != "transcript server" {
					t.Errorf("identification %v %v", out.Targets, out.Description)
				}
				// Python's own formatting of our argspecs.
				for m, want := range map[string]string{
					"add":             "(self, a: 'int', b: 'int', *, scale: 'int' = None) -> 'int'",
					"set_attenuation": "(self, db: 'float')",
					"get_attenuation": "(self) -> 'float'",
					"echo":            "(self, x)",
					"slow":            "(self, t: 'float') -> 'float'",
					"terminate":       "(self)",
				} {
					if got := out.Signatures[m]; got != want {
						t.Errorf("Python formats %s as %q, want %q", m, got, want)
					}
				}
			})
		}
	})
}

func splitAddr(t testing.TB, addr string) (host, port string) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}

// SiPyCo's own sipyco_rpctool against the Go server.
func TestSiPyCoPythonRPCTool(t *testing.T) {
	env := sipycotest.Python(t)
	ts := startController(t, transports[0], ServerOptions{})
	host, port := splitAddr(t, ts.addr)
	for _, tc := range []struct {
		args []string
		want []string // lines of stdout, in order
		code int
	}{
		{[]string{"list-targets"}, []string{"Target(s):   aux, lda", "Description: transcript server"}, 0},
		{[]string{"list-methods", "-t", "lda"}, []string{
			"Attenuator controller used to record SiPyCo wire transcripts.",
			"add(self, a: 'int', b: 'int', *, scale: 'int' = None) -> 'int'",
			"    Return (a+b)*scale.",
			"echo(self, x)",
			"set_attenuation(self, db: 'float')",
			"    Set the attenuation in dB.",
			"terminate(self)",
			"    Terminate the server.",
		}, 0},
		{[]string{"call", "-t", "lda", "add", "1", "2"}, []string{"3"}, 0},
		{[]string{"call", "-t", "lda", "add", "1", "2", "scale=3"}, nil, 1}, // sipyco_rpctool has no keywords
		{[]string{"call", "-t", "lda", "echo", `(1, 'a', {2}, b'\x00', 1.0, 2**70)`}, []string{`(1, 'a', {2}, b'\x00', 1.0, 1180591620717411303424)`}, 0},
		{[]string{"call", "-t", "lda", "fail"}, nil, 1},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := env.RPCTool(t, append([]string{host, port}, tc.args...)...)
			if r.ExitCode != tc.code {
				t.Fatalf("exit %d, want %d: %s", r.ExitCode, tc.code, r)
			}
			out := r.Stdout
			for _, w := range tc.want {
				i := strings.Index(out, w+"\n")
				if i < 0 {
					t.Fatalf("stdout lacks %q (in order): %s", w, r)
				}
				out = out[i+len(w):]
			}
		})
	}
	// Go names Python would refuse as parameter names are made valid.
	ks := startServer(t, transports[0], map[string]any{"k": kwTarget{}}, ServerOptions{})
	khost, kport := splitAddr(t, ks.addr)
	if r := env.RPCTool(t, khost, kport, "list-methods"); r.ExitCode != 0 ||
		!strings.Contains(r.Stdout, "sweep(self, from_: 'float', to: 'float', *, max_rate: 'float' = 0.0) -> 'str'\n") {
		t.Errorf("list-methods of kwTarget: %s", r)
	}
	// The remote exception, as sipyco_rpctool shows it.
	if r := env.RPCTool(t, host, port, "call", "-t", "lda", "fail"); !strings.Contains(r.Stderr, "ValueError: attenuation out of range") {
		t.Errorf("fail(): %s", r)
	}
}

// The Go client against SiPyCo's own Python server.
func TestSiPyCoGoClientPythonServer(t *testing.T) {
	env := sipycotest.Python(t)
	forEachTransport(t, func(t *testing.T, tr transport) {
		args := []string{"--targets", "lda,aux,probe"}
		var opts ClientOptions
		if tr.server != nil {
			p := certsFor(t)
			args = append(args, "--ssl", p.server.CertFile, p.server.KeyFile, p.client.CertFile)
			opts.TLS = tr.client(t)
		}
		srv := env.Serve(t, sipycotest.RPCServer, args...)
		ctx := testCtx(t)
		c, err := Dial(ctx, srv.Addr, "lda", opts) // automatic fallback
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if c.Protocol() != ProtocolSiPyCo || c.Description() != "transcript server" || !slices.Equal(c.Targets(), []string{"aux", "lda", "probe"}) {
			t.Fatalf("client: %v %q %v", c.Protocol(), c.Description(), c.Targets())
		}
		if err := c.CallInto(ctx, nil, "SetAttenuation", 5.5); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			method string
			args   []any
			want   any
		}{
			{"get_attenuation", nil, 5.5},
			{"add", []any{1, 2}, int64(3)},
			{"add", []any{1, Kwargs{"b": 2, "scale": 3}}, int64(9)},
			{"add", []any{4}, int64(5)}, // Python's default b=1
			{"echo", []any{pyon.Tuple{int64(1), "a"}}, pyon.Tuple{int64(1), "a"}},
			{"echo", []any{1.0}, 1.0},
			{"echo", []any{Point{X: 1, Tag: "p"}}, map[string]any{"x": 1.0, "y": 0.0, "tag": "p"}},
			{"echo", []any{map[[2]int]string{{1, 2}: "t"}}, pyon.Dict{{Key: pyon.Tuple{int64(1), int64(2)}, Value: "t"}}},
			{"slow", []any{0.01}, 0.01},
		} {
			if got, err := c.Call(ctx, tt.method, tt.args...); err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("%s%v = %#v, %v; want %#v", tt.method, tt.args, got, err, tt.want)
			}
		}
		var sum int
		if err := c.CallInto(ctx, &sum, "add", 20, 22); err != nil || sum != 42 {
			t.Fatalf("add into int = %d, %v", sum, err)
		}
		for _, tt := range []struct{ method, class, msg string }{
			{"fail", "ValueError", "attenuation out of range"},
			{"fail_custom", pyGeneric, "DeviceError: device not responding"},
			{"add", "TypeError", "missing 1 required positional argument"},
		} {
			_, err := c.Call(ctx, tt.method)
			var re *RemoteError
			if !errors.As(err, &re) || re.Type != tt.class || !strings.Contains(re.Message, tt.msg) || !strings.Contains(re.Traceback, "File ") {
				t.Fatalf("%s() = %#v", tt.method, err)
			}
		}
		if _, err := c.Call(ctx, "no_such_method"); !errors.Is(err, ErrUnknownMethod) {
			t.Fatalf("no_such_method() = %v", err)
		}
		info, err := c.ListMethods(ctx)
		if err != nil {
			t.Fatal(err)
		}
		add, _ := findInfo(info, "add")
		if add.Signature != "(self, a, b=1, *, scale=1)" || add.Doc != "Return (a+b)*scale." ||
			!reflect.DeepEqual(add.Params, []Param{{"a", ""}, {"b", ""}, {"scale", ""}}) {
			t.Fatalf("add listed as %+v", add)
		}
		if m, _ := findInfo(info, "set_attenuation"); m.Signature != "(self, db: 'float')" {
			t.Fatalf("set_attenuation listed as %+v", m)
		}
		// SiPyCo cannot cancel: the call returns, the connection is left,
		// the next call connects again. (The Python server goes on with
		// slow, holding its target: the calls below wait for it.)
		dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if _, err := c.Call(dctx, "slow", 0.5); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("slow(0.5) with a 50 ms deadline = %v", err)
		}
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 5; i++ {
					var v int
					if err := c.CallInto(ctx, &v, "add", g, i); err != nil || v != g+i {
						t.Errorf("add(%d, %d) = %d, %v", g, i, v, err)
						return
					}
				}
			}()
		}
		wg.Wait()

		// How Python sees Go values.
		probe, err := Dial(ctx, srv.Addr, "probe", ClientOptions{TLS: opts.TLS, Protocol: ProtocolSiPyCo})
		if err != nil {
			t.Fatal(err)
		}
		defer probe.Close()
		got, err := probe.Call(ctx, "describe", pyon.Tuple{int64(1)}, 1.0, []byte{1}, int8(-3), []float64{0.5},
			Kwargs{"set": pyon.Set{Items: []any{int64(2)}}, "arr": pyon.FromFloat64s([]float64{1, 2})})
		if err != nil {
			t.Fatal(err)
		}
		types := func(v any) string { return v.(map[string]any)["type"].(string) }
		d := got.(map[string]any)
		var argTypes []string
		for _, a := range d["args"].([]any) {
			argTypes = append(argTypes, types(a))
		}
		kw := d["kwargs"].(map[string]any)
		if !slices.Equal(argTypes, []string{"tuple", "float", "bytes", "int", "list"}) || types(kw["set"]) != "set" || types(kw["arr"]) != "numpy.ndarray" {
			t.Fatalf("Python received %v, kwargs %v", argTypes, kw)
		}

		if err := c.Terminate(ctx); err != nil {
			t.Fatal(err)
		}
		srv.Expect(t, "terminated")
	})
}

// BestEffortClient against SiPyCo's Python server.
func TestSiPyCoBestEffortPythonServer(t *testing.T) {
	env := sipycotest.Python(t)
	srv := env.Serve(t, sipycotest.RPCServer, "--targets", "lda")
	b := NewBestEffortClient(testCtx(t), srv.Addr, "lda", BestEffortOptions{})
	defer b.Close()
	if v, err := b.Call(testCtx(t), "add", 1, 2); err != nil || v != int64(3) {
		t.Fatalf("add = %v, %v", v, err)
	}
}
