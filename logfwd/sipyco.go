package logfwd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sigoco/sigoco/wire"
)

// SiPyCo's "ARTIQ logging" protocol (sipyco.logging_tools): after the
// banner, one text line per record,
//
//	source:LEVEL:name:message
//
// and a record whose "LEVEL:name:message" spans n > 1 lines writes
// LEVEL<n> and sends the other n-1 lines as they are, without prefix. A
// line that does not match is a message of level INFO from logger "print".

// sipycoLevels maps SiPyCo's level names to slog levels (Python's DEBUG 10
// ... CRITICAL 50 become -4 ... 12, four slog steps per ten Python ones).
var sipycoLevels = map[string]slog.Level{
	"CRITICAL": slog.LevelError + 4,
	"ERROR":    slog.LevelError,
	"WARN":     slog.LevelWarn,
	"WARNING":  slog.LevelWarn,
	"INFO":     slog.LevelInfo,
	"DEBUG":    slog.LevelDebug,
	"TRACE":    slog.LevelDebug - 4,
}

// sipycoLevelName is the SiPyCo name for a slog level, rounding down.
func sipycoLevelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError+4:
		return "CRITICAL"
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARNING"
	case l >= slog.LevelInfo:
		return "INFO"
	case l >= slog.LevelDebug:
		return "DEBUG"
	default:
		return "TRACE"
	}
}

// parseSiPyCo splits the part of a first line after "source:" the way
// SiPyCo's parse_log_message does. extra is the number of continuation
// lines that follow.
func parseSiPyCo(rest string) (extra int, level slog.Level, name, msg string) {
	fallback := func() (int, slog.Level, string, string) { return 0, slog.LevelInfo, "print", rest }
	head, tail, ok := strings.Cut(rest, ":")
	if !ok {
		return fallback()
	}
	lname := head
	if i := strings.IndexByte(head, '<'); i >= 0 {
		digits, ok := strings.CutSuffix(head[i+1:], ">")
		n, err := strconv.Atoi(digits)
		if !ok || err != nil || digits == "" || strings.ContainsAny(digits, "+-") {
			return fallback()
		}
		lname, extra = head[:i], max(n-1, 0)
	}
	level, ok = sipycoLevels[lname]
	if !ok {
		return fallback()
	}
	name, msg, ok = strings.Cut(tail, ":")
	if !ok {
		return fallback()
	}
	return extra, level, name, msg
}

// lineParser reassembles SiPyCo records from lines (LogParser in SiPyCo).
type lineParser struct {
	max     int // bound on one record's message
	pending record
	extra   int // continuation lines still expected
	msg     strings.Builder
}

// feed takes one line (without its newline). It returns a complete record
// (valid until the next call) or nil while a multi-line record is
// incomplete.
func (p *lineParser) feed(line string) (*record, error) {
	if p.extra > 0 {
		if p.msg.Len()+1+len(line) > p.max {
			return nil, fmt.Errorf("%w: multi-line record over %d bytes", ErrBadRecord, p.max)
		}
		p.msg.WriteByte('\n')
		p.msg.WriteString(line)
		if p.extra--; p.extra > 0 {
			return nil, nil
		}
		p.pending.Message = p.msg.String()
		p.msg.Reset()
		return &p.pending, nil
	}
	source, rest, ok := strings.Cut(line, ":")
	if !ok {
		return nil, fmt.Errorf("%w: line without a source: %q", ErrBadRecord, truncate(line, 64))
	}
	extra, level, name, msg := parseSiPyCo(rest)
	p.pending = record{Time: time.Now(), Level: level, Source: source, Logger: name, Message: msg}
	if extra == 0 {
		return &p.pending, nil
	}
	p.extra = extra
	p.msg.WriteString(msg)
	return nil, nil
}

// tokenLinePrefix starts the line in which sigoco's tools send a token
// over SiPyCo's protocol, before the first record.
const tokenLinePrefix = "SIGOCO token "

func (s *Server) serveLines(ctx context.Context, c *wire.Conn, remote string) error {
	p := lineParser{max: s.opts.MaxLineSize}
	var source string
	for first := true; ; first = false {
		line, err := readSiPyCoLine(c.R, s.opts.MaxLineSize)
		if err == nil && first {
			// sigoco's tools may send a token line first
			// (docs/protocol-log.md); SiPyCo's forwarders never do.
			var token string
			rest, hasToken := strings.CutPrefix(line, tokenLinePrefix)
			if hasToken {
				token = rest
			}
			if ctx, err = s.authenticate(ctx, c, token); err != nil {
				s.rejected.Add(1)
				s.opts.Logger.Warn("logfwd: refused a SiPyCo forwarder", "remote", remote, "err", err)
				return err // SiPyCo has no error message: closed
			}
			if hasToken {
				continue
			}
		}
		if err != nil {
			if errors.Is(err, wire.ErrLineTooLong) {
				s.rejected.Add(1)
				s.opts.Logger.Warn("logfwd: disconnecting SiPyCo forwarder", "remote", remote, SourceKey, source, "err", err)
			}
			return err
		}
		if !utf8.ValidString(line) {
			// SiPyCo's server decodes strictly and drops the connection,
			// losing this record and every later one; sigoco replaces the
			// bad bytes as Python's errors="replace" does (as its
			// forwarder does) and keeps the record and the connection.
			line = string(appendValidUTF8(nil, line))
		}
		rec, err := p.feed(line)
		if err != nil {
			s.rejected.Add(1)
			s.opts.Logger.Warn("logfwd: disconnecting SiPyCo forwarder", "remote", remote, SourceKey, source, "err", err)
			return err
		}
		if rec != nil {
			source = rec.Source
			s.emit(withForwarded(ctx, rec.Source), rec)
		}
	}
}

