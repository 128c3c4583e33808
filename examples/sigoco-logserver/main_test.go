package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/logfwd"
	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/wire"
	"github.com/urfave/cli/v2"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestPrinterLine(t *testing.T) {
	when := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.Local)
	cases := []struct {
		name string
		rec  func() slog.Record
		want string
	}{
		{"full", func() slog.Record {
			r := slog.NewRecord(when, slog.LevelWarn, "attenuation set", 0)
			r.AddAttrs(slog.String("source", "ctl_lda"), slog.String("logger", "lda.driver"),
				slog.Float64("db", 5.5), slog.Group("g", slog.String("note", "two words")))
			return r
		}, `2024-05-06 07:08:09.123 ctl_lda WARN lda.driver attenuation set db=5.5 g.note="two words"`},
		{"multi-line, no logger, no time", func() slog.Record {
			r := slog.NewRecord(time.Time{}, slog.LevelError, "first\nsecond\\", 0)
			r.AddAttrs(slog.String("source", "sim"))
			return r
		}, `- sim ERROR - first\nsecond\\`},
		{"values", func() slog.Record {
			r := slog.NewRecord(time.Time{}, slog.LevelInfo, "v", 0)
			r.AddAttrs(slog.String("source", "sim"), slog.Any("t", pyon.Tuple{int64(1), "a"}),
				slog.Any("s", pyon.Set{Items: []any{int64(2)}}))
			return r
		}, `- sim INFO - v t="(1, 'a')" s={2}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := newPrinter(&out).Handle(context.Background(), c.rec()); err != nil {
				t.Fatal(err)
			}
			if got := out.String(); got != c.want+"\n" {
				t.Errorf("got  %q\nwant %q", got, c.want+"\n")
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines, which
// tells waitLines about every write.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	written chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.written != nil {
		close(s.written)
		s.written = nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) waitLines(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		if strings.Count(s.b.String(), "\n") >= n {
			s.mu.Unlock()
			return
		}
		ch := make(chan struct{})
		s.written = ch
		s.mu.Unlock()
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("output %q", s.String())
		}
	}
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeForwarders(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, &out, logfwd.ServerOptions{}) }()

	flushCtx, cancelFlush := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelFlush()
	for i, proto := range []wire.Protocol{wire.ProtocolNative, wire.ProtocolSiPyCo} {
		f, err := logfwd.NewForwarder(ln.Addr().String(), logfwd.ForwarderOptions{Source: "ctl", Protocol: proto})
		if err != nil {
			t.Fatal(err)
		}
		slog.New(f).With(logfwd.LoggerKey, "drv").Info("hello\nworld", "n", i)
		if err := f.Shutdown(flushCtx); err != nil {
			t.Fatal(err)
		}
	}
	// The SiPyCo format has no acknowledgements: wait for its line.
	out.waitLines(t, 2)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for i, want := range []string{" ctl INFO drv hello\\nworld n=0", " ctl INFO drv hello\\nworld n=1"} {
		if !strings.HasSuffix(lines[i], want) || len(lines[i]) != len("2024-05-06 07:08:09.123")+len(want) {
			t.Errorf("line %d = %q, want time + %q", i, lines[i], want)
		}
	}
}

func TestApp(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // listen, then stop at once
	// Issue 12: it says where it listens without -v.
	var stdout, stderr syncBuffer
	if err := newApp(&stdout, &stderr).RunContext(ctx, []string{"logserver", "--bind", "127.0.0.1", "--port", "0"}); err != nil {
		t.Fatalf("run: %v (stderr %q)", err, stderr.String())
	}
	if got := stderr.String(); !strings.HasPrefix(got, "logserver: listening on 127.0.0.1:") || !strings.Contains(got, "forwarders") {
		t.Errorf("stderr %q, want the address it listens on", got)
	}
	err := newApp(&stdout, &stderr).RunContext(ctx, []string{"logserver", "--tls-cert", "/nonexistent.pem"})
	var ue usageError
	if !errors.As(err, &ue) {
		t.Errorf("bad TLS files: %v", err)
	}
}

// Issue 12: INFO diagnostics show by default, -q hides them.
func TestDefaultLevelInfo(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{{nil, true}, {[]string{"-q"}, false}} {
		app := newApp(io.Discard, io.Discard)
		var level slog.Level
		app.Action = func(c *cli.Context) error {
			level = diagLevel(c)
			return nil
		}
		if err := app.Run(append([]string{"logserver"}, tc.args...)); err != nil {
			t.Fatal(err)
		}
		if got := level <= slog.LevelInfo; got != tc.want {
			t.Errorf("%v: level %v", tc.args, level)
		}
	}
}

// Issue 12: one name for the flag, --tls-peer-cert, the old --tls-peer
// hidden; --help without urfave/cli's boilerplate.
func TestHelp(t *testing.T) {
	var stdout, stderr syncBuffer
	if err := newApp(&stdout, &stderr).Run([]string{"logserver", "--help"}); err != nil {
		t.Fatal(err)
	}
	help := stdout.String()
	for _, bad := range []string{"[global options]", "COMMANDS", "(default: false)", "--tls-peer value"} {
		if strings.Contains(help, bad) {
			t.Errorf("help shows %q:\n%s", bad, help)
		}
	}
	for _, want := range []string{"logserver [options]", "--tls-peer-cert value", "--verbose, -v"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
	for _, flag := range []string{"--tls-peer-cert", "--tls-peer"} {
		err := newApp(&stdout, &stderr).Run([]string{"logserver", "--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key", flag, "/nonexistent.pem"})
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%s: %v", flag, err)
		}
	}
}
