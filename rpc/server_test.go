package rpc

import (
	"context"
	"errors"
	"math"
	"math/big"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/snake"
	"github.com/sigoco/sigoco/pyon"
)

func TestCall(t *testing.T) {
	tests := []struct {
		name   string
		method string
		args   []any
		want   any
	}{
		{"int", "add", []any{1, 2}, int64(3)},
		{"go name", "Add", []any{-1, 2}, int64(1)},
		{"float", "ratio", []any{1.5}, 3.0},
		{"int into float", "ratio", []any{2}, 4.0},
		{"bool", "flag", []any{true}, false},
		{"int8", "small", []any{-100}, int64(-100)},
		{"uint", "unsigned", []any{uint64(math.MaxUint64)}, uint64(math.MaxUint64)}, // the value model: uint64 beyond int64
		{"echo huge int", "echo", []any{hugeInt()}, hugeInt()},
		{"no result", "ping", nil, nil},
		{"variadic", "sum", []any{"t", 1, 2, 3}, "t=6"},
		{"variadic empty", "sum", []any{"t"}, "t=0"},
		{"echo nil", "echo", []any{nil}, nil},
		{"echo big int", "echo", []any{int64(1) << 40}, int64(1) << 40},
		{"echo negative", "echo", []any{-300}, int64(-300)},
		{"echo string", "echo", []any{"héllo"}, "héllo"},
		{"echo bytes", "echo", []any{[]byte{0, 1, 2}}, []byte{0, 1, 2}},
		{"echo list", "echo", []any{[]any{1, "a", nil, 2.5}}, []any{int64(1), "a", nil, 2.5}},
		{"echo map", "echo", []any{map[string]any{"a": 1, "b": []any{true}}}, map[string]any{"a": int64(1), "b": []any{true}}},
		{"echo int keys", "echo", []any{map[int]string{1: "x"}}, pyon.Dict{{Key: int64(1), Value: "x"}}},
		// A []int64 result travels packed and is a list untyped (CallInto
		// with a []int64 gets it in place).
		{"echo ints", "echo_ints", []any{[]int64{1, -2, 300, 1 << 40}}, []any{int64(1), int64(-2), int64(300), int64(1 << 40)}},
		{"echo ints sent unpacked", "echo_ints", []any{[]any{1, -2}}, []any{int64(1), int64(-2)}},
		{"tuple into slice", "echo_ints", []any{pyon.Tuple{1, 2}}, []any{int64(1), int64(2)}},
		{"set into slice", "echo_ints", []any{pyon.Set{Items: []any{int64(3)}}}, []any{int64(3)}},
		{"bytes", "echo_bytes", []any{[]byte("abc")}, []byte("abc")},
		{"struct", "echo_point", []any{Point{1, 2, "p"}}, map[string]any{"x": 1.0, "y": 2.0, "tag": "p"}},
		{"struct from map", "echo_point", []any{map[string]any{"X": 1, "Tag": "q"}}, map[string]any{"x": 1.0, "y": 0.0, "tag": "q"}},
		{"typed map", "echo_map", []any{map[string]int{"a": 1}}, map[string]any{"a": int64(1)}},
		{"options left out", "greet", []any{"bob"}, "hello bob"},
		{"options by keyword", "greet", []any{"bob", Kwargs{"greeting": "hi", "times": 2}}, "hi bob bob"},
		{"options by Go field name", "greet", []any{"bob", Kwargs{"Greeting": "yo"}}, "yo bob"},
		{"options by tag", "greet", []any{"bob", Kwargs{"shout": true}}, "hello bob"},
		{"param by keyword", "greet", []any{Kwargs{"name": "ann"}}, "hello ann"},
		{"param and options by keyword", "greet", []any{Kwargs{"times": 2, "name": "ann"}}, "hello ann ann"},
		{"options given positionally", "greet", []any{"bob", map[string]any{"Times": 3}}, "hello bob bob bob"},
		{"pointer options left out", "configure", nil, "defaults"},
		{"pointer options by keyword", "configure", []any{Kwargs{"greeting": "g", "times": 3}}, "g/3"},
		{"keyword by snake name", "set_attenuation", []any{Kwargs{"db": 7}}, nil},
	}
	forEachTransportMux(t, func(t *testing.T, tr transport) {
		ts := startServer(t, tr, map[string]any{"lda": newAttenuator()}, ServerOptions{})
		c := ts.dial(t, "lda")
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := c.Call(testCtx(t), tt.method, tt.args...)
				if err != nil {
					t.Fatalf("%s%v: %v", tt.method, tt.args, err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("%s%v = %#v, want %#v", tt.method, tt.args, got, tt.want)
				}
			})
		}
	})
}

