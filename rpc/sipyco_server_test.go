package rpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/netip"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/wire"
)

// sipycoRaw opens a hand-driven SiPyCo connection to ts: the banner is
// sent and the identification line read.
func (ts *testServer) sipycoRaw(t testing.TB) (*rawConn, map[string]any) {
	t.Helper()
	rc := ts.raw(t)
	rc.line(wire.BannerSiPyCoRPC)
	id, ok := rc.readPyon().(map[string]any)
	if !ok {
		t.Fatalf("identification is not a dict: %v", id)
	}
	return rc, id
}

func (rc *rawConn) line(s string) {
	rc.t.Helper()
	if _, err := io.WriteString(rc, s+"\n"); err != nil {
		rc.t.Fatal(err)
	}
}

func (rc *rawConn) readPyon() any {
	rc.t.Helper()
	line, err := rc.r.ReadBytes('\n')
	if err != nil {
		rc.t.Fatalf("read: %v (after %q)", err, line)
	}
	v, err := pyon.Decode(line)
	if err != nil {
		rc.t.Fatalf("reply %q: %v", line, err)
	}
	return v
}

// sipycoSelect sends the target line and returns the method names.
func (rc *rawConn) sipycoSelect(target string) []string {
	rc.t.Helper()
	rc.line(target + " pyon_v2")
	set, ok := rc.readPyon().(pyon.Set)
	if !ok {
		rc.t.Fatalf("method names are not a set")
	}
	return toStrings(set)
}

// request sends one request line and returns the reply.
func (rc *rawConn) request(req string) map[string]any {
	rc.t.Helper()
	rc.line(req)
	m, ok := rc.readPyon().(map[string]any)
	if !ok {
		rc.t.Fatalf("reply to %s is not a dict", req)
	}
	return m
}

// expectFailed checks a failed reply's class and message.
func expectFailed(t testing.TB, reply map[string]any, class, msg string) {
	t.Helper()
	exc, _ := reply["exception"].(map[string]any)
	if reply["status"] != "failed" || exc["class"] != class || !strings.Contains(fmt.Sprint(exc["message"]), msg) {
		t.Fatalf("reply %v, want a %s containing %q", reply, class, msg)
	}
	if _, ok := exc["traceback"].([]any); !ok {
		t.Fatalf("traceback of %v is not a list", reply)
	}
}

func expectOK(t testing.TB, reply map[string]any, want any) {
	t.Helper()
	if reply["status"] != "ok" || !reflect.DeepEqual(reply["ret"], want) {
		t.Fatalf("reply %v, want ok %#v", reply, want)
	}
}

func pyCall(name string, args, kwargs string) string {
	return fmt.Sprintf(`{"action":"call","name":%q,"args":{"__jsonclass__":["tuple",[[%s]]]},"kwargs":{%s}}`, name, args, kwargs)
}

func TestSiPyCoHandshake(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr transport) {
		ts := startServer(t, tr, map[string]any{"lda": newAttenuator(), "aux": Plain{}}, ServerOptions{BuiltinTerminate: true})
		rc, id := ts.sipycoRaw(t)
		want := map[string]any{"targets": []any{"aux", "lda"}, "description": nil, "features": []any{"pyon_v2"}}
		if !reflect.DeepEqual(id, want) {
			t.Fatalf("identification %v, want %v", id, want)
		}
		names := rc.sipycoSelect("aux")
		if !reflect.DeepEqual(names, []string{"scale", "terminate"}) {
			t.Fatalf("method names %v", names)
		}
		expectOK(t, rc.request(pyCall("scale", "2.5, 2", "")), 5.0)
		expectOK(t, rc.request(pyCall("Scale", "2", `"arg1": 3`)), 6.0) // Go name; argN keyword
	})
}

