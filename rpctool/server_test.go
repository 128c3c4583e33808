package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"

	"github.com/sigoco/sigoco/internal/testcert"
	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/wire"
	"go.uber.org/goleak"
)

// TestMain runs rpctool itself when RPCTOOL_TEST_MAIN is 1 (the terminal
// tests start this binary as rpctool on a pseudo-terminal), else the tests
// with a goroutine-leak check.
func TestMain(m *testing.M) {
	if os.Getenv("RPCTOOL_TEST_MAIN") == "1" {
		main()
	}
	goleak.VerifyTestMain(m)
}

// attenuator is the test target: a little of everything a lab device has.
type attenuator struct {
	mu      sync.Mutex
	db      float64
	entered chan struct{} // Block signals here when it starts
}

// ScaleOptions are the keyword arguments of Scale.
type ScaleOptions struct {
	Factor float64
}

// RangeError is a typed error returned by SetAttenuation.
type RangeError struct{ DB float64 }

func (e *RangeError) Error() string { return fmt.Sprintf("%g dB is out of range (0 to 63)", e.DB) }

func (a *attenuator) SetAttenuation(db float64) error {
	if db < 0 || db > 63 {
		return &RangeError{db}
	}
	a.mu.Lock()
	a.db = db
	a.mu.Unlock()
	return nil
}

func (a *attenuator) GetAttenuation() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.db
}

func (a *attenuator) Add(x, y int64) int64 { return x + y }

func (a *attenuator) Echo(v any) any { return v }

func (a *attenuator) Scale(x float64, opts ScaleOptions) float64 {
	if opts.Factor == 0 {
		opts.Factor = 1
	}
	return x * opts.Factor
}

func (a *attenuator) Fail() error { return errors.New("device not responding") }

func (a *attenuator) Crash() { panic("driver bug") }

func (a *attenuator) Block(ctx context.Context) error {
	select {
	case a.entered <- struct{}{}:
	default: // nobody is waiting for it
	}
	<-ctx.Done()
	return ctx.Err()
}

func (a *attenuator) Ping() {}

func (a *attenuator) Values() any {
	return []any{pyon.Tuple{int64(1), "a"}, []byte("b\x00"), complex(1, -2), map[string]any{"k": nil, "n": 1.5}}
}

func init() {
	rpc.RegisterDoc((*attenuator)(nil), rpc.TargetDoc{
		Doc: "Attenuator used by the rpctool tests.",
		Methods: map[string]rpc.MethodDoc{
			"SetAttenuation": {Params: []string{"db"}, Doc: "SetAttenuation sets the attenuation in dB.\nIt must be within 0 to 63."},
			"GetAttenuation": {Doc: "GetAttenuation returns the attenuation in dB."},
			"Add":            {Params: []string{"x", "y"}, Doc: "Add returns x+y."},
			"Echo":           {Params: []string{"v"}},
			"Scale":          {Params: []string{"x", "opts"}, Doc: "Scale returns x times factor."},
			"Block":          {Doc: "Block waits until cancelled."},
		},
	})
}

// testServer is a running rpc server for one test.
type testServer struct {
	stop func() // closes the server; also done at cleanup
	addr string
	dev  *attenuator
	tls  *tlsFiles // nil for plain TCP
}

type tlsFiles struct{ server, client testcert.Pair }

// serverOpts says how to run a test server.
type serverOpts struct {
	tls    bool   // TLS with mutual authentication
	two    bool   // a second target, "aux"
	listen string // default 127.0.0.1:0
}

// startServer serves the attenuator as "dev" (and "aux").
func startServer(t *testing.T, o serverOpts) *testServer {
	t.Helper()
	ts := &testServer{dev: &attenuator{entered: make(chan struct{}, 1)}}
	targets := map[string]any{"dev": ts.dev}
	if o.two {
		targets["aux"] = &attenuator{}
	}
	srv, err := rpc.NewServer(targets, rpc.ServerOptions{Description: "rpctool test server"})
	if err != nil {
		t.Fatal(err)
	}
	if o.listen == "" {
		o.listen = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		t.Fatal(err)
	}
	if o.tls {
		ts.tls = &tlsFiles{server: testcert.New(t, "server"), client: testcert.New(t, "client")}
		cfg, err := wire.TLSConfig{CertFile: ts.tls.server.CertFile, KeyFile: ts.tls.server.KeyFile, PeerCertFile: ts.tls.client.CertFile}.Server()
		if err != nil {
			t.Fatal(err)
		}
		ln = tls.NewListener(ln, cfg)
	}
	ts.addr = ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	var once sync.Once
	ts.stop = func() {
		once.Do(func() {
			srv.Close()
			if err := <-done; err != nil && !errors.Is(err, net.ErrClosed) {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(ts.stop)
	return ts
}

// flags returns the TLS flags a client needs for this server.
func (ts *testServer) flags() []string {
	if ts.tls == nil {
		return nil
	}
	return []string{"--tls-cert", ts.tls.client.CertFile, "--tls-key", ts.tls.client.KeyFile, "--tls-peer-cert", ts.tls.server.CertFile}
}
