package rpc

import (
	"strings"
	"testing"
)

type twoResults struct{}

func (twoResults) Ok() int              { return 1 }
func (twoResults) Pair() (int, int)     { return 1, 2 }
func (twoResults) Three() (a, b, c int) { return }

type chanParam struct{}

func (chanParam) Feed(ch chan int) {}

type funcResult struct{}

func (funcResult) Make() func() { return nil }

type complex64Param struct{}

func (complex64Param) Set(c complex64) {}

type ptrMethods struct{ n int }

func (p *ptrMethods) Get() int { return p.n }

type plainInt int

// Issue 11: what cannot be served is an error from NewServer naming the
// method and why, never left out silently.
func TestNewServerRefusesUnservable(t *testing.T) {
	for _, tt := range []struct {
		name   string
		target any
		want   []string
	}{
		{"two results", twoResults{}, []string{"twoResults.Pair", "second of two results must be an error"}},
		{"chan parameter", chanParam{}, []string{"chanParam.Feed", "parameter 1", "chan int", "channels"}},
		{"func result", funcResult{}, []string{"funcResult.Make", "func()", "functions"}},
		{"complex64", complex64Param{}, []string{"complex64Param.Set", "use complex128"}},
		{"pointer receivers on a value", ptrMethods{}, []string{"ptrMethods has nothing to call", "pointer receivers", "*rpc.ptrMethods"}},
		{"plain int", 5, []string{"int has nothing to call", "no exported methods"}},
		{"named int", plainInt(5), []string{"plainInt has nothing to call"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := NewServer(map[string]any{"t": tt.target}, ServerOptions{})
			if err == nil {
				srv.Close()
				t.Fatalf("NewServer accepted %T", tt.target)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not say %q", err, w)
				}
			}
		})
	}
	if srv, err := NewServer(map[string]any{"t": &ptrMethods{}}, ServerOptions{}); err != nil {
		t.Fatalf("a pointer target: %v", err)
	} else {
		srv.Close()
	}
}

type complexTarget struct{}

func (complexTarget) Conj(c complex128) complex128 { return complex(real(c), -imag(c)) }
func (complexTarget) Sum(cs []complex128) (s complex128) {
	for _, c := range cs {
		s += c
	}
	return
}

// Issue 11: complex128 parameters and results work over the native
// protocol (pyon's msgpack extension) as they do over SiPyCo's.
func TestComplexNative(t *testing.T) {
	ts := startServer(t, transports[0], map[string]any{"c": complexTarget{}}, ServerOptions{})
	c := ts.dial(t, "c")
	var got complex128
	if err := c.CallInto(testCtx(t), &got, "conj", 1+2i); err != nil || got != 1-2i {
		t.Fatalf("conj(1+2i) = %v, %v", got, err)
	}
	if v, err := c.Call(testCtx(t), "sum", []complex128{1, 2i}); err != nil || v != 1+2i {
		t.Fatalf("sum = %#v, %v", v, err)
	}
}
