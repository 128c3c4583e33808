package pyon

import "bytes"

// IsV1 reports whether line looks like PYON v1, the Python-literal syntax
// older SiPyCo peers send when "pyon_v2" was not negotiated: None, True,
// False, tuples in parentheses, b'...' bytes, single-quoted strings, 1j
// complex numbers, nan/inf, or calls such as Fraction(...) / nparray(...)
// outside strings. Valid PYON v2 never does, so a line that fails to
// decode and passes this test can be refused with ErrV1. It only looks at
// tokens, it does not parse.
func IsV1(line []byte) bool {
	inString := byte(0)
	for i := 0; i < len(line); i++ {
		c := line[i]
		if inString != 0 {
			switch c {
			case '\\':
				i++
			case inString:
				inString = 0
			}
			continue
		}
		switch c {
		case '"':
			inString = '"'
		case '\'':
			return true // JSON has no single-quoted strings
		case '(', ')':
			return true // tuples and calls
		case 'j':
			if i > 0 && (isDigit(line[i-1]) || line[i-1] == '.') {
				return true // 1j, 2.5j
			}
		}
		if isIdentStart(c) && (i == 0 || !isIdentChar(line[i-1])) {
			j := i
			for j < len(line) && isIdentChar(line[j]) {
				j++
			}
			switch string(line[i:j]) {
			case "None", "True", "False", "nan", "inf":
				return true
			}
			if j < len(line) && (line[j] == '\'' || line[j] == '"') && bytes.Contains([]byte("bBrRuU"), line[i:j]) {
				return true // b'...' and friends
			}
			i = j - 1
		}
	}
	return false
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) }
