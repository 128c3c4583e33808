package rpc

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/wire"
)

// testdata/sipyco_pc_rpc.jsonl is real SiPyCo traffic (a copy of
// shared/sipyco-wire/sipyco_pc_rpc.jsonl, whose README says what produced
// it): one object per socket read, {"dir": "client"|"server", "data"}.
// TestSiPyCoReplayServer plays the client's chunks to the Go server and
// compares its answers with the recorded ones as PYON values;
// TestSiPyCoReplayClient plays the server's chunks to the Go client.

type sipycoChunk struct {
	Dir  string `json:"dir"`
	Data string `json:"data"`
}

func sipycoRecording(t testing.TB) []sipycoChunk {
	t.Helper()
	f, err := os.Open("testdata/sipyco_pc_rpc.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []sipycoChunk
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c sipycoChunk
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil || len(out) < 20 {
		t.Fatalf("recording: %d chunks, %v", len(out), err)
	}
	return out
}

func mustDecode(t testing.TB, s string) any {
	t.Helper()
	v, err := pyon.Decode([]byte(s))
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return v
}

// Where the Go Controller cannot answer as the Python one did, and why.
// Everything else must be equal as PYON values.
var sipycoReplayDiffs = map[string]map[string]any{
	// Go has no defaults: add's b is required, scale (an options field of
	// type *int) defaults to None; Go types give annotations.
	"add": {
		"defaults":       nil,
		"kwonlydefaults": map[string]any{"scale": nil},
		"annotations":    map[string]any{"a": "int", "b": "int", "scale": "int", "return": "int"},
	},
	"get_attenuation": {"annotations": map[string]any{"return": "float"}},
	"slow":            {"annotations": map[string]any{"t": "float", "return": "float"}},
}

func TestSiPyCoReplayServer(t *testing.T) {
	rec := sipycoRecording(t)
	ts := startController(t, transports[0], ServerOptions{})
	rc := ts.raw(t)
	for i, c := range rec {
		if c.Dir == "client" {
			if _, err := io.WriteString(rc, c.Data); err != nil {
				t.Fatal(err)
			}
			continue
		}
		for _, want := range strings.SplitAfter(strings.TrimSuffix(c.Data, "\n"), "\n") {
			line, err := rc.r.ReadString('\n')
			if err != nil {
				t.Fatalf("chunk %d: %v", i, err)
			}
			compareSiPyCoReply(t, rec[i-1].Data, mustDecode(t, want), mustDecode(t, line))
		}
	}
	if err := ts.WaitTerminate(testCtx(t)); err != nil {
		t.Fatal(err)
	}
}

// compareSiPyCoReply compares the Go server's answer to request with the
// recorded one.
func compareSiPyCoReply(t *testing.T, request string, want, got any) {
	t.Helper()
	switch {
	case strings.HasPrefix(request, "lda pyon_v2"):
		// Python lists every callable attribute, dunders included; Go its
		// exposed methods.
		var names []string
		for _, n := range toStrings(want) {
			if !strings.HasPrefix(n, "__") {
				names = append(names, n)
			}
		}
		gotNames := toStrings(got)
		slices.Sort(names)
		slices.Sort(gotNames)
		if _, ok := got.(pyon.Set); !ok || !slices.Equal(gotNames, names) {
			t.Fatalf("method names %v, want the recorded ones without dunders %v", got, names)
		}
	case strings.Contains(request, "get_rpc_method_list"):
		wm := want.(map[string]any)["ret"].(map[string]any)
		gm := got.(map[string]any)["ret"].(map[string]any)
		if gm["docstring"] != wm["docstring"] {
			t.Errorf("docstring %v, want %v", gm["docstring"], wm["docstring"])
		}
		wms, gms := wm["methods"].(map[string]any), gm["methods"].(map[string]any)
		if len(gms) != len(wms) {
			t.Fatalf("methods %v, want %v", gms, wms)
		}
		for name, we := range wms {
			we, ge := we.(pyon.Tuple), gms[name].(pyon.Tuple)
			if !reflect.DeepEqual(ge[1], we[1]) {
				t.Errorf("%s: doc %v, want %v", name, ge[1], we[1])
			}
			wspec, gspec := we[0].(map[string]any), ge[0].(map[string]any)
			for k, v := range sipycoReplayDiffs[name] {
				wspec[k] = v
			}
			if !reflect.DeepEqual(gspec, wspec) {
				t.Errorf("%s: argspec\n%v\nwant\n%v", name, gspec, wspec)
			}
		}
	case strings.Contains(request, `"fail`):
		// Tracebacks are Python's; Go sends none. A non-builtin class is
		// named by its Go type.
		wx := want.(map[string]any)["exception"].(map[string]any)
		gx := got.(map[string]any)["exception"].(map[string]any)
		wmsg, gmsg := wx["message"].(string), gx["message"].(string)
		if i := strings.LastIndex(wmsg, "DeviceError: "); i > 0 {
			wmsg = "rpc." + wmsg[i:]
		}
		if gx["class"] != wx["class"] || gmsg != wmsg || !reflect.DeepEqual(gx["traceback"], []any{}) {
			t.Errorf("exception %v, want %v", gx, wx)
		}
	default:
		if !reflect.DeepEqual(got, want) {
			t.Errorf("reply to %s\n%#v\nwant\n%#v", request, got, want)
		}
	}
}

// fakeSiPyCoServer plays the server's side of rec to one client that
// speaks SiPyCo's banner; each client line is checked against the
// recorded one (as PYON values). A connection with another banner is
// closed without a word, as SiPyCo does.
func fakeSiPyCoServer(t *testing.T, rec []sipycoChunk) string {
	ln := listen(t)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			r := bufio.NewReader(nc)
			if banner, _ := r.ReadString('\n'); banner != wire.BannerSiPyCoRPC+"\n" {
				nc.Close()
				continue
			}
			for i, c := range rec[1:] {
				if c.Dir == "server" {
					if _, err := io.WriteString(nc, c.Data); err != nil {
						t.Errorf("chunk %d: %v", i+1, err)
						break
					}
					continue
				}
				line, err := r.ReadString('\n')
				if err != nil {
					t.Errorf("chunk %d: %v", i+1, err)
					break
				}
				if i == 1 { // the target line is text
					if line != c.Data {
						t.Errorf("target line %q, want %q", line, c.Data)
					}
					continue
				}
				if got, want := mustDecodeE(line), mustDecodeE(c.Data); !reflect.DeepEqual(got, want) {
					t.Errorf("request %s, want %s", line, c.Data)
				}
			}
			nc.Close()
			return
		}
	}()
	return ln.Addr().String()
}

