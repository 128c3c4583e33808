package rpc

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/wire"
)

// TestSiPyCoReplayClient has a fake server play each recorded session's
// server side to the Go client, which makes the calls SiPyCo's client
// made: the fake checks every line the Go client sends against the
// recorded one (as PYON values), and the test checks every result against
// the recorded reply — and, for replayTyped, the typed Go value CallInto
// gives.
func TestSiPyCoReplayClient(t *testing.T) {
	for _, s := range sipycoRecording(t) {
		if len(s.conns) != 1 {
			t.Fatalf("%s: %d connections; the pc_rpc sessions have one each", s.name, len(s.conns))
		}
		cases := s.conns[0]
		played := slices.DeleteFunc(slices.Clone(cases), func(c *replayCase) bool {
			return replayEntryFor(t, s.name+"/"+c.name).goClient == "skip"
		})
		if len(played) == 0 {
			continue // a raw session: no Go client sends its bytes
		}
		t.Run(s.name, func(t *testing.T) {
			addr := fakeReplayServer(t, s.name, played)
			replayClient(t, addr, s.name, played)
		})
	}
}

// replayTyped are the cases whose result is also asked for as a typed Go
// value (CallInto): the recorded reply must convert to want.
var replayTyped = map[string]struct {
	into func() any // a pointer to a new value of the type
	want any
}{
	"rpc_values/echo_arr_2d_f8":      {func() any { return new([][]float64) }, [][]float64{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9, 10, 11}}},
	"rpc_values/echo_arr_i4":         {func() any { return new([]int32) }, []int32{-70000, 70000}},
	"rpc_values/echo_arr_bool":       {func() any { return new([]bool) }, []bool{true, false, true}},
	"rpc_values/echo_np_int32":       {func() any { return new(int32) }, int32(42)},
	"rpc_values/echo_uint64_max":     {func() any { return new(uint64) }, uint64(math.MaxUint64)},
	"rpc_values/echo_bytes":          {func() any { return new([]byte) }, []byte("\x00\xff\x80abc\n")},
	"rpc_values/echo_complex":        {func() any { return new(complex128) }, complex(1, 2)},
	"rpc_values/echo_tuple_single":   {func() any { return new([]int) }, []int{10}},
	"rpc_values/echo_set_int":        {func() any { return new(map[int]bool) }, nil}, // a set is not a map: refused
	"rpc_values/echo_dict_int_keys":  {func() any { return new(map[int]string) }, map[int]string{1: "a", 2: "b", -3: "c"}},
	"rpc_values/echo_float_one":      {func() any { return new(float64) }, 1.0},
	"rpc_values/echo_str_unicode":    {func() any { return new(string) }, "h\u00e9llo \u2603 \U0001F600 \u00b5s \u03a9"},
	"rpc_values/echo_ordered_dict":   {func() any { return new(pyon.OrderedDict) }, pyon.OrderedDict{{Key: "z", Value: int64(1)}, {Key: "a", Value: int64(2)}, {Key: "m", Value: []any{int64(3)}}}},
	"rpc_values/echo_dict_str_keys":  {func() any { return new(pyon.OrderedDict) }, pyon.OrderedDict{{Key: "zeta", Value: int64(1)}, {Key: "alpha", Value: []any{int64(1), int64(2)}}, {Key: "", Value: nil}, {Key: "mid", Value: pyon.OrderedDict{{Key: "x", Value: int64(1)}}}}},
	"rpc_calls/get_attenuation":      {func() any { return new(float64) }, 5.5},
	"rpc_values/big_int_4300_digits": {func() any { return new(string) }, nil}, // an int is not a str: refused
}

