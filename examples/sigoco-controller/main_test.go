package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/testcert"
	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/wire"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type certs struct{ server, client, stranger testcert.Pair }

func newCerts(t *testing.T) certs {
	return certs{testcert.New(t, "server"), testcert.New(t, "client"), testcert.New(t, "stranger")}
}

// start runs the command as main would, with flags, and returns the
// address it serves and a function that waits for its result.
func start(t *testing.T, args ...string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := newApp(pw).RunContext(ctx, append([]string{"controller", "--bind", "127.0.0.1", "--port", "0", "--step-delay", "1ms"}, args...))
		pw.Close()
		done <- err
	}()
	var once sync.Once
	var result error
	wait := func() error {
		once.Do(func() { result = <-done })
		return result
	}
	t.Cleanup(func() {
		cancel()
		wait()
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	go io.Copy(io.Discard, pr) // until the command ends
	if err != nil {
		t.Fatalf("no start line: %v (%v)", err, wait())
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "controller: serving target lda on ")
	if !ok {
		t.Fatalf("start line %q", line)
	}
	return addr, wait
}

func dial(t *testing.T, addr string, tlsCfg wire.TLSConfig) *rpc.Client {
	t.Helper()
	opts := rpc.ClientOptions{}
	if tlsCfg.Enabled() {
		cfg, err := tlsCfg.Client("localhost")
		if err != nil {
			t.Fatal(err)
		}
		opts.TLS = cfg
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := rpc.Dial(ctx, addr, "lda", opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestController(t *testing.T) {
	cs := newCerts(t)
	for _, tc := range []struct {
		name   string
		args   []string
		client wire.TLSConfig
	}{
		{"tcp", nil, wire.TLSConfig{}},
		{"tls", []string{"--tls-cert", cs.server.CertFile, "--tls-key", cs.server.KeyFile, "--tls-peer-cert", cs.client.CertFile},
			wire.TLSConfig{CertFile: cs.client.CertFile, KeyFile: cs.client.KeyFile, PeerCertFile: cs.server.CertFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, wait := start(t, tc.args...)
			c := dial(t, addr, tc.client)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()

			call := func(method string, args ...any) any {
				t.Helper()
				r, err := c.Call(ctx, method, args...)
				if err != nil {
					t.Fatalf("%s: %v", method, err)
				}
				return r
			}
			if call("set_attenuation", 12.5) != nil || call("get_attenuation") != 12.5 {
				t.Fatal("attenuation not set")
			}
			if _, err := c.Call(ctx, "set_attenuation", 64); err == nil || !strings.Contains(err.Error(), "out of range") {
				t.Fatalf("out of range: %v", err)
			}
			if call("ping") != true || call("add", 40, 2) != int64(42) || call("echo", "x") != "x" {
				t.Fatal("ping/add/echo")
			}
			var swept []float64
			if err := c.CallInto(ctx, &swept, "sweep", 1, 2, 0.5); err != nil || !reflect.DeepEqual(swept, []float64{1, 1.5, 2}) {
				t.Fatalf("sweep = %v, %v", swept, err)
			}
			if err := c.CallInto(ctx, &swept, "sweep", 3, 2, 0.5); err != nil || !reflect.DeepEqual(swept, []float64{3, 2.5, 2}) {
				t.Fatalf("sweep down = %v, %v", swept, err)
			}
			if _, err := c.Call(ctx, "sweep", 0, 70, 1); err == nil {
				t.Fatal("sweep out of range succeeded")
			}
			// A long sweep honours cancellation, and the controller goes on.
			sctx, scancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer scancel()
			if _, err := c.Call(sctx, "sweep", 0, 63, 0.01); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("long sweep = %v", err)
			}
			if call("ping") != true {
				t.Fatal("ping after a cancelled sweep")
			}
			info, err := c.ListMethods(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var sweep rpc.MethodInfo
			for _, m := range info.Methods {
				if m.Name == "sweep" {
					sweep = m
				}
			}
			want := []rpc.Param{{Name: "from", Type: "float64"}, {Name: "to", Type: "float64"}, {Name: "step", Type: "float64"}}
			if !reflect.DeepEqual(sweep.Params, want) || !strings.HasPrefix(sweep.Doc, "Sweep steps") || !strings.Contains(info.Doc, "simulated") {
				t.Fatalf("listing: %+v / %q", sweep, info.Doc)
			}
			// terminate stops the controller cleanly.
			if err := c.Terminate(ctx); err != nil {
				t.Fatal(err)
			}
			if err := wait(); err != nil {
				t.Fatalf("controller ended with %v", err)
			}
		})
	}
}

func TestControllerRefusesStrangers(t *testing.T) {
	cs := newCerts(t)
	addr, _ := start(t, "--tls-cert", cs.server.CertFile, "--tls-key", cs.server.KeyFile, "--tls-peer-cert", cs.client.CertFile)
	cfg, err := wire.TLSConfig{CertFile: cs.stranger.CertFile, KeyFile: cs.stranger.KeyFile, PeerCertFile: cs.server.CertFile}.Client("localhost")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if c, err := rpc.Dial(ctx, addr, "lda", rpc.ClientOptions{TLS: cfg}); err == nil {
		c.Close()
		t.Fatal("a client with an untrusted certificate was served")
	}
	dial(t, addr, wire.TLSConfig{CertFile: cs.client.CertFile, KeyFile: cs.client.KeyFile, PeerCertFile: cs.server.CertFile})
}

func TestControllerStopsOnSignal(t *testing.T) {
	srv, err := newServer(config{StepDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.serve(ctx, ln) }()
	c := dial(t, ln.Addr().String(), wire.TLSConfig{})
	if r, err := c.Call(ctx, "ping"); err != nil || r != true {
		t.Fatalf("ping = %v, %v", r, err)
	}
	cancel() // as SIGINT does through signal.NotifyContext
	if err := <-done; err != nil {
		t.Fatalf("serve = %v", err)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"controller", "--port", "notanumber"},
		{"controller", "--bind", "127.0.0.1", "--port", "0", "--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"},
		{"controller", "--bind", "127.0.0.1", "--port", "0", "--tls-key", "/x"}, // a key without a certificate
	} {
		if err := newApp(io.Discard).RunContext(context.Background(), args); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// TestBadNumbers: NaN and infinities are refused (a range check alone lets
// NaN through), and a sweep too fine to end is refused up front.
func TestBadNumbers(t *testing.T) {
	addr, _ := start(t)
	c := dial(t, addr, wire.TLSConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		method string
		args   []any
		want   string
	}{
		{"set_attenuation", []any{math.NaN()}, "attenuation must be a number of dB, not NaN"},
		{"set_attenuation", []any{math.Inf(1)}, "attenuation must be a number of dB, not +Inf"},
		{"set_attenuation", []any{math.Inf(-1)}, "not -Inf"},
		{"sweep", []any{math.NaN(), 3, 1}, "sweep start must be a number"},
		{"sweep", []any{0, math.Inf(1), 1}, "sweep end must be a number"},
		{"sweep", []any{0, 3, math.NaN()}, "step must be a positive number"},
		{"sweep", []any{0, 63, 1e-300}, "more than 10000: use a larger step"},
	} {
		_, err := c.Call(ctx, tc.method, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s%v = %v, want an error containing %q", tc.method, tc.args, err, tc.want)
		}
	}
	if r, err := c.Call(ctx, "get_attenuation"); err != nil || r != 0.0 {
		t.Fatalf("get_attenuation = %v, %v: want 0 (nothing was set)", r, err)
	}
	d := NewAttenuator(0)
	if err := d.SetAttenuation(math.NaN()); !errors.Is(err, rpc.ErrValue) {
		t.Errorf("SetAttenuation(NaN) = %v, want rpc.ErrValue", err)
	}
	if _, err := d.Sweep(ctx, 0, 63, 1e-300); !errors.Is(err, rpc.ErrValue) {
		t.Errorf("Sweep(0, 63, 1e-300) = %v, want rpc.ErrValue", err)
	}
}

// TestShutdownFinishesCalls: SIGINT (ctx cancelled) while a sweep is in
// flight lets the sweep finish and its reply reach the caller.
func TestShutdownFinishesCalls(t *testing.T) {
	srv, err := newServer(config{StepDelay: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	c := dial(t, ln.Addr().String(), wire.TLSConfig{})
	cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer ccancel()
	type reply struct {
		v   []float64
		err error
	}
	got := make(chan reply, 1)
	go func() {
		var r reply
		r.err = c.CallInto(cctx, &r.v, "sweep", 1, 6, 1)
		got <- r
	}()
	// The sweep sets 1 dB at once, then takes 100 ms per step: it is in
	// flight once the attenuation has moved.
	// (Calls to one target run one at a time, so the published state, not
	// another call, shows the sweep's progress.)
	for moved := false; !moved; time.Sleep(time.Millisecond) {
		srv.state.Read(func(tree any) { moved = tree.(map[string]any)["attenuation"] != 0.0 })
	}
	cancel() // as SIGINT does through signal.NotifyContext
	r := <-got
	if r.err != nil || !reflect.DeepEqual(r.v, []float64{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("sweep in flight during shutdown = %v, %v; want [1 2 3 4 5 6] and no error", r.v, r.err)
	}
	if err := <-done; err != nil {
		t.Fatalf("serve = %v", err)
	}
	done <- nil // for the cleanup
}
