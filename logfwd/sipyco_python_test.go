package logfwd

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/internal/sipycotest"
	"github.com/sigoco/sigoco/wire"
)

// pyForwarderRecords are the records log_forwarder.py sends (without
// --record), and that TestGoForwarderToPythonServer sends SiPyCo's server.
var pyForwarderRecords = []struct {
	level   slog.Level
	message string
}{
	{slog.LevelInfo, "attenuation set to 5.5 dB"},
	{slog.LevelWarn, "temperature high: 71 C"},
	{slog.LevelError, "first line\nsecond line\nthird line"},
	{slog.LevelDebug, "debug: colon: inside"},
}

// Optional: real SiPyCo. A Python LogForwarder sends to the Go log server,
// directly and behind a wire.Mux; skipped (saying why) without SiPyCo.
func TestPythonForwarderToGoServer(t *testing.T) {
	env := sipycotest.Python(t)
	for _, tr := range []transport{transports[0], transports[2]} {
		t.Run(tr.name, func(t *testing.T) {
			col := newCollector()
			addr, _, _ := serve(t, col, tr, ServerOptions{}, "")
			host, port, _ := strings.Cut(addr, ":")
			res := env.Run(t, sipycotest.LogForwarder, host, port)
			if res.ExitCode != 0 {
				t.Fatalf("log_forwarder.py failed: %s", res)
			}
			recs := col.wait(t, len(pyForwarderRecords))
			for i, want := range pyForwarderRecords {
				g := recs[i]
				if g.rec.Level != want.level || g.rec.Message != want.message ||
					g.str(SourceKey) != "ctl_lda" || g.str(LoggerKey) != "lda.driver" {
					t.Errorf("record %d = %v %q %s, want %v %q from ctl_lda/lda.driver", i, g.rec.Level, g.rec.Message, flat(g.rec), want.level, want.message)
				}
			}
		})
	}
}

// Optional: real SiPyCo. The Go Forwarder in SiPyCo's format sends to
// SiPyCo's own log server (what an ARTIQ master runs).
func TestGoForwarderToPythonServer(t *testing.T) {
	env := sipycotest.Python(t)
	srv := env.Serve(t, sipycotest.LogServer)
	f := forward(t, srv.Addr, ForwarderOptions{Source: "ctl_lda", Protocol: wire.ProtocolSiPyCo, Level: slog.LevelDebug})
	log := slog.New(f).With(LoggerKey, "lda.driver")
	for _, r := range pyForwarderRecords {
		log.Log(context.Background(), r.level, r.message)
	}
	flush(t, f)
	pyLevel := map[slog.Level]int{slog.LevelDebug: 10, slog.LevelInfo: 20, slog.LevelWarn: 30, slog.LevelError: 40}
	for i, want := range pyForwarderRecords {
		var got struct {
			Source    *string `json:"source"`
			Name      string  `json:"name"`
			Level     int     `json:"level"`
			Message   string  `json:"message"`
			Forwarded bool    `json:"forwarded"`
		}
		line := srv.Line(t)
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("record %d: %v in %q", i, err, line)
		}
		if got.Source == nil || *got.Source != "ctl_lda" || got.Name != "lda.driver" ||
			got.Level != pyLevel[want.level] || got.Message != want.message || !got.Forwarded {
			t.Errorf("SiPyCo received record %d as %s; want level %s message %q", i, line, strconv.Itoa(pyLevel[want.level]), want.message)
		}
	}
}

// Issue 10, real SiPyCo: invalid UTF-8 (in the message, the source, the
// logger name and an attribute) used to make SiPyCo's log server drop the
// connection, losing that record and the ones after it. It is replaced as
// Python's errors="replace" would, and nothing is lost.
func TestGoForwarderInvalidUTF8ToPythonServer(t *testing.T) {
	env := sipycotest.Python(t)
	srv := env.Serve(t, sipycotest.LogServer)
	f := forward(t, srv.Addr, ForwarderOptions{Source: "ctl\xfe", Protocol: wire.ProtocolSiPyCo})
	log := slog.New(f).With(LoggerKey, "drv\xe2\x82")
	log.Info("bad \xff byte\nsecond \xed\xa0\x80 line", "raw", "v\xff")
	log.Info("after")
	flush(t, f)
	want := []struct{ source, name, message string }{
		{"ctl\ufffd", "drv\ufffd", "bad \ufffd byte\nsecond \ufffd\ufffd\ufffd line raw=\"v\\xff\""},
		{"ctl\ufffd", "drv\ufffd", "after"},
	}
	for i, w := range want {
		var got struct {
			Source    *string `json:"source"`
			Name      string  `json:"name"`
			Message   string  `json:"message"`
			Forwarded bool    `json:"forwarded"`
		}
		line := srv.Line(t)
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("record %d: %v in %q", i, err, line)
		}
		if got.Source == nil || *got.Source != w.source || got.Name != w.name || got.Message != w.message || !got.Forwarded {
			t.Errorf("SiPyCo received record %d as %s; want source %q name %q message %q", i, line, w.source, w.name, w.message)
		}
	}
}
