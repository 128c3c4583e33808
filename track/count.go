package track

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/sigoco/sigoco/track/store"
)

// countSet holds call counts and cumulative times (SimplyPy's call stack).
type countSet struct {
	mu   sync.Mutex // guards m and sent
	m    map[string]*callCount
	sent time.Time // when the counts were last recorded before End (Options.CountInterval)
}

type callCount struct {
	calls   int64
	elapsed time.Duration
}

// add counts one call and returns how many calls of name there were
// before it, and whether the counts are due to be recorded
// (Options.CountInterval elapsed since the last time).
func (cs *countSet) add(name string, d, every time.Duration) (n int64, due bool) {
	cs.mu.Lock()
	if cs.m == nil {
		cs.m = map[string]*callCount{}
	}
	c := cs.m[name]
	if c == nil {
		c = &callCount{}
		cs.m[name] = c
	}
	n = c.calls
	c.calls++
	c.elapsed += d
	if every > 0 {
		now := time.Now()
		if cs.sent.IsZero() {
			cs.sent = now
		} else if now.Sub(cs.sent) >= every {
			cs.sent, due = now, true
		}
	}
	cs.mu.Unlock()
	return n, due
}

func (cs *countSet) snapshot() map[string]map[string]any {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	out := map[string]map[string]any{}
	for k, c := range cs.m {
		out[k] = map[string]any{"calls": c.calls, "seconds": c.elapsed.Seconds()}
	}
	return out
}

// addCount counts a call and, when Options.CountInterval has passed,
// records the counts so far (the server keeps the latest of each).
func (r *Run) addCount(name string, d time.Duration) int64 {
	n, due := r.counts.add(name, d, r.opts.CountInterval)
	if due {
		r.sendCounts()
	}
	return n
}

// sendCounts records the counts so far, unless the run has ended (End
// records them itself).
func (r *Run) sendCounts() {
	r.mu.Lock()
	ended := r.ended
	r.mu.Unlock()
	if ended {
		return
	}
	for name, c := range r.counts.snapshot() {
		r.record(store.Record{Kind: store.KindCount, Key: name, Value: c})
	}
}

// Count counts one call of name. Counts (and times, with Timed) are stored
// with the run at End, and every Options.CountInterval when set.
func (r *Run) Count(name string) {
	if r == nil {
		nilRun("Count")
		return
	}
	r.addCount(name, 0)
}

// Timed counts a call of name and its duration: defer run.Timed("solve")().
func (r *Run) Timed(name string) (done func()) {
	if r == nil {
		nilRun("Timed")
		return func() {}
	}
	t0 := time.Now()
	return func() { r.addCount(name, time.Since(t0)) }
}

// Counted wraps f so that each call is counted and timed under name
// (SimplyPy's @track on a function). The Counted family covers functions
// of up to three arguments and up to two results without reflection:
// Counted0, Counted, Counted2, Counted3 (one result), the same with R2
// (two results, e.g. a value and an error) and with R0 (none). Wrap takes
// any function, and can also record arguments and results. A nil run
// counts nothing; the function is still called.
func Counted[A, R any](r *Run, name string, f func(A) R) func(A) R {
	return func(a A) R {
		defer r.Timed(name)()
		return f(a)
	}
}

// Counted0 is Counted for a function without arguments.
func Counted0[R any](r *Run, name string, f func() R) func() R {
	return func() R {
		defer r.Timed(name)()
		return f()
	}
}

// Counted2 is Counted for a function of two arguments.
func Counted2[A, B, R any](r *Run, name string, f func(A, B) R) func(A, B) R {
	return func(a A, b B) R {
		defer r.Timed(name)()
		return f(a, b)
	}
}

// Counted3 is Counted for a function of three arguments.
func Counted3[A, B, C, R any](r *Run, name string, f func(A, B, C) R) func(A, B, C) R {
	return func(a A, b B, c C) R {
		defer r.Timed(name)()
		return f(a, b, c)
	}
}

// Counted0R2 is Counted for a function without arguments and with two
// results.
func Counted0R2[R1, R2 any](r *Run, name string, f func() (R1, R2)) func() (R1, R2) {
	return func() (R1, R2) {
		defer r.Timed(name)()
		return f()
	}
}

