package rpc

import (
	"context"
	"errors"
	"math"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/wire"
)

func dialSiPyCoTest(t testing.TB, ts *testServer, target string) *Client {
	t.Helper()
	opts := ts.clientOpts(t)
	opts.Protocol = ProtocolSiPyCo
	c, err := Dial(testCtx(t), ts.addr, target, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The Go client over SiPyCo's protocol, against the Go server.
func TestSiPyCoClient(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr transport) {
		ts := startController(t, tr, ServerOptions{})
		c := dialSiPyCoTest(t, ts, "lda")
		ctx := testCtx(t)
		if c.Protocol() != ProtocolSiPyCo || c.Target() != "lda" || c.Description() != "transcript server" ||
			!reflect.DeepEqual(c.Targets(), []string{"aux", "lda"}) {
			t.Fatalf("client %v %q %q %v", c.Protocol(), c.Target(), c.Description(), c.Targets())
		}
		if err := c.CallInto(ctx, nil, "SetAttenuation", 5.5); err != nil { // a Go name
			t.Fatal(err)
		}
		var db float64
		if err := c.CallInto(ctx, &db, "get_attenuation"); err != nil || db != 5.5 {
			t.Fatalf("get_attenuation = %v, %v", db, err)
		}
		if v, err := c.Call(ctx, "add", 1, 2); err != nil || v != int64(3) {
			t.Fatalf("add(1, 2) = %#v, %v", v, err)
		}
		if v, err := c.Call(ctx, "add", 1, Kwargs{"b": 2, "scale": 3}); err != nil || v != int64(9) {
			t.Fatalf("add(1, b=2, scale=3) = %#v, %v", v, err)
		}
		// PYON values travel as themselves.
		in := []any{pyon.Tuple{int64(1), "a"}, pyon.Set{Items: []any{int64(1)}}, complex(1, 2), []byte{0, 1}, math.Inf(1)}
		if v, err := c.Call(ctx, "echo", in); err != nil || !reflect.DeepEqual(v, in) {
			t.Fatalf("echo = %#v, %v", v, err)
		}
		var pts [][]float64
		if err := c.CallInto(ctx, &pts, "echo", [][]float64{{1, 2}, {3, 4}}); err != nil || !reflect.DeepEqual(pts, [][]float64{{1, 2}, {3, 4}}) {
			t.Fatalf("echo into [][]float64 = %v, %v", pts, err)
		}
		var s string
		if err := c.CallInto(ctx, &s, "echo", 5); err == nil || !strings.Contains(err.Error(), "rpc: echo: result: cannot use int 5 as string") {
			t.Fatalf("a result of the wrong type: %v", err)
		}
		for _, tt := range []struct {
			method, class, msg string
		}{
			{"fail", "ValueError", "attenuation out of range"},
			{"fail_custom", pyGeneric, "rpc.DeviceError: device not responding"},
		} {
			_, err := c.Call(ctx, tt.method)
			var re *RemoteError
			if !errors.As(err, &re) || re.Type != tt.class || re.Message != tt.msg {
				t.Fatalf("%s: %v, want %s %q", tt.method, err, tt.class, tt.msg)
			}
		}
		if _, err := c.Call(ctx, "add"); !strings.Contains(err.Error(), "TypeError: add: missing argument 1 (a int)") {
			t.Fatalf("add() = %v", err)
		}
		// An unknown method is refused by the client, as SiPyCo's does.
		if _, err := c.Call(ctx, "nope"); !errors.Is(err, ErrUnknownMethod) {
			t.Fatalf("nope() = %v", err)
		}
		info, err := c.ListMethods(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m, ok := findInfo(info, "add")
		if info.Doc != "Attenuator controller used to record SiPyCo wire transcripts." || !ok ||
			m.Signature != "(self, a: 'int', b: 'int', *, scale: 'int' = None) -> 'int'" || m.Doc != "Return (a+b)*scale." ||
			!reflect.DeepEqual(m.Params, []Param{{"a", "int"}, {"b", "int"}, {"scale", "int"}}) || !reflect.DeepEqual(m.Results, []string{"int"}) {
			t.Fatalf("list-methods: %+v", info)
		}
		if err := c.Terminate(ctx); err != nil {
			t.Fatal(err)
		}
		if err := ts.WaitTerminate(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func findInfo(info *TargetInfo, name string) (MethodInfo, bool) {
	for _, m := range info.Methods {
		if m.Name == name {
			return m, true
		}
	}
	return MethodInfo{}, false
}

// A call whose context ends returns at once; the method's context ends
// with the abandoned connection, and the next call connects again.
func TestSiPyCoClientCancel(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr transport) {
		a := newAttenuator()
		ts := startServer(t, tr, map[string]any{"lda": a}, ServerOptions{})
		c := dialSiPyCoTest(t, ts, "lda")
		ctx, cancel := context.WithCancel(testCtx(t))
		go func() {
			<-a.started
			cancel()
		}()
		if _, err := c.Call(ctx, "block", "x"); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled call = %v", err)
		}
		if err := <-a.ended; !errors.Is(err, context.Canceled) {
			t.Fatalf("the method's context ended with %v", err)
		}
		if v, err := c.Call(testCtx(t), "add", 1, 2); err != nil || v != int64(3) {
			t.Fatalf("after a cancel: add = %v, %v", v, err)
		}
		// A deadline, likewise.
		dctx, dcancel := context.WithTimeout(testCtx(t), 50*time.Millisecond)
		defer dcancel()
		if _, err := c.Call(dctx, "block", "y"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("call past its deadline = %v", err)
		}
		<-a.started
		<-a.ended
		if v, err := c.Call(testCtx(t), "add", 2, 2); err != nil || v != int64(4) {
			t.Fatalf("after a deadline: add = %v, %v", v, err)
		}
	})
}

// Many goroutines share one client: their calls are serialised.
func TestSiPyCoClientConcurrent(t *testing.T) {
	ts := startController(t, transports[0], ServerOptions{})
	c := dialSiPyCoTest(t, ts, "lda")
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				var v int
				if err := c.CallInto(ctx, &v, "add", g, i); err != nil || v != g+i {
					errs <- errors.Join(err, errors.New("wrong sum"))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestSiPyCoClientClose(t *testing.T) {
	a := newAttenuator()
	ts := startServer(t, transports[0], map[string]any{"lda": a}, ServerOptions{})
	c := dialSiPyCoTest(t, ts, "lda")
	errc := make(chan error, 1)
	go func() {
		_, err := c.Call(context.Background(), "block", "x")
		errc <- err
	}()
	<-a.started
	c.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("call in flight at Close = %v", err)
	}
	<-a.ended
	if _, err := c.Call(testCtx(t), "add", 1, 2); !errors.Is(err, ErrClosed) {
		t.Fatalf("call after Close = %v", err)
	}
	c.Close() // idempotent
}

// A server gone mid-session fails the call with ErrClosed; the
// BestEffortClient reports ErrUnavailable and reconnects.
func TestSiPyCoBestEffort(t *testing.T) {
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close()
	srv, err := NewServer(map[string]any{"lda": &Controller{}}, ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	serve := func() (stop func()) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			mux := wire.NewMux(wire.MuxOptions{})
			mux.Handle(wire.BannerSiPyCoRPC, srv) // SiPyCo only: Auto must fall back
			go func() { <-ctx.Done(); mux.Close() }()
			mux.Serve(ctx, ln)
		}()
		return func() { cancel(); <-done }
	}
	stop := serve()
	b := NewBestEffortClient(testCtx(t), addr, "lda", BestEffortOptions{RetryInterval: 10 * time.Millisecond})
	defer b.Close()
	if v, err := b.Call(testCtx(t), "add", 1, 2); err != nil || v != int64(3) {
		t.Fatalf("add = %v, %v", v, err)
	}
	stop()
	if _, err := b.Call(testCtx(t), "add", 1, 2); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("with the server down: %v", err)
	}
	stop = serve()
	defer stop()
	for {
		v, err := b.Call(testCtx(t), "add", 2, 2)
		if err == nil {
			if v != int64(4) {
				t.Fatalf("add = %v", v)
			}
			break
		}
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("while reconnecting: %v", err)
		}
		time.Sleep(5 * time.Millisecond) // polling a reconnect in the background
	}
}