// logBuffer is an slog destination for tests.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// SiPyCo has no refusal message: the server closes, and logs why.
func TestSiPyCoHandshakeRefused(t *testing.T) {
	var logs logBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ts := startServer(t, transports[0], map[string]any{"lda": newAttenuator()},
		ServerOptions{Logger: logger, HandshakeTimeout: 200 * time.Millisecond})
	tests := []struct {
		name, line, log string
	}{
		{"PYON v1 client", "lda", "level=WARN msg=\"rpc: refused a SiPyCo client\"" + ` remote=`},
		{"unknown feature", "lda pyon_v2 pyon_v3", `unsupported feature \"pyon_v3\"`},
		{"unknown target", "nope pyon_v2", `unknown target \"nope\"; this server has: lda`},
		{"no line", "", "handshake timeout: no target selected within 200ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, _ := ts.sipycoRaw(t)
			if tt.line != "" {
				rc.line(tt.line)
			}
			rc.expectEOF()
			if !strings.Contains(logs.String(), tt.log) {
				t.Fatalf("log lacks %q:\n%s", tt.log, logs.String())
			}
		})
	}
	if !strings.Contains(logs.String(), pyon.ErrV1.Error()[:40]) {
		t.Fatalf("the PYON v1 refusal does not log pyon.ErrV1:\n%s", logs.String())
	}
	assertServes(t, ts)
}

func TestSiPyCoBadRequests(t *testing.T) {
	ts := startServer(t, transports[0], map[string]any{"lda": newAttenuator()}, ServerOptions{MaxFrameSize: 4096})
	rc, _ := ts.sipycoRaw(t)
	rc.sipycoSelect("lda")
	tests := []struct {
		name, req, class, msg string
	}{
		{"not PYON", `{"action": `, "ValueError", "cannot decode the request: pyon: invalid JSON"},
		{"PYON v1", `{'action': 'call'}`, "ValueError", "PYON v1 is not supported"},
		{"not a dict", `[1, 2]`, "TypeError", "a request must be a dict, not list"},
		{"no action", `{"name": "add"}`, "KeyError", "'action'"},
		{"unknown action", `{"action": "remote_exec"}`, "ValueError", "Unknown action: remote_exec"},
		{"no name", `{"action": "call", "args": [], "kwargs": {}}`, "KeyError", "'name'"},
		{"name not a str", `{"action": "call", "name": 5, "args": [], "kwargs": {}}`, "TypeError", "attribute name must be string, not 'int'"},
		{"no args", `{"action": "call", "name": "add", "kwargs": {}}`, "KeyError", "'args'"},
		{"no kwargs", `{"action": "call", "name": "add", "args": [1, 2]}`, "KeyError", "'kwargs'"},
		{"args not a list", `{"action": "call", "name": "add", "args": 5, "kwargs": {}}`, "TypeError", "argument after * must be a list or tuple, not int"},
		{"kwargs not a dict", `{"action": "call", "name": "add", "args": [], "kwargs": []}`, "TypeError", "argument after ** must be a mapping, not list"},
		{"kwargs key not a str", `{"action": "call", "name": "greet", "args": ["x"], "kwargs": {"__jsonclass__": ["dict", [[[1, 2]]]]}}`, "TypeError", "keywords must be strings"},
		{"unknown method", pyCall("ad", "1, 2", ""), "AttributeError", `unknown method "ad" of target "lda"; did you mean add?`},
		{"unexported method", pyCall("reset", "", ""), "AttributeError", `unknown method "reset"`},
		{"wrong type", pyCall("set_attenuation", `"x"`, ""), "TypeError", `set_attenuation: argument 1: cannot use string "x" as float64`},
		{"too many", pyCall("add", "1, 2, 3", ""), "TypeError", "add: takes 2 arguments, got 3"},
		{"missing", pyCall("add", "1", ""), "TypeError", "add: missing argument 2 (y int)"},
		{"out of range", pyCall("small", "300", ""), "TypeError", "small: argument 1: cannot use int 300 as int8"},
		{"unexpected keyword", pyCall("greet", `"bob"`, `"bogus": 1`), "TypeError", `greet: unexpected keyword argument "bogus"`},
		{"given twice", pyCall("add", "1, 2", `"x": 1`), "TypeError", "add: argument 1 (x) given more than once"},
		{"bad keyword value", pyCall("greet", `"bob"`, `"times": "many"`), "TypeError", `greet: keyword argument "times": cannot use string "many" as int`},
		{"plain error", pyCall("fail", "", ""), pyGeneric, "error: attenuation out of range"},
		{"typed error", pyCall("fail_typed", "", ""), pyGeneric, "rpc.RangeError: 99 dB out of range 0-63"},
		{"panic", pyCall("panic", "", ""), pyGeneric, "rpc.Panic: panic: boom"},
		{"line too long", strings.Repeat("x", 5000), "ValueError", "request line exceeds the size limit of 4096 bytes"},
		{"result too large", pyCall("zeros", "4000", ""), "ValueError", "cannot send the result: a reply of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectFailed(t, rc.request(tt.req), tt.class, tt.msg)
		})
	}
	// The panic's stack travels as the traceback.
	reply := rc.request(pyCall("panic", "", ""))
	if tb := reply["exception"].(map[string]any)["traceback"].([]any); len(tb) != 1 || !strings.Contains(tb[0].(string), "goroutine") {
		t.Fatalf("panic traceback %v", tb)
	}
	// The connection still serves.
	expectOK(t, rc.request(pyCall("add", "1, 2", "")), int64(3))
	expectOK(t, rc.request(pyCall("greet", `"bob"`, `"greeting": "hi", "times": 2`)), "hi bob bob")
	expectOK(t, rc.request(pyCall("configure", "", `"shout": true`)), "/0")
	expectOK(t, rc.request(pyCall("sum", `"s", 1, 2, 3`, "")), "s=6")
	expectOK(t, rc.request(`{"action":"call","name":"add","args":[1,2],"kwargs":{}}`), int64(3)) // a list for args
}