// readSiPyCoLine reads one line of at most max bytes and returns it
// without its "\n". Unlike wire.ReadLine it keeps a "\r" before the
// "\n": SiPyCo's server strips only the newline, so a record logged with
// "\r\n" line ends keeps its "\r"s (as the recordings show).
func readSiPyCoLine(r *bufio.Reader, max int) (string, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > max+1 { // +1 for the "\n"
			return "", fmt.Errorf("%w (limit %d bytes)", wire.ErrLineTooLong, max)
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return string(line[:len(line)-1]), nil
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && len(line) > 0:
			return "", io.ErrUnexpectedEOF
		default:
			return "", err
		}
	}
}

// appendLineRecord appends one SiPyCo record, continuation lines included.
// Invalid UTF-8 is replaced (see appendValidUTF8): SiPyCo's server decodes
// each line strictly and drops the connection on the first bad byte,
// losing that record and every one after it.
func appendLineRecord(dst *[]byte, source string, level slog.Level, name, msg string) {
	b := *dst
	b = appendValidUTF8(b, sanitizeField(source))
	b = append(b, ':')
	b = append(b, sipycoLevelName(level)...)
	if n := strings.Count(msg, "\n"); n > 0 {
		b = append(b, '<')
		b = strconv.AppendInt(b, int64(n+1), 10)
		b = append(b, '>')
	}
	b = append(b, ':')
	b = appendValidUTF8(b, sanitizeField(name))
	b = append(b, ':')
	b = appendValidUTF8(b, msg)
	*dst = append(b, '\n')
}

// appendValidUTF8 appends s with every ill-formed UTF-8 sequence replaced
// by U+FFFD exactly as Python's bytes.decode("utf-8", errors="replace")
// does: one replacement per maximal subpart (the longest prefix of a valid
// sequence, or a single byte), so a record reads the same as it would if
// Python had logged those bytes.
func appendValidUTF8(b []byte, s string) []byte {
	if utf8.ValidString(s) {
		return append(b, s...)
	}
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError || n > 1 {
			b = append(b, s[i:i+n]...)
			i += n
			continue
		}
		b = append(b, "\uFFFD"...)
		i += maximalSubpart(s[i:])
	}
	return b
}

// maximalSubpart is the length of the ill-formed sequence that starts s
// (Unicode's "maximal subpart", W3C/WHATWG and CPython): a lead byte and
// the continuation bytes that could still have completed it.
func maximalSubpart(s string) int {
	lo, hi, need := byte(0x80), byte(0xbf), 0
	switch c := s[0]; {
	case c >= 0xc2 && c <= 0xdf:
		need = 1
	case c == 0xe0:
		lo, need = 0xa0, 2
	case c == 0xed:
		hi, need = 0x9f, 2
	case c >= 0xe1 && c <= 0xef:
		need = 2
	case c == 0xf0:
		lo, need = 0x90, 3
	case c == 0xf4:
		hi, need = 0x8f, 3
	case c >= 0xf1 && c <= 0xf3:
		need = 3
	default:
		return 1
	}
	n := 1
	for ; n <= need && n < len(s); n++ {
		if s[n] < lo || s[n] > hi {
			break
		}
		lo, hi = 0x80, 0xbf
	}
	return n
}

// sanitizeField keeps a source or logger name from breaking the line
// syntax: neither may hold ':' or a line break.
func sanitizeField(s string) string {
	if !strings.ContainsAny(s, ":\r\n") {
		return s
	}
	return strings.NewReplacer(":", "_", "\r", " ", "\n", " ").Replace(s)
}

// appendLine formats r as a SiPyCo record: attributes become " key=value"
// text after the message.
func (f *Forwarder) appendLine(st *encState, r slog.Record, logger string, skipLogger bool) {
	msg := append(st.tmp[:0], r.Message...)
	for _, g := range f.groups {
		msg = append(msg, g.attrs...)
	}
	prefix := f.prefix()
	r.Attrs(func(a slog.Attr) bool {
		if !(skipLogger && a.Key == LoggerKey) {
			appendTextAttr(&msg, prefix, a)
		}
		return true
	})
	st.tmp = msg
	appendLineRecord(&st.e.B, f.c.opts.Source, r.Level, logger, string(msg))
}

// prefix is the dotted group path of attributes added at this level.
func (f *Forwarder) prefix() string {
	var sb strings.Builder
	for _, g := range f.groups[1:] {
		sb.WriteString(g.name)
		sb.WriteByte('.')
	}
	return sb.String()
}

// appendTextAttr appends " key=value" for a (groups flattened with dotted
// keys) and returns how many pairs it wrote.
func appendTextAttr(dst *[]byte, prefix string, a slog.Attr) int {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return 0
	}
	if a.Value.Kind() == slog.KindGroup {
		if a.Key != "" {
			prefix += a.Key + "."
		}
		n := 0
		for _, m := range a.Value.Group() {
			n += appendTextAttr(dst, prefix, m)
		}
		return n
	}
	b := append(*dst, ' ')
	b = appendText(b, prefix+a.Key)
	b = append(b, '=')
	switch a.Value.Kind() {
	case slog.KindTime:
		b = appendText(b, a.Value.Time().Format(time.RFC3339Nano))
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok && err != nil {
			b = appendText(b, err.Error())
			break
		}
		b = appendText(b, a.Value.String())
	default:
		b = appendText(b, a.Value.String())
	}
	*dst = b
	return 1
}

// appendText quotes s when it would not read back as one token.
func appendText(b []byte, s string) []byte {
	if s == "" || strings.IndexFunc(s, needsQuote) >= 0 || !utf8.ValidString(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

func needsQuote(r rune) bool {
	return r == '=' || r == '"' || unicode.IsSpace(r) || !unicode.IsPrint(r)
}