func TestCallErrors(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		args    []any
		is      error  // errors.Is target, or nil
		typ     string // RemoteError.Type
		message string // exact message, or prefix when it ends with "…"
	}{
		{"wrong type", "set_attenuation", []any{"x"}, ErrBadArguments, TypeBadArguments, `set_attenuation: argument 1: cannot use string "x" as float64`},
		{"nil for float", "set_attenuation", []any{nil}, ErrBadArguments, TypeBadArguments, `set_attenuation: argument 1: cannot use nil as float64`},
		{"float for int", "add", []any{1, 2.5}, ErrBadArguments, TypeBadArguments, `add: argument 2: cannot use float64 2.5 as int`},
		{"list for int", "add", []any{[]int{1}, 2}, ErrBadArguments, TypeBadArguments, `add: argument 1: cannot use array of 1 element as int`},
		{"out of range", "small", []any{300}, ErrBadArguments, TypeBadArguments, `small: argument 1: cannot use int 300 as int8 (out of range)`},
		{"negative unsigned", "unsigned", []any{-1}, ErrBadArguments, TypeBadArguments, `unsigned: argument 1: cannot use int -1 as uint (out of range)`},
		{"bad element", "echo_ints", []any{[]any{1, "two"}}, ErrBadArguments, TypeBadArguments, `echo_ints: argument 1: cannot use array of 2 elements as []int64 (element 1: type mismatch)`},
		{"bad variadic", "sum", []any{"t", 1, "x"}, ErrBadArguments, TypeBadArguments, `sum: argument 3: cannot use string "x" as int`},
		{"missing", "add", []any{1}, ErrBadArguments, TypeBadArguments, `add: missing argument 2 (y int)`},
		{"missing no docs", "scale", []any{1.5}, ErrBadArguments, TypeBadArguments, `scale: missing argument 2 (int)`},
		{"too many", "add", []any{1, 2, 3}, ErrBadArguments, TypeBadArguments, `add: takes 2 arguments, got 3`},
		{"unknown keyword", "greet", []any{"bob", Kwargs{"bogus": 1}}, ErrBadArguments, TypeBadArguments, `greet: unexpected keyword argument "bogus"`},
		{"keyword twice", "add", []any{1, Kwargs{"x": 2}}, ErrBadArguments, TypeBadArguments, `add: argument 1 (x) given more than once`},
		{"keyword without docs", "scale", []any{Kwargs{"x": 2}}, ErrBadArguments, TypeBadArguments, `scale: unexpected keyword argument "x": this server does not know the parameter names of scale (pass the arguments by position, or have the server generate its names: add //go:generate go run github.com/sigoco/sigoco/cmd/sigoco-gen -type Plain to the package that defines Plain and run go generate)`},
		{"keyword wrong type", "greet", []any{"bob", Kwargs{"times": "many"}}, ErrBadArguments, TypeBadArguments, `greet: keyword argument "times": cannot use string "many" as int`},
		{"struct unknown field", "echo_point", []any{map[string]any{"Z": 1}}, ErrBadArguments, TypeBadArguments, `echo_point: argument 1: cannot use map of 1 entry as rpc.Point (unknown field "Z")`},
		{"typed error", "set_attenuation", []any{99}, nil, "rpc.RangeError", "99 dB out of range 0-63"},
		{"plain error", "fail", nil, nil, "error", "attenuation out of range"},
		{"value and error", "fail_typed", nil, nil, "rpc.RangeError", "99 dB out of range 0-63"},
		{"panic", "panic", nil, nil, TypePanic, "panic: boom"},
		{"unknown", "nope", nil, ErrUnknownMethod, TypeUnknownMethod, `unknown method "nope" of target "lda"`},
	}
	forEachTransportMux(t, func(t *testing.T, tr transport) {
		ts := startServer(t, tr, map[string]any{"lda": newAttenuator(), "plain": Plain{}}, ServerOptions{})
		c := ts.dial(t, "lda")
		cp := ts.dial(t, "plain")
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				cl := c
				if tt.method == "scale" {
					cl = cp
				}
				_, err := cl.Call(testCtx(t), tt.method, tt.args...)
				var re *RemoteError
				if !errors.As(err, &re) {
					t.Fatalf("%s%v: err = %v, want a *RemoteError", tt.method, tt.args, err)
				}
				if tt.is != nil && !errors.Is(err, tt.is) {
					t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
				}
				if re.Type != tt.typ {
					t.Errorf("Type = %q, want %q", re.Type, tt.typ)
				}
				if re.Message != tt.message {
					t.Errorf("Message = %q\nwant      %q", re.Message, tt.message)
				}
				if tt.typ == TypePanic && !strings.Contains(re.Traceback, "(*Attenuator).Panic") {
					t.Errorf("traceback does not show the panicking method:\n%s", re.Traceback)
				}
				if errors.Is(err, ErrClosed) {
					t.Errorf("a remote error matches ErrClosed")
				}
			})
		}
		// The connection survives all of that.
		if got, err := c.Call(testCtx(t), "add", 2, 2); err != nil || got != int64(4) {
			t.Fatalf("add after errors = %v, %v", got, err)
		}
	})
}

