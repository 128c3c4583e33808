package rpc

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/pyon"
)

// The Go counterparts of the Python targets behind
// testdata/sipyco_pc_rpc.jsonl (rpc_server.py, quoted in full in
// ../shared/sipyco-wire/README.md): the same method names, parameter
// names, docs and errors, written as a Go programmer would. Parameters
// Python leaves unannotated are `any` (a Go type would add an annotation);
// Python defaults and keyword-only parameters become the fields of a
// trailing options struct (Go has no default values), which is why some
// argspecs differ: sipycoReplayTable says where and why.

// replayMain is rpc_server.py's Main.
type replayMain struct {
	mu          sync.Mutex
	count       int
	attenuation float64
}

// pyError is an error Python has a class for (the PythonClass mechanism).
type pyError struct{ class, msg string }

func (e *pyError) Error() string       { return e.msg }
func (e *pyError) PythonClass() string { return e.class }

func (m *replayMain) Echo(x any) any { return x }

func (m *replayMain) EchoAll(args ...any) any {
	if args == nil {
		args = []any{}
	}
	return []any{pyon.Tuple(args), map[string]any{}}
}

// AddOptions are add's keyword-only arguments.
type replayAddOptions struct{ Scale any }

func (m *replayMain) Add(a, b any, opts replayAddOptions) (any, error) {
	s, err := pyArith(a, b, func(x, y int64) int64 { return x + y }, func(x, y float64) float64 { return x + y })
	if err != nil {
		return nil, err
	}
	scale := opts.Scale
	if scale == nil {
		scale = int64(1)
	}
	return pyArith(s, scale, func(x, y int64) int64 { return x * y }, func(x, y float64) float64 { return x * y })
}

// pyArith applies an arithmetic operator to two Python numbers, as
// Python would for ints and floats.
func pyArith(a, b any, i func(x, y int64) int64, f func(x, y float64) float64) (any, error) {
	ai, aInt := a.(int64)
	bi, bInt := b.(int64)
	if aInt && bInt {
		return i(ai, bi), nil
	}
	af, aok := toPyFloat(a)
	bf, bok := toPyFloat(b)
	if !aok || !bok {
		return nil, &pyError{"TypeError", fmt.Sprintf("unsupported operand types: %s and %s", describePy(a), describePy(b))}
	}
	return f(af, bf), nil
}

func toPyFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func (m *replayMain) Kwtest(a any, args ...any) any {
	if args == nil {
		args = []any{}
	}
	return map[string]any{"a": a, "args": pyon.Tuple(args), "b": int64(2), "kw": map[string]any{}}
}

type replayAnnotatedOptions struct {
	Y    *int
	Name *string
}

func (m *replayMain) Annotated(x float64, opts replayAnnotatedOptions) string {
	y, name := 3, "n"
	if opts.Y != nil {
		y = *opts.Y
	}
	if opts.Name != nil {
		name = *opts.Name
	}
	return fmt.Sprintf("%s/%d/%s", pyon.PyFloat(x), y, name)
}

func (m *replayMain) SetAttenuation(db float64) {
	m.mu.Lock()
	m.attenuation = db
	m.mu.Unlock()
}

func (m *replayMain) GetAttenuation() any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.attenuation
}

func (m *replayMain) NoDoc() any { return int64(1) }

type replayDefaultsZooOptions struct{ A, B, C, D, E, F, G, H, I any }

func (m *replayMain) DefaultsZoo(o replayDefaultsZooOptions) any {
	or := func(v, def any) any {
		if v == nil {
			return def
		}
		return v
	}
	return []any{o.A, or(o.B, pyon.Tuple{int64(1), int64(2)}), or(o.C, 1.5), or(o.D, "s"), or(o.E, int64(-3)),
		or(o.F, []byte{0}), or(o.G, 1e-05), or(o.H, pyInf), or(o.I, []any{int64(1), []any{int64(2)}})}
}

var pyInf = math.Inf(1)

type replayPosonlyOptions struct{ D any }

