package failover

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sigoco/sigoco/rpc"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type named struct{ name string }

func (n *named) Name() string  { return n.name }
func (n *named) Touch() string { return n.name }

// server serves a target "t" naming itself; stop closes it and its
// connections.
func server(t *testing.T, name string) (addr string, stop func()) {
	t.Helper()
	srv, err := rpc.NewServer(map[string]any{"t": &named{name}}, rpc.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(context.Background(), ln) }()
	stop = func() { srv.Close(); <-done }
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

// deadAddr is an address nothing listens on.
func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

func TestSplit(t *testing.T) {
	if got := Split(" a:1, ,b:2,"); !slices.Equal(got, []string{"a:1", "b:2"}) {
		t.Fatalf("Split: %q", got)
	}
	if got := NewList("a:1,b:2", "c:3").Addrs(); !slices.Equal(got, []string{"a:1", "b:2", "c:3"}) {
		t.Fatalf("NewList: %q", got)
	}
}

// TestConnFailsOver: a dead first address is skipped; when the server in
// use goes, an idempotent call is made again on the next one, another
// call returns the error and the call after it reaches the next one.
func TestConnFailsOver(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, stopA := server(t, "A")
	b, _ := server(t, "B")
	c := NewConn(NewList(deadAddr(t)+","+a, b), "t", rpc.ClientOptions{}, "name")
	defer c.Close()
	var got string
	if err := c.CallInto(ctx, &got, "name"); err != nil || got != "A" {
		t.Fatalf("first call: %q, %v; want A (the dead address skipped)", got, err)
	}
	stopA()
	if err := c.CallInto(ctx, &got, "name"); err != nil || got != "B" {
		t.Fatalf("idempotent call after A went: %q, %v; want B", got, err)
	}

	// Not idempotent: the error, then the next server.
	a2, stopA2 := server(t, "A2")
	c3 := NewConn(NewList(a2, b), "t", rpc.ClientOptions{})
	defer c3.Close()
	if v, err := c3.Call(ctx, "touch"); err != nil || v != "A2" {
		t.Fatalf("c3: %v, %v", v, err)
	}
	stopA2()
	if _, err := c3.Call(ctx, "touch"); !Lost(err) {
		t.Fatalf("non-idempotent call on a lost connection: %v, want the loss", err)
	}
	if v, err := c3.Call(ctx, "touch"); err != nil || v != "B" {
		t.Fatalf("next call: %v, %v; want B", v, err)
	}
	c3.Close()
	if _, err := c3.Call(ctx, "touch"); err != ErrClosed {
		t.Fatalf("closed: %v", err)
	}
}

// TestDialNoneAnswers: every address's error is returned.
func TestDialNoneAnswers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d1, d2 := deadAddr(t), deadAddr(t)
	_, err := NewConn(NewList(d1, d2), "t", rpc.ClientOptions{}).Client(ctx)
	if err == nil || !strings.Contains(err.Error(), d1) || !strings.Contains(err.Error(), d2) {
		t.Fatalf("%v; want both addresses named", err)
	}
	if _, _, err := Dial(ctx, NewList(), func(context.Context, string) (int, error) { return 0, nil }); err != ErrNoAddress {
		t.Fatalf("empty list: %v", err)
	}
}