// CountedR2 is Counted for a function of one argument and two results,
// such as func(A) (R, error).
func CountedR2[A, R1, R2 any](r *Run, name string, f func(A) (R1, R2)) func(A) (R1, R2) {
	return func(a A) (R1, R2) {
		defer r.Timed(name)()
		return f(a)
	}
}

// Counted2R2 is Counted for a function of two arguments and two results.
func Counted2R2[A, B, R1, R2 any](r *Run, name string, f func(A, B) (R1, R2)) func(A, B) (R1, R2) {
	return func(a A, b B) (R1, R2) {
		defer r.Timed(name)()
		return f(a, b)
	}
}

// Counted3R2 is Counted for a function of three arguments and two results.
func Counted3R2[A, B, C, R1, R2 any](r *Run, name string, f func(A, B, C) (R1, R2)) func(A, B, C) (R1, R2) {
	return func(a A, b B, c C) (R1, R2) {
		defer r.Timed(name)()
		return f(a, b, c)
	}
}

// Counted0R0 is Counted for a function without arguments or results.
func Counted0R0(r *Run, name string, f func()) func() {
	return func() {
		defer r.Timed(name)()
		f()
	}
}

// CountedR0 is Counted for a function of one argument and no result.
func CountedR0[A any](r *Run, name string, f func(A)) func(A) {
	return func(a A) {
		defer r.Timed(name)()
		f(a)
	}
}

// Counted2R0 is Counted for a function of two arguments and no result.
func Counted2R0[A, B any](r *Run, name string, f func(A, B)) func(A, B) {
	return func(a A, b B) {
		defer r.Timed(name)()
		f(a, b)
	}
}

// Counted3R0 is Counted for a function of three arguments and no result.
func Counted3R0[A, B, C any](r *Run, name string, f func(A, B, C)) func(A, B, C) {
	return func(a A, b B, c C) {
		defer r.Timed(name)()
		f(a, b, c)
	}
}

// WrapOptions configures Wrap. The zero value counts and times calls only.
type WrapOptions struct {
	// SaveResult logs what each call returns as results (SimplyPy's
	// save_result): under name for a function of one result (an error
	// result aside), name.0, name.1, … (by position) for several; a result
	// of type error is not logged. The
	// step is the call's number (0 for the first call of name).
	// Default false.
	SaveResult bool
	// SaveArgs logs each call's arguments as the result name.args, a
	// list (a context.Context argument is left out), at the same step.
	// Default false.
	SaveArgs bool
}

var (
	errorType   = reflect.TypeFor[error]()
	contextType = reflect.TypeFor[context.Context]()
)

// Wrap wraps any function f so that each call is counted and timed under
// name, as Counted does, and returns a function of the same type; with
// opts it also logs arguments and results. It uses reflection (a call
// costs about a microsecond more than Counted's). A nil run returns f
// itself; f not a function is an error of the run (returned by the next
// Flush or End) and f is returned as it is.
func Wrap[F any](r *Run, name string, f F, opts WrapOptions) F {
	if r == nil {
		nilRun("Wrap")
		return f
	}
	fv := reflect.ValueOf(f)
	if fv.Kind() != reflect.Func || fv.IsNil() {
		r.fail(fmt.Errorf("track: Wrap(%q): not a function: %T", name, f))
		return f
	}
	ft := fv.Type()
	call := fv.Call
	if ft.IsVariadic() {
		call = fv.CallSlice
	}
	saved := 0 // results that are not errors
	for i := range ft.NumOut() {
		if ft.Out(i) != errorType {
			saved++
		}
	}
	w := reflect.MakeFunc(ft, func(args []reflect.Value) []reflect.Value {
		t0 := time.Now()
		out := call(args)
		n := r.addCount(name, time.Since(t0))
		if opts.SaveArgs {
			vals := make([]any, 0, len(args))
			for _, a := range args {
				if a.Type().Implements(contextType) {
					continue
				}
				vals = append(vals, a.Interface())
			}
			r.LogResult(name+".args", vals, n)
		}
		if opts.SaveResult {
			for i, o := range out {
				if ft.Out(i) == errorType {
					continue
				}
				key := name
				if saved > 1 {
					key = name + "." + strconv.Itoa(i)
				}
				r.LogResult(key, o.Interface(), n)
			}
		}
		return out
	})
	return w.Interface().(F)
}