// Auto speaks native to a sigoco server and falls back to SiPyCo's
// protocol when the server closes without a word, as SiPyCo servers do.
func TestSiPyCoAutoFallback(t *testing.T) {
	ts := startController(t, transports[0], ServerOptions{})
	if c := ts.dial(t, "lda"); c.Protocol() != ProtocolNative {
		t.Fatalf("Auto against a sigoco server speaks %v", c.Protocol())
	}
	// A SiPyCo-only server: closes on any other banner.
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
			wg.Add(1)
			go func() {
				defer wg.Done()
				wc := wire.NewConn(nc)
				if line, err := wire.PeekLine(wc.R); err != nil || line != wire.BannerSiPyCoRPC {
					nc.Close()
					return
				}
				ts.ServeConn(context.Background(), wc)
			}()
		}
	}()
	c, err := Dial(testCtx(t), ln.Addr().String(), "lda", ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Protocol() != ProtocolSiPyCo {
		t.Fatalf("Auto against a silent server speaks %v", c.Protocol())
	}
	if v, err := c.Call(testCtx(t), "add", 1, 2); err != nil || v != int64(3) {
		t.Fatalf("add = %v, %v", v, err)
	}
	// Native only: no fallback.
	if _, err := Dial(testCtx(t), ln.Addr().String(), "lda", ClientOptions{Protocol: ProtocolNative}); !errors.Is(err, ErrIncompatibleServer) {
		t.Fatalf("native-only Dial = %v", err)
	}
	// A server speaking neither: both failures are reported.
	silent := listen(t)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := silent.Accept()
			if err != nil {
				return
			}
			nc.Close()
		}
	}()
	t.Cleanup(func() { silent.Close() })
	_, err = Dial(testCtx(t), silent.Addr().String(), "", ClientOptions{})
	if !errors.Is(err, ErrIncompatibleServer) || !strings.Contains(err.Error(), "with SiPyCo's protocol") {
		t.Fatalf("Dial to a silent server = %v", err)
	}
}

