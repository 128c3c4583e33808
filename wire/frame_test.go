package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

func frame(payload []byte) []byte { return AppendFrame(nil, payload) }

func TestFrameReader(t *testing.T) {
	big := bytes.Repeat([]byte{7}, 300_000)
	tests := []struct {
		name  string
		in    []byte
		limit int
		want  []byte
		err   error
	}{
		{"small", frame([]byte("hello")), 100, []byte("hello"), nil},
		{"empty payload", frame(nil), 100, []byte{}, nil},
		{"bigger than one chunk", frame(big), 1 << 20, big, nil},
		{"exactly the limit", frame([]byte("hello")), 5, []byte("hello"), nil},
		{"over limit", frame([]byte("hello")), 4, nil, ErrFrameTooLarge},
		{"truncated payload", frame([]byte("hello"))[:7], 100, nil, io.ErrUnexpectedEOF},
		{"truncated header", []byte{0, 0}, 100, nil, io.ErrUnexpectedEOF},
		{"clean eof", nil, 100, nil, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, name := range []string{"FrameReader", "ReadFrame"} {
				r := bufio.NewReader(bytes.NewReader(tt.in))
				var got []byte
				var err error
				if name == "FrameReader" {
					got, err = NewFrameReader(r, tt.limit).Next()
				} else {
					got, err = ReadFrame(r, nil, tt.limit)
				}
				if !errors.Is(err, tt.err) {
					t.Fatalf("%s: err = %v, want %v", name, err, tt.err)
				}
				if tt.err == nil && !bytes.Equal(got, tt.want) {
					t.Fatalf("%s: payload of %d bytes, want %d", name, len(got), len(tt.want))
				}
			}
		})
	}
}

// A peer announcing a huge frame and sending a few bytes must not make the
// reader allocate the announced size.
func TestFrameReaderAllocatesAsBytesArrive(t *testing.T) {
	in := binary.BigEndian.AppendUint32(nil, 60<<20)
	in = append(in, "only a few bytes"...)
	r := NewFrameReader(bufio.NewReader(bytes.NewReader(in)), DefaultMaxFrameSize)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := r.Next()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("reading a truncated 60 MiB frame allocated %d bytes", n)
	}
}

func TestFrameReaderReusesBuffer(t *testing.T) {
	var in []byte
	in = append(in, frame([]byte("first"))...)
	in = append(in, frame([]byte("2nd"))...)
	r := NewFrameReader(bufio.NewReader(bytes.NewReader(in)), 100)
	buf, err := r.Next()
	if err != nil || string(buf) != "first" {
		t.Fatal(string(buf), err)
	}
	first := &buf[0]
	if !r.Buffered() {
		t.Fatal("the second frame is not reported buffered")
	}
	buf2, err := r.Next()
	if err != nil || string(buf2) != "2nd" || &buf2[0] != first {
		t.Fatalf("second frame %q, %v; reused buffer: %v", buf2, err, &buf2[0] == first)
	}
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		got <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-got
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// A read interrupted by a deadline inside a frame (header or payload)
// continues where it stopped: the frame arrives whole and the next one too.
func TestFrameReaderResumesAfterTimeout(t *testing.T) {
	for _, cut := range []int{2, 4, 6, 70_000} {
		client, server := tcpPair(t)
		payload := bytes.Repeat([]byte("abcdefgh"), 10_000)
		f := append(frame(payload), frame([]byte("next"))...)
		c := NewConn(server)
		r := c.FrameReader(1 << 20)
		if _, err := client.Write(f[:cut]); err != nil {
			t.Fatal(err)
		}
		// Let the bytes arrive, then time out waiting for the rest.
		for {
			c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			_, err := r.Next()
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("cut %d: Next = %v, want a timeout", cut, err)
			}
			if c.R.Buffered() >= min(cut, FrameHeaderLen) || r.InFrame() {
				break
			}
		}
		if _, err := client.Write(f[cut:]); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := r.Next()
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("cut %d: resumed frame of %d bytes, %v; want %d bytes", cut, len(got), err, len(payload))
		}
		if got, err := r.Next(); err != nil || string(got) != "next" {
			t.Fatalf("cut %d: next frame %q, %v", cut, got, err)
		}
	}
}

func TestEncoderAppendValue(t *testing.T) {
	e := NewEncoder(64)
	var out bytes.Buffer
	if err := e.Write(&out, map[string]any{"b": 1, "a": "x"}); err != nil {
		t.Fatal(err)
	}
	payload, err := NewFrameReader(bufio.NewReader(&out), 64).Next()
	if err != nil {
		t.Fatal(err)
	}
	// Sorted keys, compact ints: the bytes are fixed.
	if want := []byte{0x82, 0xa1, 'a', 0xa1, 'x', 0xa1, 'b', 0x01}; !bytes.Equal(payload, want) {
		t.Fatalf("payload % x, want % x", payload, want)
	}
	dst := []byte("keep")
	got, err := e.AppendValue(dst, strings.Repeat("x", 100))
	var tl *FrameTooLargeError
	if !errors.As(err, &tl) || tl.Limit != 64 || string(got) != "keep" {
		t.Fatalf("oversized value: %q, %v; want dst unchanged and a FrameTooLargeError", got, err)
	}
	if got, err := e.AppendValue(dst, make(chan int)); err == nil || string(got) != "keep" {
		t.Fatalf("encoding a channel: %q, %v", got, err)
	}
}