func TestSiPyCoErrorClasses(t *testing.T) {
	tests := []struct {
		err          error
		class, msg   string
		traceback    bool
		classCarried bool
	}{
		{fmt.Errorf("%w: 99 dB is outside 0-31.5 dB", ErrValue), "ValueError", "99 dB is outside 0-31.5 dB", false, false},
		{fmt.Errorf("channel 9: %w", ErrValue), "ValueError", "channel 9", false, false},
		{ErrValue, "ValueError", "rpc: invalid value", false, false},
		{&strconv.NumError{Func: "ParseInt", Num: "x", Err: strconv.ErrSyntax}, "ValueError", `strconv.ParseInt: parsing "x": invalid syntax`, false, false},
		{pyErr{"KeyError", "'ch3'"}, "KeyError", "'ch3'", false, false},
		{fmt.Errorf("wrapped: %w", pyErr{"IndexError", "out"}), "IndexError", "wrapped: out", false, false},
		{pyErr{"DeviceError", "not responding"}, pyGeneric, "DeviceError: not responding", false, false},
		{pyErr{"SystemExit", "bye"}, pyGeneric, "SystemExit: bye", false, false},
		{context.DeadlineExceeded, "TimeoutError", "context deadline exceeded", false, false},
		{context.Canceled, pyGeneric, "context.Canceled: context canceled", false, false},
		{errors.ErrUnsupported, "NotImplementedError", "unsupported operation", false, false},
		{&os.PathError{Op: "open", Path: "/x", Err: os.ErrNotExist}, "FileNotFoundError", "open /x: file does not exist", false, false},
		{os.ErrPermission, "PermissionError", "permission denied", false, false},
		{errors.New("plain"), pyGeneric, "error: plain", false, false},
		{&RangeError{99}, pyGeneric, "rpc.RangeError: 99 dB out of range 0-63", false, false},
		{&RemoteError{Type: "ValueError", Message: "from python", Traceback: "tb"}, "ValueError", "from python", true, false},
		{&RemoteError{Type: pyGeneric, Message: "X: y"}, pyGeneric, "X: y", false, false},
		{&RemoteError{Type: TypeUnknownMethod, Message: "m"}, "AttributeError", "m", false, false},
		{&RemoteError{Type: "main.Custom", Message: "m"}, pyGeneric, "main.Custom: m", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			e := sipycoException(tt.err)
			if e.Class != tt.class || e.Message != tt.msg || (len(e.Traceback) > 0) != tt.traceback {
				t.Fatalf("%#v → %+v, want %s %q", tt.err, e, tt.class, tt.msg)
			}
		})
	}
}

