package simsvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime/pprof"
	"slices"
	"strings"
	"unicode"

	"github.com/sigoco/sigoco/internal/snake"
	"github.com/sigoco/sigoco/rpc"
)

var errNoHost = errors.New("simsvc: no service host in this context (register from inside a lifecycle call, or keep the *Host from HostFrom)")

// Host is a served service's handle on its server: SimService's
// service_function registry and more. Its methods are safe for
// concurrent use, from inside lifecycle calls (the usual place) and from
// any other goroutine.
type Host struct{ s *Server }

// Register makes fn callable by clients as a service function called name
// (snake_case, e.g. "heat_map", or a Go name, "HeatMap"), at once: it
// appears in the rpc listing (native and SiPyCo), with the signature of
// fn, and Proxy.Call reaches it. fn follows the rules of rpc methods (see
// rpc.Server.AddMethod): an optional context.Context first, parameters
// that can cross the wire, and nothing, a value, an error or (value,
// error) as results. Calls to it run one at a time with the lifecycle
// calls (never during a step). Before Register, a call to name fails with
// ErrNotAvailable through a Proxy (an unknown method elsewhere).
func (h *Host) Register(name string, fn any) error {
	return h.RegisterDoc(name, fn, rpc.MethodDoc{})
}

// RegisterDoc is Register with parameter names (for keyword arguments)
// and a doc comment for the listings.
func (h *Host) RegisterDoc(name string, fn any, doc rpc.MethodDoc) error {
	s := h.s
	goName, wireName, err := names(name)
	if err != nil {
		return err
	}
	wrapped, err := s.serialised(fn)
	if err != nil {
		return fmt.Errorf("simsvc: Register(%q): %w", name, err)
	}
	if err := s.rpc.AddMethod(s.opts.Name, goName, wrapped, doc); err != nil {
		return fmt.Errorf("simsvc: Register(%q): %w", name, err)
	}
	s.mu.Lock()
	s.funcs = append(s.funcs, wireName)
	s.funcVals[wireName] = reflect.ValueOf(wrapped)
	list := stringsAny(s.funcs)
	s.mu.Unlock()
	s.publish("functions", list)
	return nil
}

// Unregister takes a service function away again.
func (h *Host) Unregister(name string) error {
	s := h.s
	goName, wireName, err := names(name)
	if err != nil {
		return err
	}
	s.mu.Lock()
	i := slices.Index(s.funcs, wireName)
	s.mu.Unlock()
	if i < 0 {
		return fmt.Errorf("%w: %q", ErrNotAvailable, wireName)
	}
	if err := s.rpc.RemoveMethod(s.opts.Name, goName); err != nil {
		return fmt.Errorf("simsvc: Unregister(%q): %w", name, err)
	}
	s.mu.Lock()
	s.funcs = slices.DeleteFunc(s.funcs, func(f string) bool { return f == wireName })
	delete(s.funcVals, wireName)
	list := stringsAny(s.funcs)
	s.mu.Unlock()
	s.publish("functions", list)
	return nil
}

// Functions returns the wire names of the registered service functions,
// in order of registration.
func (h *Host) Functions() []string {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	return append([]string{}, h.s.funcs...)
}

// SetProgress sets the progress (0-100, clamped), published live and to
// the recorder.
func (h *Host) SetProgress(percent float64) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	h.s.setProgressLocked(percent)
}

// Status returns the service's status.
func (h *Host) Status() Status { return h.s.Status() }

// SetSimName names the simulation (see Server.SetSimName).
func (h *Host) SetSimName(name string) error { return h.s.SetSimName(name) }

// SetInsideRun turns the inside run on or off until run has loaded the
// service (see Server.SetInsideRun); the service's Run may call it.
func (h *Host) SetInsideRun(on bool) error { return h.s.SetInsideRun(on) }

// Logger returns Options.Logger.
func (h *Host) Logger() *slog.Logger { return h.s.opts.Logger }

// names returns the Go and wire names of a service function or property
// name given in either form; the two must map onto each other.
func names(name string) (goName, wireName string, err error) {
	if name == "" {
		return "", "", errors.New("simsvc: an empty name")
	}
	goName = name
	if r := rune(name[0]); unicode.IsLower(r) {
		var b strings.Builder
		for _, part := range strings.Split(name, "_") {
			if part == "" {
				return "", "", fmt.Errorf("simsvc: invalid name %q (want snake_case or a Go name)", name)
			}
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
		goName = b.String()
	}
	wireName = snake.Case(goName)
	if name != goName && name != wireName {
		return "", "", fmt.Errorf("simsvc: invalid name %q: its Go form %s is called %s on the wire", name, goName, wireName)
	}
	return goName, wireName, nil
}

// serialised wraps fn (a func) into a func of the same type that runs it
// in its turn with the lifecycle calls, labelled for the profiler.
func (s *Server) serialised(fn any) (any, error) {
	fv := reflect.ValueOf(fn)
	if fv.Kind() != reflect.Func || fv.IsNil() {
		return nil, fmt.Errorf("fn must be a non-nil func, not %T", fn)
	}
	ft := fv.Type()
	call := fv.Call
	if ft.IsVariadic() {
		call = fv.CallSlice
	}
	w := reflect.MakeFunc(ft, func(args []reflect.Value) []reflect.Value {
		s.life <- struct{}{} // a service function waits for a step in progress
		defer s.release()
		if s.prof {
			pprof.SetGoroutineLabels(s.labels)
			defer pprof.SetGoroutineLabels(context.Background())
		}
		return call(args)
	})
	return w.Interface(), nil
}

func stringsAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