func TestEncoderAppendQueuesFrames(t *testing.T) {
	e := NewEncoder(0)
	var q []byte
	var err error
	for i := range 3 {
		q, err = e.Append(q, func(enc *msgpack.Encoder) error { return enc.EncodeInt(int64(i)) })
		if err != nil {
			t.Fatal(err)
		}
	}
	q, err = e.Append(q, func(enc *msgpack.Encoder) error {
		enc.EncodeString("half a frame")
		return errors.New("boom")
	})
	if err == nil || err.Error() != "boom" {
		t.Fatalf("err = %v, want boom", err)
	}
	want := append(append(frame([]byte{0}), frame([]byte{1})...), frame([]byte{2})...)
	if !bytes.Equal(q, want) {
		t.Fatalf("queue % x, want % x", q, want)
	}
	if len(e.B) != 0 {
		t.Fatalf("Append left %d bytes in e.B", len(e.B))
	}
}

// Begin/End build a frame piece by piece in e.B, as logfwd does.
func TestEncoderBeginEnd(t *testing.T) {
	e := NewEncoder(8)
	e.B = append(e.B, "line\n"...) // not every byte in the buffer is framed
	at := e.Begin()
	e.B = append(e.B, 0x92)
	e.Msgpack().EncodeString("ack")
	e.Msgpack().EncodeUint(7)
	if err := e.End(at); err != nil {
		t.Fatal(err)
	}
	want := append([]byte("line\n"), frame([]byte{0x92, 0xa3, 'a', 'c', 'k', 7})...)
	if !bytes.Equal(e.B, want) {
		t.Fatalf("buffer % x, want % x", e.B, want)
	}
	at = e.Begin()
	e.Msgpack().EncodeString("far too long for eight bytes")
	if err := e.End(at); !errors.Is(err, ErrFrameTooLarge) || !bytes.Equal(e.B, want) {
		t.Fatalf("oversized frame: %v, buffer % x", err, e.B)
	}
}

func TestChunker(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 25)
	t.Run("bare", func(t *testing.T) {
		c := Chunker{Size: 100}
		c.Write(data[:5])
		c.WriteByte(data[5])
		c.WriteString(string(data[6:]))
		pieces := c.Pieces()
		if len(pieces) != 3 || len(pieces[0]) != 100 || len(pieces[2]) != 50 || c.Len() != len(data) {
			t.Fatalf("%d pieces (%d bytes written)", len(pieces), c.Len())
		}
		if got := bytes.Join(pieces, nil); !bytes.Equal(got, data) {
			t.Fatal("pieces do not add up to the data")
		}
	})
	for _, prefixLen := range []int{3, 100} { // in the headroom, and past it
		c := Chunker{Size: 100, Prefix: func(dst []byte, n int) []byte {
			dst = append(dst, bytes.Repeat([]byte{'p'}, prefixLen-2)...)
			return append(dst, 0xc4, byte(n)) // bin8 header
		}}
		c.Write(data)
		r := NewFrameReader(bufio.NewReader(bytes.NewReader(bytes.Join(c.Pieces(), nil))), 0)
		var got []byte
		for {
			p, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			var b []byte
			if err := msgpack.Unmarshal(p[prefixLen-2:], &b); err != nil {
				t.Fatalf("prefix %d: chunk payload % x: %v", prefixLen, p, err)
			}
			got = append(got, b...)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("prefix %d: chunks carry %d bytes, want %d", prefixLen, len(got), len(data))
		}
	}
}

// FuzzFrameReader reads every frame in the input. Bounds: no frame over
// the limit, and allocation within a small multiple of the input (plus the
// reader's 64 KiB growth step), never the announced sizes.
func FuzzFrameReader(f *testing.F) {
	f.Add(frame([]byte("hello")))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1})
	f.Add([]byte{0x00, 0x0f, 0xff, 0xff, 1, 2, 3})
	f.Add([]byte{0, 0, 0})
	f.Add(append(frame([]byte{0x81, 0xa1, 'a', 1}), frame(nil)...))
	const limit = 1 << 20
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(in), 4096)
		r := NewFrameReader(br, limit)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		frames := 0
		for {
			b, err := r.Next()
			if err != nil {
				break
			}
			frames++
			if len(b) > limit {
				t.Fatalf("frame of %d bytes passed a %d limit", len(b), limit)
			}
		}
		runtime.ReadMemStats(&after)
		if n, bound := after.TotalAlloc-before.TotalAlloc, uint64(4*len(in)+3*readChunk+8192); n > bound {
			t.Fatalf("%d input bytes (%d frames) allocated %d bytes, bound %d", len(in), frames, n, bound)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("%d input bytes took %v", len(in), d)
		}
	})
}
