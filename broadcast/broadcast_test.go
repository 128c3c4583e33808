package broadcast

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/internal/testcert"
	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/wire"
	"github.com/sigoco/sigoco/wire/auth"
)

// messages are PYON values of every kind, as SiPyCo's pyon.encode writes
// them (checked against real SiPyCo by the tests in sipyco_test.go).
var messages = []struct{ name, pyon string }{
	{"ccb_create", `{"action":"create","name":"plot","command":"plot_xy x y","group":null}`},
	{"int", `42`},
	{"float_one", `1.0`},
	{"negative_zero", `-0.0`},
	{"bigint", `123456789012345678901234567890`},
	{"nan", `NaN`},
	{"inf", `Infinity`},
	{"unicode", `"h\u00e9llo \u2713\ttab"`},
	{"list", `[1,2.5,"x",null,true]`},
	{"tuple", `{"__jsonclass__":["tuple",[[1,"two"]]]}`},
	{"bytes", `{"__jsonclass__":["bytes",["AP9ieXRlcw=="]]}`},
	{"dict_nonstr_keys", `{"__jsonclass__":["dict",[[[1,"one"],[{"__jsonclass__":["tuple",[[2,3]]]},"tuple key"]]]]}`},
	{"set", `{"__jsonclass__":["set",[[1,3]]]}`},
	{"complex", `{"__jsonclass__":["complex",[2.0,3.0]]}`},
	{"fraction", `{"__jsonclass__":["Fraction",[1,3]]}`},
	{"nparray", `{"__jsonclass__":["nparray",[[2,2],"<f8","AAAAAAAA+D8AAAAAAAAAQAAAAAAAAAhAAAAAAAAAEkA="]]}`},
	{"npscalar", `{"__jsonclass__":["npscalar",["<i4","BwAAAA=="]]}`},
	{"nested", `{"nested":{"deep":[[[]]]}}`},
	{"empty_string", `""`},
	{"empty_list", `[]`},
}

// decode decodes a message's PYON text, failing the test on error.
func decode(t testing.TB, text string) any {
	t.Helper()
	v, err := pyon.DecodeString(text)
	if err != nil {
		t.Fatalf("decoding %s: %v", text, err)
	}
	return v
}

// canonical is v's PYON text as this package writes it: two values are
// the same when their canonical texts are (NaN included).
func canonical(t testing.TB, v any) string {
	t.Helper()
	b, err := pyon.Encode(v)
	if err != nil {
		t.Fatalf("encoding %#v: %v", v, err)
	}
	return string(b)
}

// start serves a Broadcaster with opts on loopback (behind a wire.Mux with
// TLS when tlsServer is set) and returns its address.
func start(t *testing.T, opts Options, mux bool, tlsServer *tls.Config) (*Broadcaster, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := NewBroadcaster(opts)
	done := make(chan struct{})
	if mux {
		m := wire.NewMux(wire.MuxOptions{TLS: tlsServer})
		m.Handle(wire.BannerSiPyCoBroadcast, b)
		go func() { defer close(done); m.Serve(context.Background(), ln) }()
		t.Cleanup(func() { m.Close(); b.Close(); <-done })
	} else {
		b.opts.TLS = tlsServer
		b = NewBroadcaster(b.opts)
		go func() { defer close(done); b.Serve(context.Background(), ln) }()
		t.Cleanup(func() { b.Close(); <-done })
	}
	return b, ln.Addr().String()
}

