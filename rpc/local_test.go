package rpc

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/wire/auth"
)

// TestLocalSameAsWire: the same calls through a Local handle and through a
// Client get the same errors (type and message) and, for the values the
// wire returns unchanged, the same results; a Local result is the Go
// value itself.
func TestLocalSameAsWire(t *testing.T) {
	ts := startServer(t, transports[0], map[string]any{"att": newAttenuator(), "plain": Plain{}}, ServerOptions{AllowParallel: true})
	c := ts.dial(t, "att")
	l, err := ts.Local("att")
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	cases := []struct {
		method string
		args   []any
	}{
		{"add", []any{int64(2), int64(3)}},
		{"Add", []any{int64(2), int64(3)}},                            // the Go name
		{"add", []any{1.5, int64(3)}},                                 // a float for an int
		{"add", []any{int64(1)}},                                      // missing argument
		{"add", []any{int64(1), int64(2), int64(3)}},                  // one too many
		{"add", []any{"x", int64(2)}},                                 // wrong type
		{"greet", []any{"ada", Kwargs{"greeting": "hi", "times": 2}}}, // options struct by keyword
		{"greet", []any{"ada", Kwargs{"nope": 1}}},                    // unknown keyword
		{"sum", []any{"s", int64(1), int64(2)}},                       // variadic
		{"set_attenuation", []any{99.0}},                              // typed error
		{"fail", nil},                                                 // plain error
		{"no_such", nil},                                              // unknown method
		{"set_atenuation", []any{1.0}},                                // a suggestion
		{"echo", []any{map[string]any{"a": []any{int64(1), "b"}}}},
		{"flag", []any{true}},
		{"ping", nil},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s%v", tc.method, tc.args), func(t *testing.T) {
			wv, werr := c.Call(ctx, tc.method, tc.args...)
			lv, lerr := l.Call(ctx, tc.method, tc.args...)
			if (werr == nil) != (lerr == nil) {
				t.Fatalf("wire: %v %v; local: %v %v", wv, werr, lv, lerr)
			}
			if werr != nil {
				var wre, lre *RemoteError
				if !errors.As(werr, &wre) || !errors.As(lerr, &lre) {
					t.Fatalf("not remote errors: wire %T %v, local %T %v", werr, werr, lerr, lerr)
				}
				if *wre != *lre {
					t.Fatalf("wire %#v\nlocal %#v", wre, lre)
				}
				return
			}
			if fmt.Sprint(wv) != fmt.Sprint(lv) {
				t.Fatalf("wire %#v, local %#v", wv, lv)
			}
		})
	}
	// A panic is a rpc.Panic with the stack.
	_, err = l.Call(ctx, "panic")
	var re *RemoteError
	if !errors.As(err, &re) || re.Type != TypePanic || !strings.Contains(re.Message, "boom") || re.Traceback == "" {
		t.Errorf("panic: %#v", err)
	}
	// The result is the Go value, not its decoded form.
	v, err := l.Call(ctx, "echo_point", map[string]any{"X": 1.0, "Y": 2.0, "Tag": "p"})
	if p, ok := v.(Point); err != nil || !ok || p != (Point{1, 2, "p"}) {
		t.Errorf("echo_point: %#v %v", v, err)
	}
	if _, err := ts.Local("nope"); !errors.Is(err, ErrIncompatibleServer) || !strings.Contains(err.Error(), `"att", "plain"`) && !strings.Contains(err.Error(), "att, plain") {
		t.Errorf("unknown target: %v", err)
	}
}

// TestLocalAuthorize: the identity in the caller's ctx is the one
// Authorize and the method see; without one the caller is in-process.
func TestLocalAuthorize(t *testing.T) {
	var seen []string
	authorize := func(ctx context.Context, target, method string) error {
		id, ok := auth.FromContext(ctx)
		seen = append(seen, fmt.Sprintf("%s.%s as %v/%v", target, method, id.Name, ok))
		if ok && !id.Allows(auth.Admin) && method == "set_attenuation" {
			return fmt.Errorf("%w: %s may not", auth.ErrForbidden, id.Name)
		}
		return nil
	}
	srv, err := NewServer(map[string]any{"att": newAttenuator()}, ServerOptions{Authorize: authorize})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	l, err := srv.Local("att")
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	viewer := auth.NewContext(ctx, auth.Identity{Name: "vera", Role: auth.Viewer, Method: auth.MethodBasic})
	_, err = l.Call(viewer, "set_attenuation", 1.0)
	var re *RemoteError
	if !errors.As(err, &re) || re.Type != "PermissionError" || !errors.Is(err, auth.ErrForbidden) || !strings.Contains(re.Message, "vera") {
		t.Fatalf("viewer: %#v", err)
	}
	if _, err := l.Call(viewer, "get_attenuation"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Call(ctx, "set_attenuation", 1.0); err != nil { // in-process
		t.Fatal(err)
	}
	want := []string{"att.set_attenuation as vera/true", "att.get_attenuation as vera/true", "att.set_attenuation as /false"}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("Authorize saw %q", seen)
	}
}

// TestLocalContextAndClose: a caller whose ctx ends gets ctx.Err() and the
// method's ctx ends; Close cancels a call in flight and waits for it;
// calls after Close fail with ErrClosed.
func TestLocalContextAndClose(t *testing.T) {
	a := newAttenuator()
	srv, err := NewServer(map[string]any{"att": a}, ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := srv.Local("att")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.Call(ctx, "block", "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("block: %v", err)
	}
	if err := <-a.ended; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the method's ctx: %v", err)
	}
	<-a.started
	done := make(chan error, 1)
	go func() {
		_, err := l.Call(context.Background(), "block", "b")
		done <- err
	}()
	<-a.started
	srv.Close() // cancels the call and waits for the method
	select {
	case err := <-a.ended:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the method's ctx after Close: %v", err)
		}
	default:
		t.Fatal("Close returned before the method in flight")
	}
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("a call cut by Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the call did not return")
	}
	if _, err := l.Call(context.Background(), "ping"); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// TestAddTarget: a target added after NewServer is served like the others;
// a name taken or invalid is refused.
func TestAddTarget(t *testing.T) {
	srv, err := NewServer(map[string]any{"att": newAttenuator()}, ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.AddTarget("plain", Plain{}); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddTarget("att", Plain{}); err == nil {
		t.Error("a name added twice")
	}
	if err := srv.AddTarget("a b", Plain{}); err == nil {
		t.Error("a name with a space")
	}
	ln := listen(t)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	defer func() { srv.Close(); <-done }()
	c, err := Dial(testCtx(t), ln.Addr().String(), "plain", ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v, err := c.Call(testCtx(t), "scale", 2.0, int64(3)); err != nil || v != 6.0 {
		t.Fatalf("scale: %v %v", v, err)
	}
	if got := srv.Targets(); !reflect.DeepEqual(got, []string{"att", "plain"}) {
		t.Errorf("Targets: %v", got)
	}
}