func mustDecodeE(s string) any {
	v, err := pyon.Decode([]byte(s))
	if err != nil {
		return err
	}
	return v
}

func TestSiPyCoReplayClient(t *testing.T) {
	rec := sipycoRecording(t)
	addr := fakeSiPyCoServer(t, rec)
	// Automatic: the fake closes the native attempt, as SiPyCo does.
	ctx := testCtx(t)
	c, err := Dial(ctx, addr, "lda", ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Protocol() != ProtocolSiPyCo || c.Description() != "transcript server" {
		t.Fatalf("protocol %v, description %q", c.Protocol(), c.Description())
	}
	info, err := c.ListMethods(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, sig := range map[string]string{
		"add":             "(self, a, b=1, *, scale=1)",
		"set_attenuation": "(self, db: 'float')",
		"echo":            "(self, x)",
		"terminate":       "(self)",
	} {
		if m, ok := findInfo(info, name); !ok || m.Signature != sig {
			t.Errorf("%s: %+v, want signature %s", name, m, sig)
		}
	}
	if m, _ := findInfo(info, "set_attenuation"); m.Doc != "Set the attenuation in dB." || !reflect.DeepEqual(m.Params, []Param{{"db", "float"}}) {
		t.Errorf("set_attenuation: %+v", m)
	}
	// The recorded calls, with the recorded arguments.
	var args [][]any
	var kwargs []map[string]any
	var rets []any
	for i, ch := range rec {
		if ch.Dir == "client" && strings.Contains(ch.Data, `"action":"call"`) {
			req := mustDecode(t, ch.Data).(map[string]any)
			args = append(args, req["args"].(pyon.Tuple))
			kwargs = append(kwargs, req["kwargs"].(map[string]any))
			rets = append(rets, mustDecode(t, rec[i+1].Data).(map[string]any)["ret"])
		}
	}
	callArgs := func(i int) []any {
		a := append([]any(nil), args[i]...)
		if len(kwargs[i]) > 0 {
			a = append(a, Kwargs(kwargs[i]))
		}
		return a
	}
	methods := []string{"set_attenuation", "get_attenuation", "add", "add", "echo", "echo", "echo"}
	for i, m := range methods {
		if i == 5 { // the numpy array, typed
			var a pyon.NDArray
			if err := c.CallInto(ctx, &a, m, callArgs(i)...); err != nil || !reflect.DeepEqual(a, rets[i]) {
				t.Fatalf("echo(ndarray) = %v, %v", a, err)
			}
			if f, err := a.Float64s2D(); err != nil || !reflect.DeepEqual(f, [][]float64{{1, 2}, {3, 4}}) {
				t.Fatalf("echo(ndarray) = %v, %v", f, err)
			}
			continue
		}
		got, err := c.Call(ctx, m, callArgs(i)...)
		if err != nil || !reflect.DeepEqual(got, rets[i]) {
			t.Fatalf("%s%v = %#v, %v; want %#v", m, args[i], got, err, rets[i])
		}
	}
	for _, tt := range []struct{ method, class, msg string }{
		{"fail", "ValueError", "attenuation out of range"},
		{"fail_custom", pyGeneric, "Controller.fail_custom.<locals>.DeviceError: device not responding"},
	} {
		_, err := c.Call(ctx, tt.method)
		var re *RemoteError
		if !errors.As(err, &re) || re.Type != tt.class || re.Message != tt.msg || !strings.Contains(re.Traceback, `File "controller.py"`) {
			t.Fatalf("%s: %#v", tt.method, err)
		}
	}
	if err := c.Terminate(ctx); err != nil {
		t.Fatal(err)
	}
	// The fake server has closed: the next call fails as a lost connection.
	if _, err := c.Call(ctx, "echo", 1); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("after the server closed: %v", err)
	}
}
