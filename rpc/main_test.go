package rpc

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/testcert"
	"github.com/sigoco/sigoco/wire"
	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// transport is how a test server listens and a test client dials.
type transport struct {
	name   string
	mux    bool                           // served behind a wire.Mux
	server func(t testing.TB) *tls.Config // nil: plain TCP
	client func(t testing.TB) *tls.Config
}

// tlsPair holds certificates shared by the server and client configs of
// one test.
type tlsPair struct{ server, client testcert.Pair }

var certCache sync.Map // testing.TB -> *tlsPair

func certsFor(t testing.TB) *tlsPair {
	if p, ok := certCache.Load(t); ok {
		return p.(*tlsPair)
	}
	p := &tlsPair{server: testcert.New(t, "server"), client: testcert.New(t, "client")}
	certCache.Store(t, p)
	t.Cleanup(func() { certCache.Delete(t) })
	return p
}

var transports = []transport{
	{name: "tcp"},
	{
		name: "tls",
		server: func(t testing.TB) *tls.Config {
			p := certsFor(t)
			cfg, err := wire.TLSConfig{CertFile: p.server.CertFile, KeyFile: p.server.KeyFile, PeerCertFile: p.client.CertFile}.Server()
			if err != nil {
				t.Fatal(err)
			}
			return cfg
		},
		client: func(t testing.TB) *tls.Config {
			p := certsFor(t)
			cfg, err := wire.TLSConfig{CertFile: p.client.CertFile, KeyFile: p.client.KeyFile, PeerCertFile: p.server.CertFile}.Client("localhost")
			if err != nil {
				t.Fatal(err)
			}
			return cfg
		},
	},
}

// The same server behind a wire.Mux, over TCP and over TLS (the Mux does
// TLS: the transport's server config goes to MuxOptions, not to the rpc
// server).
var muxTransports = []transport{
	{name: "mux-tcp", mux: true},
	{name: "mux-tls", mux: true, server: transports[1].server, client: transports[1].client},
}

// forEachTransportMux is forEachTransport, and behind a wire.Mux over TCP
// and TLS; for tests that do not depend on Serve's own lifecycle
// (terminate, Shutdown, Serve's result) or on the server's own banner
// and handshake refusals, which the Mux answers itself.
func forEachTransportMux(t *testing.T, f func(t *testing.T, tr transport)) {
	for _, tr := range append(append([]transport(nil), transports...), muxTransports...) {
		t.Run(tr.name, func(t *testing.T) { f(t, tr) })
	}
}

// forEachTransport runs f as a subtest over TCP and over TLS with mutual
// authentication (ServerOptions.TLS).
func forEachTransport(t *testing.T, f func(t *testing.T, tr transport)) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) { f(t, tr) })
	}
}

// testServer is a server on a loopback listener, torn down by t.Cleanup.
type testServer struct {
	*Server
	addr      string
	tr        transport
	clientTLS *tls.Config // nil for TCP
	done      chan error
}

func startServer(t testing.TB, tr transport, targets map[string]any, opts ServerOptions) *testServer {
	t.Helper()
	return startServerAt(t, "127.0.0.1:0", tr, targets, opts)
}

func startServerAt(t testing.TB, addr string, tr transport, targets map[string]any, opts ServerOptions) *testServer {
	t.Helper()
	var serverTLS *tls.Config
	if tr.server != nil {
		serverTLS = tr.server(t)
	}
	if !tr.mux {
		opts.TLS = serverTLS
	}
	srv, err := NewServer(targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: srv, addr: ln.Addr().String(), tr: tr, done: make(chan error, 1)}
	if tr.client != nil {
		ts.clientTLS = tr.client(t)
	}
	if !tr.mux {
		go func() { ts.done <- srv.Serve(context.Background(), ln) }()
		t.Cleanup(func() {
			srv.Close()
			if err := <-ts.done; err != nil && !errors.Is(err, net.ErrClosed) {
				t.Errorf("Serve: %v", err)
			}
		})
		return ts
	}
	mux := wire.NewMux(wire.MuxOptions{TLS: serverTLS})
	mux.Handle(wire.BannerRPC, srv)
	mux.Handle(wire.BannerSiPyCoRPC, srv)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { ts.done <- mux.Serve(ctx, ln) }()
	t.Cleanup(func() {
		srv.Close()
		cancel()
		mux.Close()
		<-ts.done
	})
	return ts
}

func (ts *testServer) clientOpts(t testing.TB) ClientOptions {
	return ClientOptions{TLS: ts.clientTLS}
}

