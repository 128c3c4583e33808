package logfwd

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/testcert"
	"github.com/sigoco/sigoco/wire"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// got is one record a collector received.
type got struct {
	rec       slog.Record
	forwarded string // ForwardedSource of the context, "" if none
}

// attrs returns the record's attributes by key (top level).
func (g got) attr(key string) (slog.Value, bool) {
	var v slog.Value
	found := false
	g.rec.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v, found = a.Value, true
			return false
		}
		return true
	})
	return v, found
}

func (g got) str(key string) string {
	v, _ := g.attr(key)
	return v.String()
}

// collector is a slog.Handler that keeps every record and lets a test
// wait for a number of them.
type collector struct {
	mu      sync.Mutex
	recs    []got
	changed chan struct{}
	block   chan struct{} // if set, Handle waits for it to be closed
}

func newCollector() *collector { return &collector{changed: make(chan struct{})} }

func (c *collector) Enabled(context.Context, slog.Level) bool { return true }
func (c *collector) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *collector) WithGroup(string) slog.Handler            { return c }

func (c *collector) Handle(ctx context.Context, r slog.Record) error {
	if c.block != nil {
		<-c.block
	}
	src, _ := ForwardedSource(ctx)
	c.mu.Lock()
	c.recs = append(c.recs, got{rec: r.Clone(), forwarded: src})
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	return nil
}

func (c *collector) all() []got {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]got(nil), c.recs...)
}

// wait returns once n records arrived, failing the test after 10 s.
func (c *collector) wait(t *testing.T, n int) []got {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		c.mu.Lock()
		if len(c.recs) >= n {
			recs := append([]got(nil), c.recs...)
			c.mu.Unlock()
			return recs
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-timeout.C:
			t.Fatalf("got %d records, want %d", len(c.all()), n)
		}
	}
}

func (c *collector) messages() []string {
	var out []string
	for _, g := range c.all() {
		out = append(out, g.rec.Message)
	}
	return out
}

// transport is how a test reaches its server.
type transport struct {
	name string
	mux  bool
	tls  bool
}

var transports = []transport{
	{"tcp", false, false},
	{"tls", false, true},
	{"mux-tcp", true, false},
	{"mux-tls", true, true},
}

// serve starts a Server for h on a fresh loopback port (or on addr if
// given) and returns its address; everything is torn down with t.Cleanup.
func serve(t *testing.T, h slog.Handler, tr transport, opts ServerOptions, addr string) (string, *Server, *tls.Config) {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var clientTLS *tls.Config
	var serverTLS *tls.Config
	if tr.tls {
		srvPair, cliPair := testcert.New(t, "server"), testcert.New(t, "client")
		serverTLS, err = wire.TLSConfig{CertFile: srvPair.CertFile, KeyFile: srvPair.KeyFile, PeerCertFile: cliPair.CertFile}.Server()
		if err != nil {
			t.Fatal(err)
		}
		clientTLS, err = wire.TLSConfig{CertFile: cliPair.CertFile, KeyFile: cliPair.KeyFile, PeerCertFile: srvPair.CertFile}.Client("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
	}
	if tr.tls && !tr.mux {
		opts.TLS = serverTLS
	}
	srv := NewServer(h, opts)
	done := make(chan struct{})
	if tr.mux {
		mux := wire.NewMux(wire.MuxOptions{TLS: serverTLS})
		mux.Handle(wire.BannerLog, srv)
		mux.Handle(wire.BannerSiPyCoLog, srv)
		go func() { defer close(done); mux.Serve(context.Background(), ln) }()
		t.Cleanup(func() { mux.Close(); srv.Close(); <-done })
	} else {
		go func() { defer close(done); srv.Serve(context.Background(), ln) }()
		t.Cleanup(func() { srv.Close(); <-done })
	}
	return ln.Addr().String(), srv, clientTLS
}

// forward starts a Forwarder with fast reconnects, closed at cleanup.
func forward(t *testing.T, addr string, opts ForwarderOptions) *Forwarder {
	t.Helper()
	if opts.Source == "" {
		opts.Source = "test"
	}
	if opts.MinBackoff == 0 {
		opts.MinBackoff = 5 * time.Millisecond
		opts.MaxBackoff = 50 * time.Millisecond
	}
	f, err := NewForwarder(addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func flush(t *testing.T, f *Forwarder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v (stats %+v)", err, f.Stats())
	}
}

// freeAddr returns a loopback address nothing listens on (just now).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
