package main

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// str reads a quoted string at p.pos with the given lower-case prefix
// ("", "r", "u", "b", "br", "rb"); start is where the prefix began.
func (p *litParser) str(prefix string, start int) (any, error) {
	raw := strings.Contains(prefix, "r")
	isBytes := strings.Contains(prefix, "b")
	q := p.src[p.pos]
	quote := string(q)
	if strings.HasPrefix(p.src[p.pos:], strings.Repeat(quote, 3)) {
		quote = strings.Repeat(quote, 3)
	}
	p.pos += len(quote)
	var sb strings.Builder
	for {
		if p.eof() {
			return nil, p.errAt(start, "unterminated string", "")
		}
		if strings.HasPrefix(p.src[p.pos:], quote) {
			p.pos += len(quote)
			break
		}
		c := p.src[p.pos]
		if c == '\n' && len(quote) == 1 {
			return nil, p.errAt(start, "unterminated string", "")
		}
		if isBytes && c >= utf8.RuneSelf {
			return nil, p.errAt(p.pos, "non-ASCII character in bytes", "use \\x escapes")
		}
		if c != '\\' {
			sb.WriteByte(c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(p.src) {
			return nil, p.errAt(start, "unterminated string", "")
		}
		if raw {
			// In a raw string a backslash keeps itself and the next
			// character, which therefore cannot end the string.
			sb.WriteByte('\\')
			p.pos++
			if isBytes && p.src[p.pos] >= utf8.RuneSelf {
				return nil, p.errAt(p.pos, "non-ASCII character in bytes", "use \\x escapes")
			}
			_, n := utf8.DecodeRuneInString(p.src[p.pos:])
			sb.WriteString(p.src[p.pos : p.pos+n])
			p.pos += n
			continue
		}
		if err := p.escape(&sb, isBytes); err != nil {
			return nil, err
		}
	}
	if isBytes {
		return []byte(sb.String()), nil
	}
	return sb.String(), nil
}

// escape reads one backslash escape at p.pos and writes what it means.
func (p *litParser) escape(sb *strings.Builder, isBytes bool) error {
	at := p.pos
	p.pos++ // the backslash
	c := p.src[p.pos]
	p.pos++
	if s, ok := simpleEscapes[c]; ok {
		sb.WriteString(s)
		return nil
	}
	hexDigits := func(n int) (uint64, error) {
		if p.pos+n > len(p.src) {
			return 0, p.errAt(at, fmt.Sprintf("invalid \\%c escape: needs %d hex digits", c, n), "")
		}
		v, err := strconv.ParseUint(p.src[p.pos:p.pos+n], 16, 32)
		if err != nil || strings.ContainsAny(p.src[p.pos:p.pos+n], "+-_") {
			return 0, p.errAt(at, fmt.Sprintf("invalid \\%c escape: needs %d hex digits", c, n), "")
		}
		p.pos += n
		return v, nil
	}
	switch {
	case c >= '0' && c <= '7':
		v := uint64(c - '0')
		for i := 0; i < 2 && p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '7'; i++ {
			v = v*8 + uint64(p.src[p.pos]-'0')
			p.pos++
		}
		if isBytes {
			if v > 0xff {
				return p.errAt(at, "octal escape out of range for bytes", "")
			}
			sb.WriteByte(byte(v))
		} else {
			sb.WriteRune(rune(v))
		}
	case c == 'x':
		v, err := hexDigits(2)
		if err != nil {
			return err
		}
		if isBytes {
			sb.WriteByte(byte(v))
		} else {
			sb.WriteRune(rune(v))
		}
	case (c == 'u' || c == 'U') && !isBytes:
		n := 4
		if c == 'U' {
			n = 8
		}
		v, err := hexDigits(n)
		if err != nil {
			return err
		}
		if v > utf8.MaxRune || v >= 0xd800 && v <= 0xdfff {
			return p.errAt(at, fmt.Sprintf("\\%c escape %s is not a valid character", c, p.src[at+2:p.pos]), "")
		}
		sb.WriteRune(rune(v))
	case c == 'N' && !isBytes:
		return p.errAt(at, "\\N{...} escapes are not supported", "use \\u or the character itself")
	default:
		// Python keeps unknown escapes as they are.
		sb.WriteByte('\\')
		p.pos--
		if !isBytes || p.src[p.pos] < utf8.RuneSelf {
			_, n := utf8.DecodeRuneInString(p.src[p.pos:])
			sb.WriteString(p.src[p.pos : p.pos+n])
			p.pos += n
		}
	}
	return nil
}

var simpleEscapes = map[byte]string{
	'\n': "", '\\': "\\", '\'': "'", '"': "\"",
	'a': "\a", 'b': "\b", 'f': "\f", 'n': "\n", 'r': "\r", 't': "\t", 'v': "\v",
}