// pyErr names its Python class.
type pyErr struct{ class, msg string }

func (e pyErr) Error() string       { return e.msg }
func (e pyErr) PythonClass() string { return e.class }

func TestSiPyCoArgspec(t *testing.T) {
	tests := []struct {
		target      any
		method, sig string
	}{
		{&Attenuator{}, "set_attenuation", "(self, db: 'float')"},
		{&Attenuator{}, "get_attenuation", "(self) -> 'float'"},
		{&Attenuator{}, "sum", "(self, label: 'str', *xs: 'int') -> 'str'"},
		{&Attenuator{}, "greet", "(self, name: 'str', *, greeting: 'str' = '', times: 'int' = 0, shout: 'bool' = False) -> 'str'"},
		{&Attenuator{}, "configure", "(self, *, greeting: 'str' = '', times: 'int' = 0, shout: 'bool' = False) -> 'str'"},
		{&Attenuator{}, "block", "(self, tag: 'str')"},
		{&Attenuator{}, "echo", "(self, arg0)"},
		{&Attenuator{}, "echo_bytes", "(self, arg0: 'bytes') -> 'bytes'"},
		{&Attenuator{}, "echo_map", "(self, arg0: 'dict') -> 'dict'"},
		{&Attenuator{}, "echo_ints", "(self, arg0: 'list') -> 'list'"},
		{&Attenuator{}, "echo_point", "(self, *, x: 'float' = 0.0, y: 'float' = 0.0, tag: 'str' = '') -> 'dict'"},
		{Plain{}, "scale", "(self, arg0: 'float', arg1: 'int') -> 'float'"},
		{&Controller{}, "add", "(self, a: 'int', b: 'int', *, scale: 'int' = None) -> 'int'"},
		{&Controller{}, "slow", "(self, t: 'float') -> 'float'"},
		{pyTypes{}, "f", "(self, arg0: 'tuple', arg1: 'set', arg2: 'ndarray', arg3, arg4: 'Fraction', arg5: 'int', arg6: 'str', arg7: 'int')"},
		// Defaults as SiPyCo renders them (Python's repr): bytes as b'', not PYON JSON.
		{pyTypes{}, "g", "(self, *, prefix: 'bytes' = b'', gain: 'complex' = 0j, rate: 'Fraction' = Fraction(0, 1))"},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			tb, err := tableFor(reflect.TypeOf(tt.target))
			if err != nil {
				t.Fatal(err)
			}
			m := tb.byName[tt.method]
			if m == nil {
				t.Fatalf("no method %s", tt.method)
			}
			// Through PYON and back, as a client sees it.
			b, err := pyon.Encode(sipycoArgspec(m))
			if err != nil {
				t.Fatal(err)
			}
			spec, err := pyon.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if got := formatArgspec(spec.(map[string]any)); got != tt.sig {
				t.Fatalf("signature %s, want %s\nargspec %s", got, tt.sig, b)
			}
		})
	}
}

type pyTypes struct{}

type pyDefaults struct {
	Prefix []byte
	Gain   complex128
	Rate   pyon.Fraction
}

func (pyTypes) G(pyDefaults) {}

func (pyTypes) F(pyon.Tuple, pyon.Set, pyon.NDArray, pyon.NPScalar, *pyon.Fraction, *big.Int, netip.Addr, time.Duration) {
}

