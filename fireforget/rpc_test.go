package fireforget_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/fireforget"
	"github.com/sigoco/sigoco/rpc"
)

// attenuator is served over rpc; SetAttenuation is slow until released.
type attenuator struct {
	started chan float64
	gate    chan struct{}
	mu      sync.Mutex
	set     []float64
}

func (a *attenuator) SetAttenuation(ctx context.Context, db float64) error {
	a.started <- db
	select {
	case <-a.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	a.mu.Lock()
	a.set = append(a.set, db)
	a.mu.Unlock()
	return nil
}

func (a *attenuator) Fail() error { return errors.New("attenuation out of range") }

type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) Enabled(context.Context, slog.Level) bool { return true }
func (w *warnings) WithAttrs([]slog.Attr) slog.Handler       { return w }
func (w *warnings) WithGroup(string) slog.Handler            { return w }
func (w *warnings) Handle(_ context.Context, r slog.Record) error {
	s := r.Message
	r.Attrs(func(a slog.Attr) bool { s += " " + a.Key + "=" + a.Value.String(); return true })
	w.mu.Lock()
	w.msgs = append(w.msgs, s)
	w.mu.Unlock()
	return nil
}

func (w *warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

func serveRPC(t *testing.T, target any) string {
	t.Helper()
	srv, err := rpc.NewServer(map[string]any{"lda": target}, rpc.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return ln.Addr().String()
}

func TestProxyAroundRPCClient(t *testing.T) {
	att := &attenuator{started: make(chan float64, 10), gate: make(chan struct{})}
	addr := serveRPC(t, att)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := rpc.Dial(ctx, addr, "lda", rpc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	w := &warnings{}
	p, err := fireforget.New(client, fireforget.Options{Logger: slog.New(w)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	// The server method cannot finish before the gate opens, so Call
	// returning at all shows it did not wait for it.
	if err := p.Call("set_attenuation", 5.5); err != nil {
		t.Fatal(err)
	}
	if db := <-att.started; db != 5.5 {
		t.Fatalf("server got %v", db)
	}
	if err := p.Call("set_attenuation", 6.0); err != nil { // busy: dropped
		t.Fatal(err)
	}
	close(att.gate)
	if err := p.Join(ctx); err != nil {
		t.Fatal(err)
	}
	p.Call("fail")
	p.Join(ctx)
	p.Call("no_such_method")
	p.Join(ctx)

	att.mu.Lock()
	set := att.set
	att.mu.Unlock()
	if len(set) != 1 || set[0] != 5.5 {
		t.Errorf("server applied %v, want [5.5]", set)
	}
	if s := p.Stats(); s.Succeeded != 1 || s.Dropped != 1 || s.Failed != 2 {
		t.Errorf("stats %+v", s)
	}
	got := strings.Join(w.all(), "\n")
	for _, want := range []string{
		"fireforget: call dropped, previous call still running method=set_attenuation",
		"fireforget: call failed method=fail err=",
		"attenuation out of range",
		"fireforget: call failed method=no_such_method err=",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings lack %q:\n%s", want, got)
		}
	}
}

func TestProxyAroundBestEffortClientWhileDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	be := rpc.NewBestEffortClient(ctx, addr, "lda", rpc.BestEffortOptions{ClientOptions: rpc.ClientOptions{HandshakeTimeout: 100 * time.Millisecond}})
	defer be.Close()
	w := &warnings{}
	p, err := fireforget.New(be, fireforget.Options{Logger: slog.New(w)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Call("set_attenuation", 1.0)
	if err := p.Join(ctx); err != nil {
		t.Fatal(err)
	}
	if got := w.all(); len(got) != 1 || !strings.Contains(got[0], rpc.ErrUnavailable.Error()) {
		t.Errorf("warnings %q", got)
	}
}