func TestSiPyCoClientSelect(t *testing.T) {
	ts := startController(t, transports[0], ServerOptions{})
	c, err := DialNoSelect(testCtx(t), ts.addr, ClientOptions{Protocol: ProtocolSiPyCo})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Call(testCtx(t), "add", 1, 2); !errors.Is(err, ErrNoTarget) {
		t.Fatalf("call before selection = %v", err)
	}
	if err := c.SelectTarget(testCtx(t), "nope"); !errors.Is(err, ErrIncompatibleServer) || !strings.Contains(err.Error(), "aux, lda") {
		t.Fatalf("SelectTarget(nope) = %v", err)
	}
	if err := c.SelectTarget(testCtx(t), "aux"); err != nil {
		t.Fatal(err)
	}
	if err := c.SelectTarget(testCtx(t), "lda"); err == nil {
		t.Fatal("a second selection succeeded")
	}
	if v, err := c.Call(testCtx(t), "add", 1, 2); err != nil || v != int64(3) {
		t.Fatalf("add = %v, %v", v, err)
	}
	if _, err := Dial(testCtx(t), ts.addr, "", ClientOptions{Protocol: ProtocolSiPyCo}); !errors.Is(err, ErrAmbiguousTarget) {
		t.Fatalf("Dial without a target = %v", err)
	}
}