func TestCallInto(t *testing.T) {
	forEachTransportMux(t, func(t *testing.T, tr transport) {
		ts := startServer(t, tr, map[string]any{"lda": newAttenuator()}, ServerOptions{})
		c := ts.dial(t, "lda")
		ctx := testCtx(t)

		if err := c.CallInto(ctx, nil, "set_attenuation", 12.5); err != nil {
			t.Fatal(err)
		}
		var db float64
		if err := c.CallInto(ctx, &db, "get_attenuation"); err != nil || db != 12.5 {
			t.Fatalf("get_attenuation = %v, %v", db, err)
		}
		in := make([]int64, 5000)
		for i := range in {
			in[i] = int64(i*i) - 1000
		}
		var out []int64
		if err := c.CallInto(ctx, &out, "echo_ints", in); err != nil || !reflect.DeepEqual(in, out) {
			t.Fatalf("echo_ints: %v (equal %v)", err, reflect.DeepEqual(in, out))
		}
		var floats []float64
		if err := c.CallInto(ctx, &floats, "echo", []float64{1.5, -2}); err != nil || !reflect.DeepEqual(floats, []float64{1.5, -2}) {
			t.Fatalf("echo floats = %v, %v", floats, err)
		}
		var p Point
		if err := c.CallInto(ctx, &p, "echo_point", Point{3, 4, "t"}); err != nil || p != (Point{3, 4, "t"}) {
			t.Fatalf("echo_point = %v, %v", p, err)
		}
		var s string
		err := c.CallInto(ctx, &s, "add", 1, 2)
		var re *RemoteError
		if err == nil || errors.As(err, &re) || err.Error() != "rpc: add: result: cannot use int 3 as string" {
			t.Fatalf("typed mismatch: %v", err)
		}
		if err := c.CallInto(ctx, s, "add", 1, 2); err == nil {
			t.Fatal("CallInto with a non-pointer result succeeded")
		}
	})
}

