package rpc

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sigoco/sigoco/wire"
)

// allocated returns the bytes allocated while fn ran (all goroutines).
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// handleRaw feeds one request frame to a fresh server connection of a
// fuzzTarget server and waits for the calls it started.
func handleRaw(t testing.TB, srv *Server, frame []byte) (*captureConn, error) {
	cc := &captureConn{}
	c := newServerConn(srv, cc)
	c.tgt = srv.targets["t"]
	c.obj, c.tb, _ = c.tgt.instance()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.ctx = ctx
	err := c.handle(frame)
	c.calls.Wait()
	c.w.flush()
	return cc, err
}

// Issue 9: lengths announced inside a frame are checked against the bytes
// left in it before anything is allocated.
func TestAnnouncedLengthsNotAllocated(t *testing.T) {
	srv, err := NewServer(map[string]any{"t": fuzzTarget{}}, ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	call := func(method string, arg ...byte) []byte {
		b := []byte{0x94, 0xa4, 'c', 'a', 'l', 'l', 0x01, 0xa0 | byte(len(method))}
		b = append(b, method...)
		return append(append(b, 0x91), arg...)
	}
	huge := []byte{0xff, 0xff, 0xff, 0xff}
	for _, tt := range []struct {
		name  string
		frame []byte
	}{
		{"bin32 into any", call("echo", append([]byte{0xc6}, huge...)...)},
		{"str32 into any", call("echo", append([]byte{0xdb}, huge...)...)},
		{"ext32 into any", call("echo", append(append([]byte{0xc9}, huge...), 70)...)},
		{"bin32 into []byte", call("strings", 0xc0, 0xc6, 0xff, 0xff, 0xff, 0xff)},
		{"str32 into []string", call("strings", 0x91, 0xdb, 0xff, 0xff, 0xff, 0xff)},
		{"str32 into a struct field", call("pt", 0x81, 0xa3, 'T', 'a', 'g', 0xdb, 0xff, 0xff, 0xff, 0xff)},
		{"bin32 in a map", call("nested", 0x81, 0xc6, 0xff, 0xff, 0xff, 0xff)},
		{"str32 keyword", append([]byte{0x95, 0xa4, 'c', 'a', 'l', 'l', 0x01, 0xa5, 'g', 'r', 'e', 'e', 't', 0x91, 0xa1, 'x', 0x81, 0xdb}, huge...)},
		{"str32 method name", append([]byte{0x94, 0xa4, 'c', 'a', 'l', 'l', 0x01, 0xdb}, huge...)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.frame) > 32 {
				t.Fatalf("test frame of %d bytes", len(tt.frame))
			}
			var cc *captureConn
			n := allocated(func() { cc, _ = handleRaw(t, srv, tt.frame) })
			if n > 64<<10 {
				t.Fatalf("a %d-byte request allocated %d bytes", len(tt.frame), n)
			}
			if cc.out.Len() == 0 {
				t.Fatalf("no answer")
			}
		})
	}
}

// blockTarget's Block runs on its own goroutine (it takes a context) and
// holds the target until release is closed.
type blockTarget struct {
	started chan struct{}
	release chan struct{}
}

func newBlockTarget(t testing.TB) *blockTarget {
	b := &blockTarget{started: make(chan struct{}, 100), release: make(chan struct{})}
	t.Cleanup(func() { close(b.release) })
	return b
}

func (b *blockTarget) Block(ctx context.Context) {
	b.started <- struct{}{}
	select {
	case <-b.release:
	case <-ctx.Done():
	}
}

func (b *blockTarget) Echo(x any) any { return x }

// Issue 9: an id already in flight is refused (it used to replace the
// first call's entry, so MaxCallsPerConn never counted the others), and a
// negative id is a protocol error.
func TestDuplicateAndNegativeIDs(t *testing.T) {
	forEachTransportMux(t, func(t *testing.T, tr transport) {
		bt := newBlockTarget(t)
		ts := startServer(t, tr, map[string]any{"b": bt}, ServerOptions{MaxCallsPerConn: 3})
		rc := ts.raw(t)
		rc.handshake("b")
		rc.send([]any{"call", 1, "block", []any{}, nil, 0})
		<-bt.started
		for range 5 {
			rc.send([]any{"call", 1, "echo", []any{"x"}, nil, 0})
			rc.expectFail(1, TypeDuplicateID, "already in flight")
		}
		rc.send([]any{"call", 2, "echo", []any{"x"}, nil, 0})
		rc.send([]any{"call", 3, "echo", []any{"x"}, nil, 0})
		rc.send([]any{"call", 4, "echo", []any{"x"}, nil, 0})
		rc.expectFail(4, TypeTooManyCalls, "3 calls already in flight")
		rc.send([]any{"call", -1, "echo", []any{"x"}, nil, 0})
		rc.expectFatal("negative")
	})
}