// replayClient drives the Go client through the recorded cases.
func replayClient(t *testing.T, addr, session string, cases []*replayCase) {
	ctx := testCtx(t)
	opts := ClientOptions{Protocol: ProtocolSiPyCo}
	var c *Client
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for _, rc := range cases {
		key := session + "/" + rc.name
		e := replayEntryFor(t, key)
		cl, sl := lines(rc.text("client")), lines(rc.text("server"))
		banner := len(cl) > 0 && cl[0] == wire.BannerSiPyCoRPC
		var ident map[string]any
		if banner {
			cl = cl[1:]
			if len(sl) > 0 {
				ident, _ = decodeLine(t, sl[0]).(map[string]any)
				sl = sl[1:]
			}
		}
		if len(cl) > 0 && !strings.HasPrefix(cl[0], "{") {
			target, _, _ := strings.Cut(cl[0], " ")
			if session == "rpc_autotarget_single" {
				target = "" // SiPyCo's AutoTarget: the only one
			}
			var err error
			if c, err = Dial(ctx, addr, target, opts); err != nil {
				t.Fatalf("%s: Dial: %v", key, err)
			}
			checkIdent(t, key, ident, c)
			cl, sl = cl[1:], sl[1:]
		} else if banner {
			// The client connected without selecting: get_rpc_id only, or
			// a target the server lacks, which the client refuses itself.
			if session == "rpc_unknown_target_client" {
				if _, err := Dial(ctx, addr, "nosuch", opts); !errors.Is(err, ErrIncompatibleServer) {
					t.Errorf("%s: Dial(nosuch) = %v, want ErrIncompatibleServer", key, err)
				}
				continue
			}
			var err error
			if c, err = DialNoSelect(ctx, addr, opts); err != nil {
				t.Fatalf("%s: DialNoSelect: %v", key, err)
			}
			checkIdent(t, key, ident, c)
		}
		for i, req := range cl {
			if i >= len(sl) {
				t.Fatalf("%s: no recorded reply to %.100s", key, req)
			}
			replayRequest(t, ctx, c, key, e, decodeLine(t, req).(map[string]any), decodeLine(t, sl[i]).(map[string]any))
		}
		if rc.eof("client") && c != nil {
			c.Close()
		}
	}
}

// checkIdent compares what the client read from the identification line
// with the recorded line.
func checkIdent(t *testing.T, key string, id map[string]any, c *Client) {
	t.Helper()
	desc, _ := id["description"].(string)
	if id == nil || !slices.Equal(c.Targets(), toStrings(id["targets"])) || c.Description() != desc {
		t.Errorf("%s: targets %v, description %q; recorded %v", key, c.Targets(), c.Description(), pyon.Repr(id))
	}
}

// replayRequest makes the recorded request with the Go client and checks
// the result against the recorded reply.
func replayRequest(t *testing.T, ctx context.Context, c *Client, key string, e replayEntry, req, rep map[string]any) {
	t.Helper()
	if req["action"] == "get_rpc_method_list" {
		info, err := c.ListMethods(ctx)
		if err != nil {
			t.Fatalf("%s: ListMethods: %v", key, err)
		}
		ret, _ := rep["ret"].(map[string]any)
		doc, _ := ret["docstring"].(string)
		var names []string
		for n := range ret["methods"].(map[string]any) {
			names = append(names, n)
		}
		slices.Sort(names)
		var got []string
		for _, m := range info.Methods {
			got = append(got, m.Name)
			if m.Signature == "" || !strings.HasPrefix(m.Signature, "(self") {
				t.Errorf("%s: %s has signature %q", key, m.Name, m.Signature)
			}
		}
		if info.Doc != doc || !slices.Equal(got, names) {
			t.Errorf("%s: doc %q, methods %v; recorded %q, %v", key, info.Doc, got, doc, names)
		}
		return
	}
	name, _ := req["name"].(string)
	args := []any(req["args"].(pyon.Tuple))
	if kw, _ := req["kwargs"].(map[string]any); len(kw) > 0 {
		args = append(args, Kwargs(kw))
	}
	var got any
	var err error
	typed, isTyped := replayTyped[key]
	if isTyped {
		into := typed.into()
		err = c.CallInto(ctx, into, name, args...)
		got = reflect.ValueOf(into).Elem().Interface()
	} else {
		got, err = c.Call(ctx, name, args...)
	}
	if rep["status"] == "failed" {
		x, _ := rep["exception"].(map[string]any)
		class, msg := x["class"], x["message"]
		if cls, ok := failedClass(e.goClient); ok {
			class, msg = cls, nil
		}
		var re *RemoteError
		if !errors.As(err, &re) || re.Type != class || (msg != nil && re.Message != msg) {
			t.Errorf("%s: %s: %v, want %v: %q", key, name, err, class, msg)
		}
		return
	}
	switch {
	case isTyped && typed.want == nil:
		if err == nil {
			t.Errorf("%s: CallInto(%T) = %v, want a conversion error", key, got, got)
		}
	case isTyped:
		if err != nil || !sipycoEqual(got, typed.want) && !reflect.DeepEqual(got, typed.want) {
			t.Errorf("%s: CallInto = %#v, %v; want %#v", key, got, err, typed.want)
		}
	default:
		if err != nil || !sipycoEqual(got, rep["ret"]) {
			t.Errorf("%s: %s = %.200s, %v; want %.200s", key, name, pyon.Repr(got), err, pyon.Repr(rep["ret"]))
		}
	}
}

