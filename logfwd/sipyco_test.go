package logfwd

import (
	"bytes"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sigoco/sigoco/wire"
)

// rawExchangeHalfClose is rawExchange that closes its sending side, as a
// SiPyCo forwarder that is done does.
func rawExchangeHalfClose(t *testing.T, addr string, tlsCfg *tls.Config, data []byte) []byte {
	t.Helper()
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	conn := interface {
		net.Conn
		CloseWrite() error
	}(raw.(*net.TCPConn))
	if tlsCfg != nil {
		conn = tls.Client(raw, tlsCfg)
	}
	if _, err := conn.Write(data); err != nil {
		t.Fatal(err)
	}
	conn.CloseWrite()
	out, _ := io.ReadAll(conn)
	return out
}

func TestSiPyCoForwarderToServer(t *testing.T) {
	col := newCollector()
	addr, _, _ := serve(t, col, transports[2], ServerOptions{}, "")
	f := forward(t, addr, ForwarderOptions{Source: "a:b", Protocol: wire.ProtocolSiPyCo, LoggerName: "drv"})
	log := slog.New(f).With("unit", "dB").WithGroup("g")
	log.Info("set", "value", 5.5, "note", "two words")
	log.Error("multi\nline", "x", 1)
	slog.New(f).Info("plain")
	flush(t, f)
	recs := col.wait(t, 3)
	want := []string{
		`INFO a_b drv set unit=dB g.value=5.5 g.note="two words"`,
		"ERROR a_b drv multi\nline unit=dB g.x=1",
		"INFO a_b drv plain",
	}
	for i, g := range recs {
		s := g.rec.Level.String() + " " + g.str(SourceKey) + " " + g.str(LoggerKey) + " " + g.rec.Message
		if s != want[i] {
			t.Errorf("record %d = %q, want %q", i, s, want[i])
		}
	}
}

func TestParseSiPyCo(t *testing.T) {
	cases := []struct {
		in    string
		extra int
		level slog.Level
		name  string
		msg   string
	}{
		{"INFO:lda:hello", 0, slog.LevelInfo, "lda", "hello"},
		{"ERROR<3>:lda:first", 2, slog.LevelError, "lda", "first"},
		{"WARN::a:b:c", 0, slog.LevelWarn, "", "a:b:c"},
		{"CRITICAL:x:y", 0, slog.LevelError + 4, "x", "y"},
		{"TRACE:x:y", 0, slog.LevelDebug - 4, "x", "y"},
		{"INFO<1>:x:y", 0, slog.LevelInfo, "x", "y"},
		{"INFO<0>:x:y", 0, slog.LevelInfo, "x", "y"},
		{"INFO<-2>:x:y", 0, slog.LevelInfo, "print", "INFO<-2>:x:y"},
		{"INFO<>:x:y", 0, slog.LevelInfo, "print", "INFO<>:x:y"},
		{"VERBOSE:x:y", 0, slog.LevelInfo, "print", "VERBOSE:x:y"},
		{"INFO:no second colon", 0, slog.LevelInfo, "print", "INFO:no second colon"},
		{"just text", 0, slog.LevelInfo, "print", "just text"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			extra, level, name, msg := parseSiPyCo(c.in)
			if extra != c.extra || level != c.level || name != c.name || msg != c.msg {
				t.Errorf("got %d %v %q %q", extra, level, name, msg)
			}
		})
	}
}

func TestSiPyCoBadLines(t *testing.T) {
	cases := []struct{ name, data string }{
		{"no source", "ARTIQ logging\nno colon here\n"},
		{"line too long", "ARTIQ logging\nsrc:INFO:x:" + strings.Repeat("y", 200) + "\n"},
		{"multi-line too long", "ARTIQ logging\nsrc:INFO<1000>:x:y\n" + strings.Repeat("z\n", 200)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			col, warnings := newCollector(), newCollector()
			addr, _, _ := serve(t, col, transports[0], ServerOptions{MaxLineSize: 100, Logger: slog.New(warnings)}, "")
			rawExchangeHalfClose(t, addr, nil, []byte(c.data))
			if len(warnings.all()) != 1 || len(col.all()) != 0 {
				t.Errorf("%d warnings, %d records", len(warnings.all()), len(col.all()))
			}
		})
	}
}

func FuzzLineParser(f *testing.F) {
	f.Add(string(recordedLines(f)))
	f.Add("src:ERROR<2>:n:a\nb\nsrc:INFO:n:c\n")
	f.Add("src:INFO<99999999999999999999>:n:a\n")
	f.Fuzz(func(t *testing.T, data string) {
		lines := strings.Split(data, "\n")
		start := time.Now()
		n := allocated(func() {
			p := lineParser{max: 1 << 10}
			for _, line := range lines {
				rec, err := p.feed(line)
				if err != nil {
					return
				}
				if rec != nil && len(rec.Message) > len(data) {
					t.Fatalf("message longer than the input")
				}
			}
		})
		if n > decodeBound(len(data)) {
			t.Fatalf("parsing %d bytes allocated %d (bound %d)", len(data), n, decodeBound(len(data)))
		}
		if d := time.Since(start); d > time.Second+time.Duration(len(data))*time.Microsecond {
			t.Fatalf("parsing %d bytes took %v", len(data), d)
		}
	})
}

// The SiPyCo text a forwarder writes is valid UTF-8 whatever it was
// given, and valid text is left alone.
func FuzzValidUTF8(f *testing.F) {
	for _, s := range []string{"plain", "\xff", "\xe2\x82x", "\xed\xa0\x80", "€\xe2", "\xf4\x90\x80\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := appendValidUTF8(nil, s)
		if !utf8.Valid(out) {
			t.Fatalf("%q → %q is not valid UTF-8", s, out)
		}
		if utf8.ValidString(s) && string(out) != s {
			t.Fatalf("valid %q changed to %q", s, out)
		}
		if len(out) > 3*len(s) {
			t.Fatalf("%q grew to %d bytes", s, len(out))
		}
	})
}

// recordedLines is what the recorded SiPyCo forwarder sent after its
// banner.
func recordedLines(t testing.TB) []byte {
	var out []byte
	for _, c := range readRecording[logChunk](t, "sipyco_logging.jsonl") {
		if c.Session == "log_forwarder" && c.Dir == "client" && !c.EOF {
			out = append(out, c.bytes(t)...)
		}
	}
	return bytes.TrimPrefix(out, []byte("ARTIQ logging\n"))
}

// Issue 10: invalid UTF-8 is replaced as Python's errors="replace" does
// (the expectations were produced by CPython 3.11's bytes.decode).
func TestValidUTF8LikePython(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"\xff", "\ufffd"},
		{"\xe2\x82", "\ufffd"},
		{"\xe2\x82x", "\ufffdx"},
		{"\xf0\x9f\x98", "\ufffd"},
		{"\xed\xa0\x80", "\ufffd\ufffd\ufffd"},
		{"\xc0\xaf", "\ufffd\ufffd"},
		{"\xf4\x90\x80\x80", "\ufffd\ufffd\ufffd\ufffd"},
		{"a\xffb\xfe", "a\ufffdb\ufffd"},
		{"\xe0\x80\x80", "\ufffd\ufffd\ufffd"},
		{"\xf0\x80\x80\x80", "\ufffd\ufffd\ufffd\ufffd"},
		{"\xe2\x82\xac\xe2", "€\ufffd"},
	} {
		if got := string(appendValidUTF8(nil, tc.in)); got != tc.want {
			t.Errorf("%q → %q, want %q", tc.in, got, tc.want)
		}
	}
}