func (m *replayMain) Posonly(a, b, c any, o replayPosonlyOptions) any { return []any{a, b, c, o.D} }

type replayKwonlyOptions struct{ Required, Optional any }

func (m *replayMain) KwonlyNoDefault(o replayKwonlyOptions) (any, error) {
	if o.Required == nil {
		return nil, &pyError{"TypeError", "kwonly_no_default: the keyword argument required is missing"}
	}
	return []any{o.Required, o.Optional}, nil
}

type replayDefExoticOptions struct{ X, Y, Z, S, Arr, Sc, Od any }

func (m *replayMain) DefExotic(replayDefExoticOptions) any { return nil }

func (m *replayMain) VarargsOnly(args ...any) any {
	if args == nil {
		args = []any{}
	}
	return args
}

func (m *replayMain) VarkwOnly() any { return map[string]any{} }

type replayNdarrayOptions struct{ Arg2 *pyon.NDArray }

func (m *replayMain) NdarrayAnnot(arg1 string, o replayNdarrayOptions) pyon.NDArray {
	if o.Arg2 != nil {
		return *o.Arg2
	}
	return pyon.FromInt64s([]int64{1})
}

func (m *replayMain) Counter() any {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.count++
	return int64(m.count)
}

func (m *replayMain) BigInt(digits any) (any, error) {
	var n int
	if err := pyon.Convert(digits, &n); err != nil || n < 1 {
		return nil, &pyError{"TypeError", fmt.Sprintf("big_int: digits must be a positive int, not %s", pyon.Repr(digits))}
	}
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n-1)), nil), nil
}

func (m *replayMain) ReturnFrozenset() any {
	return pyon.Set{Items: []any{int64(1), int64(2)}, Frozen: true}
}

func (m *replayMain) ReturnUnencodable() any { return make(chan int) }

func (m *replayMain) ReturnJsonclassKey() any { return map[string]any{"__jsonclass__": int64(1)} }

func (m *replayMain) ReturnDeepList() any {
	var d any = "bottom"
	for range 50 {
		d = []any{d}
	}
	return d
}

func (m *replayMain) RaiseValueError(msg any) error { return fmt.Errorf("%w: %v", ErrValue, msg) }

func (m *replayMain) RaiseKeyError(k any) error { return &pyError{"KeyError", pyon.Repr(k)} }

func (m *replayMain) RaiseZeroDivision() error {
	return &pyError{"ZeroDivisionError", "division by zero"}
}

// replayDeviceError has a Python class name that is not a builtin: SiPyCo
// sends it as GenericRemoteException("DeviceError: message").
type replayDeviceError struct{ msg string }

func (e *replayDeviceError) Error() string       { return e.msg }
func (e *replayDeviceError) PythonClass() string { return "DeviceError" }

func (m *replayMain) RaiseCustom(msg any) error { return &replayDeviceError{fmt.Sprint(msg)} }

func (m *replayMain) RaiseMultiline() error { return &pyError{"RuntimeError", "line one\nline two"} }

func (m *replayMain) RaiseNotImplemented() error { return &pyError{"NotImplementedError", ""} }

func (m *replayMain) RaiseOsError() error {
	_, err := os.Stat("/nonexistent")
	return err
}

func (m *replayMain) RaiseChained() error {
	return fmt.Errorf("%w: outer", ErrValue)
}