// Issue 9: a call waiting for a busy target holds its frame, not its
// decoded arguments, and MaxDecodedSize bounds what one call decodes to.
func TestDecodeOnlyWhenTargetFree(t *testing.T) {
	bt := newBlockTarget(t)
	ts := startServer(t, transports[0], map[string]any{"b": bt}, ServerOptions{MaxDecodedSize: 4 << 20})
	rc := ts.raw(t)
	rc.handshake("b")
	rc.send([]any{"call", 1, "block", []any{}, nil, 0})
	<-bt.started
	big := mustPayload(t, []any{"call", 2, "echo", []any{make([]any, 1<<20)}, nil, 0}) // 1 MiB of nils
	n := allocated(func() {
		rc.sendRaw(big)
		rc.send([]any{"methods", 3}) // answered once call 2 has been read
		if m := rc.readMsg(); m[0] != "result" || toInt(m[1]) != 3 {
			t.Fatalf("got %v, want the result of methods", m)
		}
	})
	// Decoded, the 1 MiB frame would take 16 MiB; waiting it takes two
	// copies of the frame (the read buffer and the kept copy).
	if n > 6<<20 {
		t.Fatalf("a call waiting for a busy target took %d bytes", n)
	}
	bt.release <- struct{}{} // not closed: Cleanup closes it
	if m := rc.readMsg(); m[0] != "result" || toInt(m[1]) != 1 {
		t.Fatalf("got %v, want the result of block", m)
	}
	rc.expectFail(2, TypeRequestTooLarge, "MaxDecodedSize")
	// The connection goes on.
	rc.send([]any{"call", 4, "echo", []any{"x"}, nil, 0})
	if m := rc.readMsg(); m[0] != "result" || m[2] != "x" {
		t.Fatalf("after a request too large: %v", m)
	}
}

// Issue 12: an error wrapping ErrValue reaches a native caller as a
// ValueError matching ErrValue, without the sentinel's text doubled in.
func TestValueErrorOverNative(t *testing.T) {
	forEachTransportMux(t, func(t *testing.T, tr transport) {
		ts := startController(t, tr, ServerOptions{})
		c := ts.dial(t, "lda")
		_, err := c.Call(testCtx(t), "fail")
		var re *RemoteError
		if !errors.As(err, &re) || re.Type != "ValueError" || !errors.Is(err, ErrValue) ||
			err.Error() != "ValueError: attenuation out of range" {
			t.Fatalf("fail() = %#v (%v)", err, err)
		}
		if errors.Is(err, ErrBadArguments) || errors.Is(err, os.ErrNotExist) {
			t.Fatalf("fail() matches other sentinels: %v", err)
		}
	})
}

// Issue 12: Serve with a nil listener (a failed net.Listen ignored) is an
// error, not a panic.
func TestServeNilListener(t *testing.T) {
	srv, err := NewServer(map[string]any{"t": fuzzTarget{}}, ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Serve(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "nil") {
		t.Fatalf("Serve(ctx, nil) = %v", err)
	}
}

// Issue 12: a keyword naming a parameter the server cannot know (no
// generated docs) says how to make the names known.
func TestKeywordWithoutNamesHint(t *testing.T) {
	ts := startServer(t, transports[0], map[string]any{"t": fuzzTarget{}}, ServerOptions{})
	c := ts.dial(t, "t")
	_, err := c.Call(testCtx(t), "add", 1, Kwargs{"b": 2})
	if !errors.Is(err, ErrBadArguments) || !strings.Contains(err.Error(), "sigoco-gen -type fuzzTarget") || !strings.Contains(err.Error(), "go generate") {
		t.Fatalf("add(1, b=2) = %v", err)
	}
}

// Issue 9: a pc_rpc request whose arguments decode past MaxDecodedSize
// (a PYON list of many small values) is refused with a ValueError, and
// the connection and the server go on.
func TestSiPyCoRequestDecodedSizeBounded(t *testing.T) {
	ts := startServer(t, transports[0], map[string]any{"lda": &Attenuator{}}, ServerOptions{MaxDecodedSize: 1 << 20})
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second)) // fails rather than hangs
	r := bufio.NewReader(c)
	io.WriteString(c, wire.BannerSiPyCoRPC+"\nlda pyon_v2\n")
	for range 2 { // the target list, the method set
		if _, err := r.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	call := func(list string) string {
		io.WriteString(c, `{"action":"call","name":"echo","args":{"__jsonclass__":["tuple",[[`+list+`]]]},"kwargs":{}}`+"\n")
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		return line
	}
	big := "[" + strings.Repeat("1.5,", 200_000) + "1.5]" // ~800 kB of text, ~4.8 MB decoded
	if got := call(big); !strings.Contains(got, `"ValueError"`) || !strings.Contains(got, "MaxDecodedSize") {
		t.Fatalf("oversized request answered %.200s", got)
	}
	if got := call("[1, 2]"); !strings.Contains(got, `"status":"ok"`) {
		t.Fatalf("after the refusal: %.200s", got)
	}
}