func TestSiPyCoMethodList(t *testing.T) {
	ts := startController(t, transports[0], ServerOptions{})
	rc, _ := ts.sipycoRaw(t)
	rc.sipycoSelect("lda")
	reply := rc.request(`{"action": "get_rpc_method_list"}`)
	ret, _ := reply["ret"].(map[string]any)
	if ret["docstring"] != "Attenuator controller used to record SiPyCo wire transcripts." {
		t.Fatalf("docstring %v", ret["docstring"])
	}
	methods := ret["methods"].(map[string]any)
	want := map[string]string{
		"add":             "Return (a+b)*scale.",
		"echo":            "",
		"fail":            "",
		"fail_custom":     "",
		"get_attenuation": "Return the attenuation in dB.",
		"set_attenuation": "Set the attenuation in dB.",
		"slow":            "",
		"terminate":       "Terminate the server.",
	}
	if len(methods) != len(want) {
		t.Fatalf("methods %v", methods)
	}
	for name, doc := range want {
		e, ok := methods[name].(pyon.Tuple)
		if !ok || len(e) != 2 {
			t.Fatalf("%s: %v is not an (argspec, doc) tuple", name, methods[name])
		}
		if (doc == "" && e[1] != nil) || (doc != "" && e[1] != doc) {
			t.Errorf("%s: doc %v, want %q", name, e[1], doc)
		}
	}
	// SiPyCo's own listing of terminate, byte for byte.
	b, _ := pyon.Encode(methods["terminate"])
	if w := `{"__jsonclass__":["tuple",[[{"args":["self"],"defaults":null,"kwonlyargs":[],"kwonlydefaults":[],"varargs":null,"varkw":null},"Terminate the server."]]]}`; string(b) != w {
		t.Errorf("terminate listed as %s", b)
	}
}