func (m *replayMain) AsyncEcho(ctx context.Context, x any) (any, error) {
	select {
	case <-time.After(10 * time.Millisecond):
		return x, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (m *replayMain) AsyncRaise(ctx context.Context) error {
	return fmt.Errorf("%w: async failure", ErrValue)
}

// GetValue is Python's getValue; Go's wire names are snake_case.
func (m *replayMain) GetValue() any { return "camelCase method" }

// replayAux is Aux: no docstring.
type replayAux struct{}

func (replayAux) Ping() any { return true }

// replayFact is Fact, served as a factory: an object per connection.
type replayFact struct{ n int64 }

func (f *replayFact) Counter() any {
	f.n++
	return f.n
}

// replaySolo is Solo, the only target of the --single server.
type replaySolo struct{}

func (replaySolo) Ping() any { return "pong" }

func init() {
	none := []string{}
	RegisterDoc((*replayMain)(nil), TargetDoc{
		Doc: "Main recording target.\n\nSecond docstring paragraph.",
		Methods: map[string]MethodDoc{
			"Echo":                {Params: []string{"x"}, Doc: "Return x unchanged."},
			"EchoAll":             {Params: []string{"args"}, Doc: "Return [args, kwargs]."},
			"Add":                 {Params: []string{"a", "b", "opts"}, Doc: "Return (a + b) * scale."},
			"Kwtest":              {Params: []string{"a", "args"}},
			"Annotated":           {Params: []string{"x", "opts"}, Doc: "Annotated method."},
			"SetAttenuation":      {Params: []string{"db"}, Doc: "Set the attenuation in dB."},
			"GetAttenuation":      {Params: none, Doc: "Return the attenuation in dB."},
			"NoDoc":               {Params: none},
			"DefaultsZoo":         {Params: []string{"opts"}, Doc: "Defaults of many types."},
			"Posonly":             {Params: []string{"a", "b", "c", "opts"}, Doc: "Positional-only and keyword-only parameters."},
			"KwonlyNoDefault":     {Params: []string{"opts"}},
			"DefExotic":           {Params: []string{"opts"}, Doc: "Defaults that are not plain JSON."},
			"VarargsOnly":         {Params: []string{"args"}},
			"VarkwOnly":           {Params: none},
			"NdarrayAnnot":        {Params: []string{"arg1", "opts"}},
			"Counter":             {Params: none, Doc: "Increment and return a per-target counter."},
			"BigInt":              {Params: []string{"digits"}, Doc: "Return 10**(digits-1): an int with `digits` decimal digits."},
			"ReturnFrozenset":     {Params: none},
			"ReturnUnencodable":   {Params: none},
			"ReturnJsonclassKey":  {Params: none},
			"ReturnDeepList":      {Params: none},
			"RaiseValueError":     {Params: []string{"msg"}},
			"RaiseKeyError":       {Params: []string{"k"}},
			"RaiseZeroDivision":   {Params: none},
			"RaiseCustom":         {Params: []string{"msg"}},
			"RaiseMultiline":      {Params: none},
			"RaiseNotImplemented": {Params: none},
			"RaiseOsError":        {Params: none},
			"RaiseChained":        {Params: none},
			"AsyncEcho":           {Params: []string{"x"}, Doc: "A coroutine method: awaited by the server."},
			"AsyncRaise":          {Params: none},
			"GetValue":            {Params: none},
		},
	})
	RegisterDoc((*replayFact)(nil), TargetDoc{
		Doc:     "Factory target: the server calls the class for each connection.",
		Methods: map[string]MethodDoc{"Counter": {Params: none}},
	})
	RegisterDoc((*replaySolo)(nil), TargetDoc{
		Doc:     "Only target of the --single server.",
		Methods: map[string]MethodDoc{"Ping": {Params: none, Doc: `Return "pong".`}},
	})
}

// startReplayServer starts the Go counterpart of the recorded server a
// session ran against: the main server (main, aux, fact) or, for
// rpc_autotarget_single, the --single one (solo, no description). Both
// have SiPyCo's builtin terminate.
func startReplayServer(t testing.TB, session string) *testServer {
	t.Helper()
	if session == "rpc_autotarget_single" {
		return startServer(t, transports[0], map[string]any{"solo": replaySolo{}}, ServerOptions{BuiltinTerminate: true})
	}
	return startServer(t, transports[0], map[string]any{
		"main": &replayMain{},
		"aux":  replayAux{},
		"fact": func() *replayFact { return &replayFact{} },
	}, ServerOptions{Description: "sipyco-wire recording server", BuiltinTerminate: true})
}
