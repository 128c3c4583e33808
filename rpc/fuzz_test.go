package rpc

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// fuzzTarget has the parameter shapes a request can be decoded into, and
// no method that blocks.
type fuzzTarget struct{}

func (fuzzTarget) Add(a, b int) int                                 { return a + b }
func (fuzzTarget) Echo(x any) any                                   { return x }
func (fuzzTarget) Ints(x []int64) []int64                           { return x }
func (fuzzTarget) Floats(x []float64, scale float32) []float64      { return x }
func (fuzzTarget) Strings(x []string, b []byte) int                 { return len(x) + len(b) }
func (fuzzTarget) Pt(p Point, q *Point) Point                       { return p }
func (fuzzTarget) Greet(name string, opts GreetOptions) string      { return name }
func (fuzzTarget) Sum(label string, xs ...uint8) string             { return label }
func (fuzzTarget) Nested(m map[string][]float64, l [][]any) int     { return len(m) + len(l) }
func (fuzzTarget) Ctx(ctx context.Context, x float64) (bool, error) { return x > 0, ctx.Err() }
func (fuzzTarget) Panic(s string)                                   { panic(s) }

// captureConn is a net.Conn whose writes are kept and whose reads end.
type captureConn struct {
	mu  sync.Mutex
	out bytes.Buffer
}

func (c *captureConn) Read(p []byte) (int, error) { return 0, io.EOF }
func (c *captureConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(p)
}
func (c *captureConn) Close() error                     { return nil }
func (c *captureConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *captureConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *captureConn) SetDeadline(time.Time) error      { return nil }
func (c *captureConn) SetReadDeadline(time.Time) error  { return nil }
func (c *captureConn) SetWriteDeadline(time.Time) error { return nil }