// fakeReplayServer accepts one connection and plays the server side of
// cases on it, chunk by chunk in recorded order, checking each line the
// client sends against the recorded one: the banner and the target line
// as text, requests as PYON values.
func fakeReplayServer(t *testing.T, session string, cases []*replayCase) string {
	ln := listen(t)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		nc, err := ln.Accept()
		if err != nil {
			t.Errorf("%s: accept: %v", session, err)
			return
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(20 * time.Second))
		r := bufio.NewReader(nc)
		n := 0 // client lines so far
		for _, c := range cases {
			key := session + "/" + c.name
			var pending string
			for _, ch := range c.chunks {
				switch {
				case ch.dir == "server" && ch.eof:
					return
				case ch.dir == "server":
					if _, err := io.WriteString(nc, ch.data); err != nil {
						t.Errorf("%s: writing: %v", key, err)
						return
					}
				case ch.eof:
					if b, err := r.ReadByte(); err == nil {
						t.Errorf("%s: the client sent %q where SiPyCo's closed", key, b)
					}
				default:
					pending += ch.data
					for {
						want, rest, ok := strings.Cut(pending, "\n")
						if !ok {
							break
						}
						pending = rest
						got, err := r.ReadString('\n')
						if err != nil {
							t.Errorf("%s: reading the client's %.100s: %v", key, want, err)
							return
						}
						got = strings.TrimSuffix(got, "\n")
						if n < 2 && got != want || n >= 2 && !sipycoEqual(decodeLine(t, got), decodeLine(t, want)) {
							t.Errorf("%s: the client sent %.300s, SiPyCo's %.300s", key, got, want)
						}
						n++
					}
				}
			}
		}
	}()
	return ln.Addr().String()
}

// Issue 21: the signatures the Go client shows for a SiPyCo server's
// methods are Python's (sipyco_rpctool's formatargspec over the recorded
// argspecs, run with CPython 3.11), defaults shown by pyon.Repr. One
// difference: numpy 1.x shows np.int32(3) as 3; pyon.Repr writes numpy 2's
// np.int32(3), which reads back as the same scalar.
func TestSiPyCoRecordedSignatures(t *testing.T) {
	var reply string
	for _, s := range sipycoRecording(t) {
		for _, c := range s.conns[0] {
			if s.name == "rpc_method_list" && c.name == "get_rpc_method_list" {
				reply = c.text("server")
			}
		}
	}
	ret, rerr, err := decodeSiPyCoReply([]byte(reply), pyon.DecodeOptions{})
	if err != nil || rerr != nil {
		t.Fatalf("recorded method list: %v, %v", rerr, err)
	}
	info, err := sipycoTargetInfo("main", ret)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"add":               "(self, a, b=1, *, scale=1)",
		"annotated":         "(self, x: 'float', y: 'int' = 3, *, name: 'str' = 'n') -> 'str'",
		"async_echo":        "(self, x)",
		"def_exotic":        "(self, x=(1+2j), y=Fraction(1, 3), z={1}, s=slice(1, 2, None), arr=array([1]), sc=np.int32(3), od={1: 'a'})",
		"defaults_zoo":      `(self, a=None, b=(1, 2), c=1.5, d='s', e=-3, f=b'\x00', g=1e-05, h=inf, i=[1, [2]])`,
		"echo_all":          "(self, *args, **kwargs)",
		"kwonly_no_default": "(self, *, required, optional=None)",
		"kwtest":            "(self, a, *args, b=2, **kw)",
		"ndarray_annot":     "(self, arg1: 'str', arg2: 'ndarray' = array([1])) -> 'ndarray'",
		"posonly":           "(self, a, b, c, *, d)",
		"set_attenuation":   "(self, db: 'float')",
		"terminate":         "(self)",
		"varargs_only":      "(self, *args)",
		"varkw_only":        "(self, **kwargs)",
	}
	for _, m := range info.Methods {
		if w, ok := want[m.Name]; ok && m.Signature != w {
			t.Errorf("%s%s, want %s", m.Name, m.Signature, w)
		}
		delete(want, m.Name)
	}
	if len(want) > 0 {
		t.Errorf("not in the recorded list: %v", want)
	}
}