func TestListMethods(t *testing.T) {
	forEachTransportMux(t, func(t *testing.T, tr transport) {
		ts := startServer(t, tr, map[string]any{"lda": newAttenuator(), "plain": Plain{}}, ServerOptions{Description: "test server"})
		c := ts.dial(t, "lda")
		if got := c.Description(); got != "test server" {
			t.Errorf("Description = %q", got)
		}
		if got := c.Targets(); !reflect.DeepEqual(got, []string{"lda", "plain"}) {
			t.Errorf("Targets = %v", got)
		}
		if got := c.Target(); got != "lda" {
			t.Errorf("Target = %q", got)
		}
		info, err := c.ListMethods(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if info.Name != "lda" || info.Doc != "Attenuator is the test target." {
			t.Errorf("target info = %q, %q", info.Name, info.Doc)
		}
		byName := map[string]MethodInfo{}
		var names []string
		for _, m := range info.Methods {
			byName[m.Name] = m
			names = append(names, m.Name)
		}
		if !sortedStrings(names) {
			t.Errorf("methods not sorted: %v", names)
		}
		for _, hidden := range []string{"reset", "exposed", "Exposed", "mu"} {
			if _, ok := byName[hidden]; ok {
				t.Errorf("%s is listed", hidden)
			}
		}
		want := map[string]MethodInfo{
			"set_attenuation": {Name: "set_attenuation", GoName: "SetAttenuation", Params: []Param{{"db", "float64"}}, Results: []string{"error"}, Doc: "SetAttenuation sets the attenuation in dB."},
			"sum":             {Name: "sum", GoName: "Sum", Params: []Param{{"label", "string"}, {"xs", "...int"}}, Results: []string{"string"}, Variadic: true},
			"block":           {Name: "block", GoName: "Block", Params: []Param{{"tag", "string"}}, Results: []string{"error"}},
			"echo":            {Name: "echo", GoName: "Echo", Params: []Param{{"", "any"}}, Results: []string{"any"}},
			"ping":            {Name: "ping", GoName: "Ping", Params: []Param{}, Results: []string{}},
			"small":           {Name: "small", GoName: "Small", Params: []Param{{"", "int8"}}, Results: []string{"int8"}},
			"fail_typed":      {Name: "fail_typed", GoName: "FailTyped", Params: []Param{}, Results: []string{"int", "error"}},
			"configure":       {Name: "configure", GoName: "Configure", Params: []Param{{"", "*rpc.GreetOptions"}}, Results: []string{"string"}},
		}
		for name, w := range want {
			if got := byName[name]; !reflect.DeepEqual(got, w) {
				t.Errorf("%s:\n got %+v\nwant %+v", name, got, w)
			}
		}
		cp := ts.dial(t, "plain")
		pinfo, err := cp.ListMethods(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		wantPlain := &TargetInfo{Name: "plain", Methods: []MethodInfo{{Name: "scale", GoName: "Scale", Params: []Param{{"", "float64"}, {"", "int"}}, Results: []string{"float64"}}}}
		if !reflect.DeepEqual(pinfo, wantPlain) {
			t.Errorf("plain:\n got %+v\nwant %+v", pinfo, wantPlain)
		}
	})
}

func sortedStrings(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] > s[i] {
			return false
		}
	}
	return true
}

// Counter is made per connection by a factory target.
type Counter struct{ n int }

func (c *Counter) Inc() int { c.n++; return c.n }