// The same server on the same port serves native and SiPyCo clients at
// once, behind a wire.Mux too.
func TestSiPyCoAndNativeTogether(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr transport) {
		ts := startController(t, tr, ServerOptions{AllowParallel: true})
		ctx := testCtx(t)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := 0; i < 4; i++ {
			for _, p := range []Protocol{ProtocolNative, ProtocolSiPyCo} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					opts := ts.clientOpts(t)
					opts.Protocol = p
					c, err := Dial(ctx, ts.addr, "lda", opts)
					if err != nil {
						errs <- err
						return
					}
					defer c.Close()
					if c.Protocol() != p {
						errs <- fmt.Errorf("asked for %v, speaks %v", p, c.Protocol())
						return
					}
					for j := 0; j < 20; j++ {
						var sum int
						if err := c.CallInto(ctx, &sum, "add", i, j, Kwargs{"scale": 2}); err != nil || sum != 2*(i+j) {
							errs <- fmt.Errorf("%v: add(%d, %d, scale=2) = %d, %v", p, i, j, sum, err)
							return
						}
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

// SiPyCo and native calls to one target share its serialisation.
func TestSiPyCoSerialised(t *testing.T) {
	a := newAttenuator()
	ts := startServer(t, transports[0], map[string]any{"lda": a}, ServerOptions{})
	release := releaseOnCleanup(t, a.release) // a failing assertion must not leave it blocked
	native := ts.dial(t, "lda")
	ctx := testCtx(t)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		native.Call(ctx, "hold", "native")
	}()
	if got := <-a.started; got != "native" {
		t.Fatalf("started %q", got)
	}
	rc, _ := ts.sipycoRaw(t)
	rc.sipycoSelect("lda")
	rc2, _ := ts.sipycoRaw(t)
	rc2.sipycoSelect("lda")
	rc.line(pyCall("hold", `"sipyco"`, ""))
	rc2.line(pyCall("wait", `"sipyco ctx"`, ""))
	time.Sleep(50 * time.Millisecond) // give them a chance to run, wrongly
	select {
	case tag := <-a.started:
		t.Fatalf("%q started while a native call held the target", tag)
	default:
	}
	release()
	expectOK(t, rc.readPyon().(map[string]any), "sipyco")
	expectOK(t, rc2.readPyon().(map[string]any), "sipyco ctx")
}

// Hanging up ends the contexts of the connection's call; the server's
// Shutdown lets a call in flight finish and answer; terminate ends Serve.
func TestSiPyCoLifecycle(t *testing.T) {
	t.Run("hang up", func(t *testing.T) {
		a := newAttenuator()
		ts := startServer(t, transports[0], map[string]any{"lda": a}, ServerOptions{})
		rc, _ := ts.sipycoRaw(t)
		rc.sipycoSelect("lda")
		rc.line(pyCall("block", `"x"`, ""))
		<-a.started
		rc.Close()
		if err := <-a.ended; !errors.Is(err, context.Canceled) {
			t.Fatalf("the call's context ended with %v", err)
		}
	})
	t.Run("shutdown", func(t *testing.T) {
		a := newAttenuator()
		ts := startServer(t, transports[0], map[string]any{"lda": a}, ServerOptions{})
		release := releaseOnCleanup(t, a.release) // a failing assertion must not leave it blocked
		rc, _ := ts.sipycoRaw(t)
		rc.sipycoSelect("lda")
		idle, _ := ts.sipycoRaw(t)
		idle.sipycoSelect("lda")
		rc.line(pyCall("wait", `"x"`, ""))
		<-a.started
		done := make(chan error, 1)
		go func() { done <- ts.Shutdown(testCtx(t)) }()
		idle.expectEOF() // an idle connection is closed at once
		release()
		expectOK(t, rc.readPyon().(map[string]any), "x")
		rc.expectEOF()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("terminate", func(t *testing.T) {
		ts := startController(t, transports[0], ServerOptions{})
		rc, _ := ts.sipycoRaw(t)
		rc.sipycoSelect("lda")
		expectOK(t, rc.request(pyCall("terminate", "", "")), nil)
		if err := ts.WaitTerminate(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		rc.expectEOF()
		if err := <-ts.done; err != nil {
			t.Fatalf("Serve after terminate: %v", err)
		}
		ts.done <- nil // for the cleanup
	})
}

// kwTarget has parameter names Python does not accept as they are.
type kwTarget struct{}

// SweepOptions has a field by a name that is not a Python identifier, and
// one shadowed by a parameter.
type SweepOptions struct {
	MaxRate float64 `msgpack:"max-rate"`
	To      float64
}

func (kwTarget) Sweep(from, to float64, opts SweepOptions) string {
	return fmt.Sprint(from, to, opts.MaxRate, opts.To)
}

func init() {
	RegisterDoc(kwTarget{}, TargetDoc{Methods: map[string]MethodDoc{"Sweep": {Params: []string{"from", "to", "opts"}}}})
}

func TestSiPyCoPythonNames(t *testing.T) {
	tb, err := tableFor(reflect.TypeOf(kwTarget{}))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pyon.Encode(sipycoArgspec(tb.byName["sweep"]))
	spec, _ := pyon.Decode(b)
	if got, want := formatArgspec(spec.(map[string]any)), "(self, from_: 'float', to: 'float', *, max_rate: 'float' = 0.0) -> 'str'"; got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
	ts := startServer(t, transports[0], map[string]any{"k": kwTarget{}}, ServerOptions{})
	rc, _ := ts.sipycoRaw(t)
	rc.sipycoSelect("k")
	expectOK(t, rc.request(pyCall("sweep", "", `"from_": 1, "to": 2, "max_rate": 3`)), "1 2 3 0")
	expectOK(t, rc.request(pyCall("sweep", "1, 2", `"max-rate": 3, "To": 4`)), "1 2 3 4") // native names too
}

func (kwTarget) Unsendable() any { return make(chan int) }

func TestSiPyCoUnsendableResult(t *testing.T) {
	ts := startServer(t, transports[0], map[string]any{"k": kwTarget{}}, ServerOptions{})
	rc, _ := ts.sipycoRaw(t)
	rc.sipycoSelect("k")
	expectFailed(t, rc.request(pyCall("unsendable", "", "")), "TypeError", "cannot send the result: pyon: unsupported value")
	expectOK(t, rc.request(pyCall("sweep", "1, 2", "")), "1 2 0 0")
}