// waitReceivers waits until channel has n receivers.
func waitReceivers(t *testing.T, b *Broadcaster, channel string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for b.Receivers(channel) != n {
		if time.Now().After(deadline) {
			t.Fatalf("channel %q has %d receivers, want %d", channel, b.Receivers(channel), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func dial(t *testing.T, addr, channel string, opts ReceiverOptions) *Receiver {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := Dial(ctx, addr, channel, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func receive(t *testing.T, r *Receiver) any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := r.Receive(ctx)
	if err != nil {
		t.Fatalf("receiving on %q: %v", r.Channel(), err)
	}
	return v
}

func tlsPair(t *testing.T) (server, client *tls.Config) {
	srv, cli := testcert.New(t, "server"), testcert.New(t, "client")
	server, err := wire.TLSConfig{CertFile: srv.CertFile, KeyFile: srv.KeyFile, PeerCertFile: cli.CertFile}.Server()
	if err != nil {
		t.Fatal(err)
	}
	client, err = wire.TLSConfig{CertFile: cli.CertFile, KeyFile: cli.KeyFile, PeerCertFile: srv.CertFile}.Client("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return server, client
}

// Every receiver of a channel gets every message, in order, and only its
// channel's; plain TCP, and TLS with client certificates behind a Mux.
func TestBroadcastToReceivers(t *testing.T) {
	for _, tc := range []struct {
		name string
		mux  bool
		tls  bool
	}{{"tcp", false, false}, {"mux+tls", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			var srvTLS, cliTLS *tls.Config
			if tc.tls {
				srvTLS, cliTLS = tlsPair(t)
			}
			b, addr := start(t, Options{}, tc.mux, srvTLS)
			r1 := dial(t, addr, "ccb", ReceiverOptions{TLS: cliTLS})
			r2 := dial(t, addr, "ccb", ReceiverOptions{TLS: cliTLS})
			other := dial(t, addr, "log", ReceiverOptions{TLS: cliTLS})
			waitReceivers(t, b, "ccb", 2)
			waitReceivers(t, b, "log", 1)
			if err := b.Broadcast("nobody", 1); err != nil {
				t.Fatalf("Broadcast to a channel without receivers: %v", err)
			}
			for _, m := range messages {
				if err := b.Broadcast("ccb", decode(t, m.pyon)); err != nil {
					t.Fatalf("%s: %v", m.name, err)
				}
			}
			if err := b.Broadcast("log", "only log"); err != nil {
				t.Fatal(err)
			}
			for _, r := range []*Receiver{r1, r2} {
				for _, m := range messages {
					want := canonical(t, decode(t, m.pyon))
					if got := canonical(t, receive(t, r)); got != want {
						t.Errorf("%s: received %s, want %s", m.name, got, want)
					}
				}
			}
			if got := receive(t, other); got != "only log" {
				t.Errorf("log receiver got %#v, want \"only log\"", got)
			}
			if st := b.Stats(); st.Receivers != 3 || st.Dropped != 0 {
				t.Errorf("Stats = %+v, want 3 receivers, 0 dropped", st)
			}
			r1.Close()
			waitReceivers(t, b, "ccb", 1) // a closed receiver is forgotten while the channel is quiet
		})
	}
}

// A receiver that does not read costs at most its queue: later messages
// are dropped for it, Broadcast never blocks, and the others still get
// everything.
func TestSlowReceiverDropsNotBlocks(t *testing.T) {
	b, addr := start(t, Options{QueueLimit: 8, MaxQueueBytes: 64 << 10, WriteTimeout: time.Minute}, false, nil)
	// A raw receiver that never reads.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(4096)
	io.WriteString(c, "ARTIQ broadcast\nccb\n")
	fast := dial(t, addr, "ccb", ReceiverOptions{})
	waitReceivers(t, b, "ccb", 2)
	big := strings.Repeat("x", 32<<10)
	const n = 400 // 12.8 MB in total: far more than the socket buffers and the queue hold
	for i := 0; i < n; i++ {
		if err := b.Broadcast("ccb", big); err != nil {
			t.Fatal(err)
		}
		// In lockstep with the fast receiver: it must get every message
		// while the other's queue stays full.
		if v := receive(t, fast); v != big {
			t.Fatalf("message %d: fast receiver got %.20q", i, v)
		}
	}
	if st := b.Stats(); st.Dropped == 0 {
		t.Errorf("Stats = %+v: nothing dropped for a receiver that never reads", st)
	}
}

// A receiver's queue holds at most MaxQueueBytes.
func TestQueueByteBound(t *testing.T) {
	b := NewBroadcaster(Options{QueueLimit: 1000, MaxQueueBytes: 1000})
	r := &recipient{queue: make(chan []byte, 1000)}
	b.add("c", r)
	for i := 0; i < 100; i++ {
		b.Broadcast("c", strings.Repeat("y", 98)) // 100 bytes a line with quotes, +1 newline
	}
	if q := r.queued.Load(); q > 1000 {
		t.Errorf("queued %d bytes, bound 1000", q)
	}
	if len(r.queue) != 9 || b.Stats().Dropped != 91 {
		t.Errorf("queue holds %d, dropped %d; want 9 and 91", len(r.queue), b.Stats().Dropped)
	}
}

// With Auth, a receiver needs a token (or certificate) of a viewer; others
// are closed without a word, as SiPyCo's protocol allows no message.
func TestReceiverAuth(t *testing.T) {
	access, err := auth.Parse([]byte("token alice viewer s3cret-s3cret-s3cret\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, addr := start(t, Options{Auth: access}, true, nil)
	t.Setenv(auth.EnvToken, "")
	anon := dial(t, addr, "ccb", ReceiverOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if v, err := anon.Receive(ctx); err == nil || ctx.Err() != nil {
		t.Fatalf("anonymous receiver got %v, %v; want the connection closed", v, err)
	}
	alice := dial(t, addr, "ccb", ReceiverOptions{Token: "s3cret-s3cret-s3cret"})
	waitReceivers(t, b, "ccb", 1)
	b.Broadcast("ccb", "hi")
	if got := receive(t, alice); got != "hi" {
		t.Errorf("alice got %#v", got)
	}
	t.Setenv(auth.EnvToken, "s3cret-s3cret-s3cret")
	env := dial(t, addr, "ccb", ReceiverOptions{})
	waitReceivers(t, b, "ccb", 2)
	b.Broadcast("ccb", "again")
	if got := receive(t, env); got != "again" {
		t.Errorf("receiver with $SIGOCO_TOKEN got %#v", got)
	}
}

// Bad handshakes are refused; bad channel names are refused on both sides.
func TestBadHandshakes(t *testing.T) {
	b, addr := start(t, Options{HandshakeTimeout: 300 * time.Millisecond}, false, nil)
	for _, tc := range []struct{ name, send string }{
		{"wrong banner", "ARTIQ pc_rpc\n"},
		{"empty channel", "ARTIQ broadcast\n\n"},
		{"channel too long", "ARTIQ broadcast\n" + strings.Repeat("c", MaxChannelLen+1) + "\n"},
		{"no channel in time", "ARTIQ broadcast\n"},
		{"invalid utf-8", "ARTIQ broadcast\n\xff\xfe\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, tc.send)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			rest, err := io.ReadAll(c)
			if err != nil {
				t.Fatalf("connection not closed: %v", err)
			}
			if tc.name == "wrong banner" && !strings.HasPrefix(string(rest), "SIGOCO error:") {
				t.Errorf("wrong banner answered %q", rest)
			}
		})
	}
	if n := b.Stats().Receivers; n != 0 {
		t.Errorf("%d receivers after bad handshakes", n)
	}
	if _, err := Dial(context.Background(), addr, "a\nb", ReceiverOptions{}); !errors.Is(err, ErrBadChannel) {
		t.Errorf("Dial with a line break in the channel: %v", err)
	}
	if err := b.Broadcast("", 1); !errors.Is(err, ErrBadChannel) {
		t.Errorf("Broadcast to \"\": %v", err)
	}
}

// fakeBroadcaster accepts one receiver, checks its handshake and sends raw.
func fakeBroadcaster(t *testing.T, wantHello, raw string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		hello := make([]byte, len(wantHello))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(br, hello); err != nil || string(hello) != wantHello {
			t.Errorf("receiver sent %q (%v), want %q", hello, err, wantHello)
			return
		}
		io.WriteString(c, raw)
	}()
	return ln.Addr().String()
}

// A Receiver reports a bad line, a line over its limit, a value over its
// limits and the broadcaster's close.
func TestReceiverBadInput(t *testing.T) {
	t.Setenv(auth.EnvToken, "")
	for _, tc := range []struct {
		name string
		raw  string
		opts ReceiverOptions
		want error
	}{
		{"not pyon", "1\n{oops\n", ReceiverOptions{}, ErrBadMessage},
		{"line too long", "1\n" + strings.Repeat("1", 100) + "\n", ReceiverOptions{MaxLineSize: 50}, ErrBadMessage},
		{"too deep", "1\n" + strings.Repeat("[", 20) + strings.Repeat("]", 20) + "\n", ReceiverOptions{Limits: pyon.Limits{MaxDepth: 10}}, ErrBadMessage},
		{"closed", "1\n", ReceiverOptions{}, io.EOF},
		{"cut", "1\n[1,2", ReceiverOptions{}, io.EOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := fakeBroadcaster(t, "ARTIQ broadcast\nccb\n", tc.raw)
			r := dial(t, addr, "ccb", tc.opts)
			if v := receive(t, r); canonical(t, v) != "1" {
				t.Fatalf("first message %#v, want 1", v)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := r.Receive(ctx); !errors.Is(err, tc.want) {
				t.Errorf("Receive: %v, want %v", err, tc.want)
			}
		})
	}
}

// Receive ends with ctx's error when ctx ends, and with ErrClosed after
// Close from another goroutine.
func TestReceiveCancel(t *testing.T) {
	b, addr := start(t, Options{}, false, nil)
	r := dial(t, addr, "ccb", ReceiverOptions{})
	waitReceivers(t, b, "ccb", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := r.Receive(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Receive past its deadline: %v", err)
	}
	r2 := dial(t, addr, "ccb", ReceiverOptions{})
	errc := make(chan error, 1)
	go func() { _, err := r2.Receive(context.Background()); errc <- err }()
	waitReceivers(t, b, "ccb", 1) // r was closed by its cancelled Receive
	r2.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Receive after Close: %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Receive did not return after Close")
	}
}

// Closing the Broadcaster disconnects its receivers (they see io.EOF).
func TestBroadcasterClose(t *testing.T) {
	b, addr := start(t, Options{}, false, nil)
	r := dial(t, addr, "ccb", ReceiverOptions{})
	waitReceivers(t, b, "ccb", 1)
	b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := r.Receive(ctx); err == nil || ctx.Err() != nil {
		t.Errorf("Receive after the broadcaster closed: %v", err)
	}
}
