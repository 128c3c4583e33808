package wire

import (
	"bufio"
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"
)

// FuzzBannerLine reads a banner line the way servers (ReadLine) and the
// Mux (PeekLine) do and explains it the way a refusal does. Bounds: a
// returned line is at most the limit, never holds a newline, PeekLine and
// ReadLine agree, and allocation and time stay within a small multiple of
// the input.
func FuzzBannerLine(f *testing.F) {
	for _, s := range []string{
		BannerRPC + "\n", BannerSync + "\r\n", "SIGOCO rpc 1\n", "SIGOCO log 99\nrest",
		BannerSiPyCoRPC + "\n", "GET / HTTP/1.1\r\n", "\x16\x03\x01\x00\xa5", "", "\n",
		strings.Repeat("x", 200) + "\n", "SIGOCO  rpc 1\n",
	} {
		f.Add([]byte(s))
	}
	const limit = 128
	f.Fuzz(func(t *testing.T, in []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		line, err := ReadLine(bufio.NewReaderSize(bytes.NewReader(in), 16), limit)
		peeked, perr := PeekLine(bufio.NewReaderSize(bytes.NewReader(in), limit+16))
		var why string
		if err == nil {
			why = BannerMismatch(line)
		}
		runtime.ReadMemStats(&after)
		if err == nil {
			if len(line) > limit || strings.ContainsAny(line, "\n") {
				t.Fatalf("ReadLine returned %q (limit %d)", line, limit)
			}
			if perr == nil && peeked != line {
				t.Fatalf("PeekLine %q, ReadLine %q", peeked, line)
			}
			if !strings.HasPrefix(why, "unknown banner ") || len(why) > 400 {
				t.Fatalf("refusal reason %q", why)
			}
		}
		if n, bound := after.TotalAlloc-before.TotalAlloc, uint64(8*len(in)+16<<10); n > bound {
			t.Fatalf("%d input bytes allocated %d bytes, bound %d", len(in), n, bound)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("%d input bytes took %v", len(in), d)
		}
	})
}

func TestBannerMismatch(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SIGOCO rpc 1", `unknown banner "SIGOCO rpc 1" (this server speaks version 2 of the protocol, "SIGOCO rpc 2": upgrade the peer)`},
		{"SIGOCO sync 3", `unknown banner "SIGOCO sync 3" (this server speaks version 2 of the protocol, "SIGOCO sync 2": upgrade the peer)`},
		{"SIGOCO log 1", `unknown banner "SIGOCO log 1" (this server speaks version 2 of the protocol, "SIGOCO log 2": upgrade the peer)`},
		{"SIGOCO rpc 2", `unknown banner "SIGOCO rpc 2"`},
		{"SIGOCO chat 1", `unknown banner "SIGOCO chat 1"`},
		{"HELLO", `unknown banner "HELLO"`},
	}
	for _, tt := range tests {
		if got := BannerMismatch(tt.in); got != tt.want {
			t.Errorf("BannerMismatch(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
