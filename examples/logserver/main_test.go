package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigoco/sigoco/logfwd"
	"github.com/sigoco/sigoco/wire"
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
	var stdout, stderr syncBuffer
	if err := newApp(&stdout, &stderr).RunContext(ctx, []string{"logserver", "--bind", "127.0.0.1", "--port", "0", "-v"}); err != nil {
		t.Fatalf("run: %v (stderr %q)", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "logserver: listening") {
		t.Errorf("stderr %q", stderr.String())
	}
	err := newApp(&stdout, &stderr).RunContext(ctx, []string{"logserver", "--tls-cert", "/nonexistent.pem"})
	var ue usageError
	if !errors.As(err, &ue) {
		t.Errorf("bad TLS files: %v", err)
	}
}