func TestFactoryTarget(t *testing.T) {
	forEachTransportMux(t, func(t *testing.T, tr transport) {
		var made atomic.Int32
		ts := startServer(t, tr, map[string]any{
			"counter": func() *Counter { made.Add(1); return &Counter{} },
			"iface":   func() (any, error) { return &Counter{n: 10}, nil },
			"broken":  func() (*Counter, error) { return nil, errors.New("no device") },
		}, ServerOptions{})
		c1, c2 := ts.dial(t, "counter"), ts.dial(t, "counter")
		for _, want := range []int64{1, 2} {
			if got, err := c1.Call(testCtx(t), "inc"); err != nil || got != want {
				t.Fatalf("c1 inc = %v, %v; want %d", got, err, want)
			}
		}
		if got, err := c2.Call(testCtx(t), "inc"); err != nil || got != int64(1) {
			t.Fatalf("c2 inc = %v, %v; want 1 (own object)", got, err)
		}
		if made.Load() != 2 {
			t.Errorf("factory called %d times, want 2", made.Load())
		}
		ci := ts.dial(t, "iface")
		if got, err := ci.Call(testCtx(t), "inc"); err != nil || got != int64(11) {
			t.Fatalf("iface inc = %v, %v", got, err)
		}
		_, err := Dial(testCtx(t), ts.addr, "broken", ts.clientOpts(t))
		if !errors.Is(err, ErrIncompatibleServer) || !strings.Contains(err.Error(), "no device") {
			t.Fatalf("Dial broken = %v", err)
		}
	})
}

func TestNewServerErrors(t *testing.T) {
	tests := []struct {
		name    string
		targets map[string]any
	}{
		{"none", map[string]any{}},
		{"space in name", map[string]any{"a b": Plain{}}},
		{"empty name", map[string]any{"": Plain{}}},
		{"nil", map[string]any{"a": nil}},
		{"nil pointer", map[string]any{"a": (*Attenuator)(nil)}},
		{"bad factory", map[string]any{"a": func(int) *Counter { return nil }}},
		{"bad factory results", map[string]any{"a": func() (*Counter, int) { return nil, 0 }}},
		{"colliding names", map[string]any{"a": Colliding{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := NewServer(tt.targets, ServerOptions{}); err == nil {
				s.Close()
				t.Fatal("NewServer succeeded")
			}
		})
	}
}

// Colliding has two methods with the same wire name.
type Colliding struct{}

func (Colliding) GetID() int  { return 1 }
func (Colliding) Get_id() int { return 2 }

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"SetAttenuation": "set_attenuation",
		"Add":            "add",
		"GetHTTPStatus":  "get_http_status",
		"ID":             "id",
		"GetID":          "get_id",
		"Get_id":         "get_id",
		"Sweep2D":        "sweep2d",
		"Get2Values":     "get2_values",
		"URLForName":     "url_for_name",
		"x":              "x",
	} {
		if got := snake.Case(in); got != want {
			t.Errorf("snake.Case(%q) = %q, want %q", in, got, want)
		}
	}
}

// One connection cannot pile up calls without bound: past MaxCallsPerConn
// a call fails at once, and the connection keeps working.
func TestMaxCallsPerConn(t *testing.T) {
	forEachTransportMux(t, func(t *testing.T, tr transport) {
		att := newAttenuator()
		ts := startServer(t, tr, map[string]any{"lda": att}, ServerOptions{MaxCallsPerConn: 1})
		release := releaseOnCleanup(t, att.release) // a failing assertion must not leave it blocked
		c := ts.dial(t, "lda")
		ctx := testCtx(t)
		done := make(chan error, 1)
		go func() {
			_, err := c.Call(ctx, "wait", "first")
			done <- err
		}()
		<-att.started // the first call is running, so it is in flight
		// Without the limit this call would wait for the first one.
		short, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err := c.Call(short, "add", 1, 2)
		var re *RemoteError
		if !errors.As(err, &re) || re.Type != TypeTooManyCalls {
			t.Fatalf("second call: %v, want a %s remote error", err, TypeTooManyCalls)
		}
		release()
		if err := <-done; err != nil {
			t.Fatalf("first call: %v", err)
		}
		for i := range 20 { // each reply frees its slot before it is sent
			var got string
			if err := c.CallInto(ctx, &got, "wait", "again"); err != nil || got != "again" {
				t.Fatalf("call %d after the first finished: %q, %v", i, got, err)
			}
			<-att.started
		}
	})
}

// hugeInt is 123456789012345678901234567890.
func hugeInt() *big.Int {
	x, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	return x
}
