package main

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sigoco/sigoco/logfwd"
	"github.com/sigoco/sigoco/pyon"
)

// printer is a slog.Handler writing one line per record: time, source,
// level, logger, message, then the other attributes as key=value.
type printer struct {
	mu  *sync.Mutex // guards buf and writes to out: the server calls Handle from one goroutine per connection
	out io.Writer
	buf []byte
}

func newPrinter(out io.Writer) *printer { return &printer{mu: new(sync.Mutex), out: out} }

func (p *printer) Enabled(context.Context, slog.Level) bool { return true }

// The server does not derive handlers; these keep the contract anyway.
func (p *printer) WithAttrs([]slog.Attr) slog.Handler { return p }
func (p *printer) WithGroup(string) slog.Handler      { return p }

func (p *printer) Handle(_ context.Context, r slog.Record) error {
	source, logger := "-", "-"
	var attrs []slog.Attr
	r.Attrs(func(a slog.Attr) bool {
		switch {
		case a.Key == logfwd.SourceKey && source == "-":
			source = nonEmpty(a.Value.String())
		case a.Key == logfwd.LoggerKey && logger == "-":
			logger = nonEmpty(a.Value.String())
		default:
			attrs = append(attrs, a)
		}
		return true
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.buf[:0]
	if r.Time.IsZero() {
		b = append(b, '-')
	} else {
		b = r.Time.Local().AppendFormat(b, "2006-01-02 15:04:05.000")
	}
	b = append(b, ' ')
	b = append(b, oneLine(source)...)
	b = append(b, ' ')
	b = append(b, r.Level.String()...)
	b = append(b, ' ')
	b = append(b, oneLine(logger)...)
	b = append(b, ' ')
	b = append(b, oneLine(r.Message)...)
	for _, a := range attrs {
		b = appendAttr(b, "", a)
	}
	b = append(b, '\n')
	p.buf = b
	_, err := p.out.Write(b)
	return err
}

func nonEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine shows line breaks as \n (and \r as \r) so a record stays on one
// line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\\", `\\`, "\n", `\n`, "\r", `\r`).Replace(s)
}

func appendAttr(b []byte, prefix string, a slog.Attr) []byte {
	if a.Value.Kind() == slog.KindGroup {
		for _, m := range a.Value.Group() {
			b = appendAttr(b, prefix+a.Key+".", m)
		}
		return b
	}
	var v string
	switch a.Value.Kind() {
	case slog.KindTime:
		v = a.Value.Time().Format(time.RFC3339Nano)
	case slog.KindAny:
		// The value model's types (a tuple, a set, a numpy array) as
		// Python shows them, as SiPyCo's log server would.
		v = pyon.Repr(a.Value.Any())
	default:
		v = a.Value.String()
	}
	b = append(b, ' ')
	b = append(b, prefix...)
	b = append(b, a.Key...)
	b = append(b, '=')
	if v == "" || strings.ContainsAny(v, " \t\r\n\"=") {
		return strconv.AppendQuote(b, v)
	}
	return append(b, v...)
}
