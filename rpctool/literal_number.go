package main

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Numbers as Python writes them: 5, -5, 0x1F, 0o17, 0b101, 1_000, 5.0, .5,
// 1e-3, 2j, and complex numbers written as a sum, 1+2j.

// number reads an optionally signed int, float or imaginary number, and a
// complex number "a+bj".
func (p *litParser) number(depth int) (any, error) {
	start := p.pos
	neg := false
	if c := p.peek(); c == '+' || c == '-' {
		neg = c == '-'
		p.pos++
		if p.pos < len(p.src) && isIdentStart(p.src[p.pos]) {
			ws := p.pos
			for p.pos < len(p.src) && isIdentChar(p.src[p.pos]) {
				p.pos++
			}
			word := p.src[ws:p.pos]
			if f, ok := specialFloat(word); ok {
				if neg {
					f = -f
				}
				if p.peek() == '+' || p.peek() == '-' {
					return p.complexTail(f, start, depth)
				}
				return f, nil
			}
			if c, ok := specialImag(word); ok {
				if neg {
					c = complex(0, -imag(c))
				}
				return c, nil
			}
			return nil, p.unexpected(start, "")
		}
		if p.eof() || !(isDigit(p.peek()) || p.peek() == '.') {
			return nil, p.unexpected(start, "")
		}
	}
	v, err := p.unsigned(start)
	if err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case complex128:
		// "-2j" negates the imaginary part only (Python would also give
		// the real part a negative zero, which repr cannot show).
		if neg {
			return complex(0, -imag(x)), nil
		}
		return x, nil
	case float64:
		if neg {
			x = -x
		}
		if c := p.peek(); c == '+' || c == '-' || (!p.spaceSeparated || depth > 0) && p.spacedSign() {
			return p.complexTail(x, start, depth)
		}
		return x, nil
	case *big.Int:
		if neg {
			x.Neg(x)
		}
		real := new(big.Float).SetInt(x)
		if c := p.peek(); c == '+' || c == '-' || (!p.spaceSeparated || depth > 0) && p.spacedSign() {
			f, _ := real.Float64()
			if neg && f == 0 {
				f = math.Copysign(0, -1)
			}
			return p.complexTail(f, start, depth)
		}
		if x.IsInt64() {
			return x.Int64(), nil
		}
		return x, nil
	}
	return v, nil
}

// spacedSign reports whether blanks then '+' or '-' follow ("1 + 2j").
func (p *litParser) spacedSign() bool {
	i := p.pos
	for i < len(p.src) && (p.src[i] == ' ' || p.src[i] == '\t') {
		i++
	}
	return i > p.pos && i < len(p.src) && (p.src[i] == '+' || p.src[i] == '-')
}

// complexTail reads "+bj" or "-bj" after the real part re.
func (p *litParser) complexTail(re float64, start, depth int) (any, error) {
	p.skipBlanks()
	opAt := p.pos
	neg := p.src[p.pos] == '-'
	p.pos++
	p.skipBlanks()
	hint := "expected an imaginary number like 2j (expressions are not evaluated)"
	var im complex128
	switch {
	case p.pos < len(p.src) && (isDigit(p.peek()) || p.peek() == '.'):
		v, err := p.unsigned(p.pos)
		if err != nil {
			return nil, err
		}
		c, ok := v.(complex128)
		if !ok {
			return nil, p.errAt(opAt, fmt.Sprintf("unexpected %q", p.src[opAt]), hint)
		}
		im = c
	case p.pos < len(p.src) && isIdentStart(p.peek()):
		ws := p.pos
		for p.pos < len(p.src) && isIdentChar(p.src[p.pos]) {
			p.pos++
		}
		c, ok := specialImag(p.src[ws:p.pos])
		if !ok {
			return nil, p.errAt(opAt, fmt.Sprintf("unexpected %q", p.src[opAt]), hint)
		}
		im = c
	default:
		return nil, p.errAt(opAt, fmt.Sprintf("unexpected %q", p.src[opAt]), hint)
	}
	if neg {
		im = -im
	}
	return complex(re, imag(im)), nil
}

// unsigned reads a number token at p.pos: an int (as *big.Int), a float64
// or an imaginary complex128.
func (p *litParser) unsigned(errAt int) (any, error) {
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if isIdentChar(c) || c == '.' {
			p.pos++
			continue
		}
		// a sign right after a decimal exponent belongs to the number
		if (c == '+' || c == '-') && p.pos > start && (p.src[p.pos-1] == 'e' || p.src[p.pos-1] == 'E') && !isBasePrefixed(p.src[start:p.pos]) {
			p.pos++
			continue
		}
		break
	}
	tok := p.src[start:p.pos]
	bad := func() error { return p.errAt(start, fmt.Sprintf("invalid number %q", tok), "") }
	if isBasePrefixed(tok) {
		base := map[byte]int{'x': 16, 'o': 8, 'b': 2}[tok[1]|0x20]
		body := tok[2:]
		if strings.HasPrefix(body, "_") {
			body = body[1:]
		}
		if body == "" || !underscoresOK(body, func(c byte) bool { return digitVal(c) < base }) {
			return nil, bad()
		}
		n, ok := new(big.Int).SetString(strings.ReplaceAll(body, "_", ""), base)
		if !ok {
			return nil, bad()
		}
		return n, nil
	}
	imaginary := false
	if strings.HasSuffix(tok, "j") || strings.HasSuffix(tok, "J") {
		imaginary = true
		tok = tok[:len(tok)-1]
	}
	if tok == "" || !underscoresOK(tok, isDigit) {
		return nil, bad()
	}
	clean := strings.ReplaceAll(tok, "_", "")
	if !isDecimalFloat(clean) {
		return nil, bad()
	}
	if !imaginary && !strings.ContainsAny(clean, ".eE") {
		if len(clean) > 1 && clean[0] == '0' && strings.Trim(clean, "0") != "" {
			return nil, p.errAt(start, fmt.Sprintf("leading zeros in decimal integer %q", tok),
				fmt.Sprintf("write 0o%s for octal", strings.TrimLeft(clean, "0")))
		}
		n, _ := new(big.Int).SetString(clean, 10)
		return n, nil
	}
	f, err := strconv.ParseFloat(clean, 64)
	if err != nil && !isRangeErr(err) {
		return nil, bad()
	}
	if imaginary {
		return complex(0, f), nil
	}
	return f, nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func isBasePrefixed(tok string) bool {
	return len(tok) >= 2 && tok[0] == '0' && strings.ContainsRune("xXoObB", rune(tok[1]))
}

// underscoresOK checks Python's rule: "_" only between two digits.
func underscoresOK(s string, digit func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '_' {
			if i == 0 || i+1 == len(s) || !digit(s[i-1]) || !digit(s[i+1]) {
				return false
			}
		} else if !digit(s[i]) && !strings.ContainsRune(".eE+-", rune(s[i])) {
			return false
		}
	}
	return true
}

// isDecimalFloat matches digits [. digits] [e [sign] digits] with at least
// one digit before the exponent.
func isDecimalFloat(s string) bool {
	i, digits := 0, 0
	for i < len(s) && isDigit(s[i]) {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		n := 0
		for i < len(s) && isDigit(s[i]) {
			i++
			n++
		}
		if n == 0 {
			return false
		}
	}
	return i == len(s)
}

func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return 99
}