// dial connects to target; the client is closed by t.Cleanup.
func (ts *testServer) dial(t testing.TB, target string) *Client {
	t.Helper()
	c, err := Dial(testCtx(t), ts.addr, target, ts.clientOpts(t))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// testCtx bounds a test's calls so that a bug hangs nothing for long.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Attenuator is the test target (its docs are registered in
// docs_test.go).
type Attenuator struct {
	mu      sync.Mutex
	db      float64
	Exposed int // a field: never callable

	started chan string   // Block and Wait report here when they start
	release chan struct{} // Wait returns when this is closed
	ended   chan error    // Block reports its ctx error here
}

func newAttenuator() *Attenuator {
	return &Attenuator{started: make(chan string, 100), release: make(chan struct{}), ended: make(chan error, 100)}
}

// RangeError is a typed error returned by SetAttenuation.
type RangeError struct{ DB float64 }

func (e *RangeError) Error() string { return fmt.Sprintf("%g dB out of range 0-63", e.DB) }

func (a *Attenuator) SetAttenuation(db float64) error {
	if db < 0 || db > 63 {
		return &RangeError{db}
	}
	a.mu.Lock()
	a.db = db
	a.mu.Unlock()
	return nil
}

func (a *Attenuator) GetAttenuation() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.db
}

func (a *Attenuator) Add(x, y int) int                        { return x + y }
func (a *Attenuator) Echo(v any) any                          { return v }
func (a *Attenuator) EchoInts(v []int64) []int64              { return v }
func (a *Attenuator) EchoBytes(b []byte) []byte               { return b }
func (a *Attenuator) EchoPoint(p Point) Point                 { return p }
func (a *Attenuator) EchoMap(m map[string]int) map[string]int { return m }
func (a *Attenuator) Ping()                                   {}
func (a *Attenuator) Zeros(n int) []byte                      { return make([]byte, n) }
func (a *Attenuator) Sum(label string, xs ...int) string {
	t := 0
	for _, x := range xs {
		t += x
	}
	return fmt.Sprintf("%s=%d", label, t)
}
func (a *Attenuator) Small(v int8) int8    { return v }
func (a *Attenuator) Unsigned(v uint) uint { return v }
func (a *Attenuator) Flag(b bool) bool     { return !b }
func (a *Attenuator) Ratio(x float32) float64 {
	return float64(x) * 2
}

// Greet takes a trailing options struct, filled by keyword arguments.
func (a *Attenuator) Greet(name string, opts GreetOptions) string {
	s := opts.Greeting
	if s == "" {
		s = "hello"
	}
	for i := 0; i < max(opts.Times, 1); i++ {
		s += " " + name
	}
	return s
}

// Configure takes a pointer options struct.
func (a *Attenuator) Configure(opts *GreetOptions) string {
	if opts == nil {
		return "defaults"
	}
	return fmt.Sprintf("%s/%d", opts.Greeting, opts.Times)
}

func (a *Attenuator) Fail() error             { return errors.New("attenuation out of range") }
func (a *Attenuator) FailTyped() (int, error) { return 0, &RangeError{99} }
func (a *Attenuator) Panic() int              { panic("boom") }

// Block waits for its context to end and reports how it ended.
func (a *Attenuator) Block(ctx context.Context, tag string) error {
	a.started <- tag
	<-ctx.Done()
	a.ended <- ctx.Err()
	return ctx.Err()
}

// Wait blocks until release is closed; it has a context but ignores it.
func (a *Attenuator) Wait(ctx context.Context, tag string) string {
	a.started <- tag
	<-a.release
	return tag
}

// Hold blocks (without a context) until release is closed.
func (a *Attenuator) Hold(tag string) string {
	a.started <- tag
	<-a.release
	return tag
}

// Remaining reports the time left before the call's deadline, -1 if none.
func (a *Attenuator) Remaining(ctx context.Context) float64 {
	dl, ok := ctx.Deadline()
	if !ok {
		return -1
	}
	return time.Until(dl).Seconds()
}

func (a *Attenuator) reset() int { return 0 } // unexported: never callable

// Plain has no registered docs.
type Plain struct{}

func (Plain) Scale(x float64, factor int) float64 { return x * float64(factor) }

// Point is a struct argument.
type Point struct {
	X, Y float64
	Tag  string
}

// GreetOptions are Greet's keyword arguments.
type GreetOptions struct {
	Greeting string
	Times    int
	Loud     bool `msgpack:"shout"`
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// releaseOnCleanup returns a function that closes release once; it is also
// registered with t.Cleanup, so a test that fails before releasing a
// blocked target fails instead of hanging Server.Close. Call it after
// starting the server: cleanups run last-registered first, and the
// release must come before the server's Close.
func releaseOnCleanup(t testing.TB, release chan struct{}) func() {
	var once sync.Once
	f := func() { once.Do(func() { close(release) }) }
	t.Cleanup(f)
	return f
}

// readFrame reads one frame from r (limit <= 0: wire's default).
func readFrame(r *bufio.Reader, limit int) ([]byte, error) {
	return wire.NewFrameReader(r, limit).Next()
}