func seedRequests(f *testing.F) {
	for _, msg := range [][]any{
		{"call", 1, "add", []any{1, 2}, nil, 0},
		{"call", 2, "Add", []any{1, "x"}, nil, int64(time.Second)},
		{"call", 3, "echo", []any{map[string]any{"a": []any{1, 2.5, nil, true}}}, nil, 0},
		{"call", 4, "ints", []any{[]int64{1, -1, 1 << 40}}, nil, 0},
		{"call", 5, "floats", []any{[]float64{1.5}, 2}, nil, 0},
		{"call", 6, "strings", []any{[]string{"a"}, []byte{1}}, nil, 0},
		{"call", 7, "pt", []any{Point{1, 2, "a"}, nil}, nil, 0},
		{"call", 8, "greet", []any{"bob"}, map[string]any{"times": 2, "shout": true}, 0},
		{"call", 9, "sum", []any{"t", 1, 2, 255}, nil, 0},
		{"call", 10, "nested", []any{map[string][]float64{"a": {1}}, [][]any{{1, "x"}}}, nil, 0},
		{"call", 11, "ctx", []any{1.5}, nil, 0},
		{"call", 12, "panic", []any{"boom"}, nil, 0},
		{"call", 13, "nope", []any{}, nil, 0},
		{"cancel", 11},
		{"methods", 14},
		{"bogus", 1},
		{42, 1},
	} {
		b, err := msgpack.Marshal(msg)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xc1})
	f.Add([]byte{0x96, 0x04, 0x01, 0xa3, 'a', 'd', 'd', 0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Add(append([]byte{0x96, 0x04, 0x01, 0xa4, 'e', 'c', 'h', 'o', 0x91}, bytes.Repeat([]byte{0x91}, 3000)...))
}

// FuzzServerRequest feeds arbitrary messages to a connection's request
// handler: it must never panic, and everything it writes back must be a
// well-formed reply.
func FuzzServerRequest(f *testing.F) {
	seedRequests(f)
	srv, err := NewServer(map[string]any{"t": fuzzTarget{}}, ServerOptions{MaxFrameSize: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	defer srv.Close()
	f.Fuzz(func(t *testing.T, payload []byte) {
		cc := &captureConn{}
		c := newServerConn(srv, cc)
		c.tgt = srv.targets["t"]
		c.obj, c.tb, _ = c.tgt.instance()
		ctx, cancel := context.WithCancel(context.Background())
		c.ctx = ctx
		var fatal error
		checkAlloc(t, payload, func() {
			fatal = c.handle(payload)
			c.calls.Wait()
		})
		cancel()
		c.w.flush()
		r := bufio.NewReader(bytes.NewReader(cc.out.Bytes()))
		for {
			frame, err := readFrame(r, 0)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("reply framing: %v", err)
			}
			md := newMsgDecoder(0)
			md.reset(frame)
			v, err := md.decodeAny()
			m, _ := v.([]any)
			if err != nil || len(m) < 3 || md.remaining() != 0 {
				t.Fatalf("reply %x: %v", frame, err)
			}
			if k := m[0]; k != "result" && k != "fail" {
				t.Fatalf("reply kind %v", k)
			}
		}
		if fatal != nil && cc.out.Len() > 0 {
			t.Fatalf("a fatal error (%v) after a reply", fatal)
		}
	})
}

// FuzzDecodeValue decodes arbitrary msgpack into the argument types with
// their short paths: no panic, no allocation from announced sizes, and
// agreement with msgpack itself whenever a short path accepts the input.
func FuzzDecodeValue(f *testing.F) {
	for _, v := range []any{
		nil, true, 1, -1, 300, int64(1) << 40, uint64(1) << 63, 1.5, float32(2.5), "s", []byte{1},
		[]int64{1, -2, 300}, []float64{1, 2.5}, []string{"a", "b"}, []any{1, "a"},
		map[string]any{"X": 1.0, "Tag": "t"}, map[string]int{"a": 1}, Point{1, 2, "p"},
	} {
		b, _ := msgpack.Marshal(v)
		f.Add(b)
	}
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0xdf, 0x7f, 0xff, 0xff, 0xff})
	types := []reflect.Type{
		reflect.TypeFor[int](), reflect.TypeFor[int8](), reflect.TypeFor[uint16](), reflect.TypeFor[float64](),
		reflect.TypeFor[bool](), reflect.TypeFor[string](), reflect.TypeFor[[]byte](), reflect.TypeFor[any](),
		reflect.TypeFor[[]int64](), reflect.TypeFor[[]int](), reflect.TypeFor[[]float64](), reflect.TypeFor[[]string](),
		reflect.TypeFor[Point](), reflect.TypeFor[*Point](), reflect.TypeFor[map[string]int](), reflect.TypeFor[[]any](),
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// No allocation from announced lengths (issue 9): bounded by the
		// input's size, for every type.
		checkAlloc(t, data, func() {
			md := newMsgDecoder(0)
			for _, typ := range types {
				md.reset(data)
				planFor(typ).decode(md, reflect.New(typ).Elem())
			}
			md.reset(data)
			md.decodeAny()
		})
		md := newMsgDecoder(0)
		for _, typ := range types {
			md.reset(data)
			v := reflect.New(typ).Elem()
			if err := planFor(typ).decode(md, v); err != nil {
				continue
			}
			p := planFor(typ)
			if p.kind == planMsgpack || p.kind == planAny {
				continue // msgpack's own result, or a different (normalised) view
			}
			want := reflect.New(typ)
			if err := msgpack.Unmarshal(data[:md.offset()], want.Interface()); err != nil {
				continue // msgpack is laxer or stricter in places (nil, ranges)
			}
			// Compared re-encoded, so that NaN equals NaN.
			gb, _ := msgpack.Marshal(v.Interface())
			wb, _ := msgpack.Marshal(want.Elem().Interface())
			if !bytes.Equal(gb, wb) {
				t.Fatalf("%s: short path %#v, msgpack %#v", typ, v.Interface(), want.Elem().Interface())
			}
		}
		md.reset(data)
		md.decodeAny()
	})
}

// chunkReader returns at most n bytes per Read.
type chunkReader struct {
	data []byte
	n    int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n, len(r.data))
	copy(p, r.data[:k])
	r.data = r.data[k:]
	return k, nil
}
