package main

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sigoco/sigoco/pyon"
)

// The literal parser reads the Python literal subset that SiPyCo users type
// as arguments. It never evaluates anything: names other than the constants
// below, operators and calls are errors.
//
// Values produced: nil, bool, int64 (*big.Int beyond 64 bits), float64,
// complex128, string, []byte, []any (list), pyon.Tuple, pyon.Set,
// map[string]any (dict with only string keys) and pyon.Dict.

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 200

// literalError is an ill-formed literal. Line and Col are 1-based; Col
// counts characters (runes), not bytes.
type literalError struct {
	Offset    int    // byte offset in the input
	Line, Col int    // position for people
	Msg       string // what is wrong
	Hint      string // how to fix it, may be ""
	multiline bool   // the input had several lines: show Line too
	bareWord  string // the unquoted word, for the shell hint (withShellHint)
}

// withShellHint adds how to quote a bare word in a shell, for arguments
// that came through one (not for lines typed in interactive mode).
func withShellHint(err error) {
	var le *literalError
	if errors.As(err, &le) && le.bareWord != "" {
		le.Hint += fmt.Sprintf(" (in a shell: '\"%s\"')", le.bareWord)
	}
}

// startsLetter reports whether s starts with a non-ASCII letter.
func startsLetter(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return r >= utf8.RuneSelf && unicode.IsLetter(r)
}

func (e *literalError) Error() string {
	pos := fmt.Sprintf("column %d", e.Col)
	if e.multiline {
		pos = fmt.Sprintf("line %d, column %d", e.Line, e.Col)
	}
	s := "literal: " + e.Msg + " at " + pos
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s
}

// parseLiteral parses src, which must hold exactly one literal (blank space
// and # comments around it are allowed).
func parseLiteral(src string) (any, error) {
	p := newLitParser(src)
	if err := p.checkUTF8(); err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.eof() {
		return nil, p.errAt(p.pos, "empty input", "")
	}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.eof() {
		return nil, p.unexpected(p.pos, "")
	}
	return v, nil
}

type litParser struct {
	src string
	pos int
	// spaceSeparated is set when literals are separated by blanks (the
	// interactive "method 1 -2" form): then "1 -2" at depth 0 is two
	// values, not an attempt at a complex number.
	spaceSeparated bool
}

func newLitParser(src string) *litParser { return &litParser{src: src} }

func (p *litParser) eof() bool { return p.pos >= len(p.src) }

func (p *litParser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func (p *litParser) checkUTF8() error {
	for i := 0; i < len(p.src); {
		r, n := utf8.DecodeRuneInString(p.src[i:])
		if r == utf8.RuneError && n == 1 {
			return p.errAt(i, "invalid UTF-8", "")
		}
		i += n
	}
	return nil
}

// skipSpace skips blanks, newlines and # comments.
func (p *litParser) skipSpace() {
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			p.pos++
		case c == '#':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		default:
			return
		}
	}
}

// skipBlanks skips spaces and tabs only (no newlines, no comments).
func (p *litParser) skipBlanks() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
}

func (p *litParser) errAt(off int, msg, hint string) *literalError {
	if off > len(p.src) {
		off = len(p.src)
	}
	line, col := 1, 1
	for _, r := range p.src[:off] {
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return &literalError{Offset: off, Line: line, Col: col, Msg: msg, Hint: hint,
		multiline: strings.Contains(strings.TrimRight(p.src, "\n"), "\n")}
}

// unexpected reports the character at off (or the end of input).
func (p *litParser) unexpected(off int, hint string) *literalError {
	if off >= len(p.src) {
		return p.errAt(off, "unexpected end of input", hint)
	}
	r, _ := utf8.DecodeRuneInString(p.src[off:])
	if hint == "" && strings.ContainsRune("+-*/%@&|^~<>=!", r) {
		hint = "expressions are not evaluated"
	}
	return p.errAt(off, fmt.Sprintf("unexpected %q", r), hint)
}

func (p *litParser) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, p.errAt(p.pos, fmt.Sprintf("nesting deeper than %d", maxDepth), "")
	}
	p.skipSpace()
	if p.eof() {
		return nil, p.unexpected(p.pos, "")
	}
	switch c := p.src[p.pos]; {
	case c == '[':
		return p.list(depth)
	case c == '(':
		return p.tuple(depth)
	case c == '{':
		return p.dictOrSet(depth)
	case c == '\'' || c == '"':
		return p.str("", p.pos)
	case isDigit(c) || c == '.' || c == '+' || c == '-':
		return p.number(depth)
	case isIdentStart(c) || startsLetter(p.src[p.pos:]):
		return p.name(depth)
	default:
		return nil, p.unexpected(p.pos, "")
	}
}

// closing reads ',' or the closer after an item; it reports whether the
// sequence ended.
func (p *litParser) closing(open int, closer byte) (bool, error) {
	p.skipSpace()
	switch {
	case p.eof():
		return false, p.unexpected(p.pos, fmt.Sprintf("%q at column %d is not closed", p.src[open], p.errAt(open, "", "").Col))
	case p.peek() == closer:
		p.pos++
		return true, nil
	case p.peek() == ',':
		p.pos++
		p.skipSpace()
		if p.peek() == closer {
			p.pos++
			return true, nil
		}
		return false, nil
	default:
		return false, p.unexpected(p.pos, fmt.Sprintf("expected ',' or %q", closer))
	}
}

func (p *litParser) list(depth int) (any, error) {
	open := p.pos
	p.pos++
	items := []any{}
	p.skipSpace()
	if p.peek() == ']' {
		p.pos++
		return items, nil
	}
	for {
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		items = append(items, v)
		done, err := p.closing(open, ']')
		if err != nil || done {
			return items, err
		}
	}
}

// tuple reads "()", "(x,)", "(x, y)" or a parenthesised value "(x)".
func (p *litParser) tuple(depth int) (any, error) {
	open := p.pos
	p.pos++
	p.skipSpace()
	if p.peek() == ')' {
		p.pos++
		return pyon.Tuple{}, nil
	}
	first, err := p.value(depth + 1)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.peek() == ')' {
		p.pos++
		return first, nil
	}
	items := pyon.Tuple{first}
	for {
		done, err := p.closing(open, ')')
		if err != nil || done {
			return items, err
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		items = append(items, v)
	}
}

func (p *litParser) dictOrSet(depth int) (any, error) {
	open := p.pos
	p.pos++
	p.skipSpace()
	if p.peek() == '}' {
		p.pos++
		return map[string]any{}, nil
	}
	keyAt := p.pos
	first, err := p.value(depth + 1)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.peek() != ':' {
		return p.set(depth, open, keyAt, first)
	}
	var b dictBuilder
	key, keyOff := first, keyAt
	for {
		if !hashable(key) {
			return nil, p.errAt(keyOff, fmt.Sprintf("unhashable %s as dict key", typeName(key)), "")
		}
		p.skipSpace()
		if p.peek() != ':' {
			return nil, p.unexpected(p.pos, "expected ':' after a dict key")
		}
		p.pos++
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		b.add(key, v)
		done, err := p.closing(open, '}')
		if err != nil {
			return nil, err
		}
		if done {
			return b.result(), nil
		}
		p.skipSpace()
		keyOff = p.pos
		if key, err = p.value(depth + 1); err != nil {
			return nil, err
		}
	}
}

func (p *litParser) set(depth, open, off int, first any) (any, error) {
	var s setBuilder
	v := first
	for {
		if !hashable(v) {
			return nil, p.errAt(off, fmt.Sprintf("unhashable %s in set", typeName(v)), "")
		}
		s.add(v)
		done, err := p.closing(open, '}')
		if err != nil {
			return nil, err
		}
		if done {
			return pyon.Set{Items: s.items}, nil
		}
		p.skipSpace()
		off = p.pos
		if v, err = p.value(depth + 1); err != nil {
			return nil, err
		}
	}
}

// name reads an identifier: a constant, a string prefix, set()/frozenset(),
// or a bare word, which is an error.
func (p *litParser) name(depth int) (any, error) {
	start := p.pos
	for p.pos < len(p.src) {
		if isIdentChar(p.src[p.pos]) {
			p.pos++
			continue
		}
		r, n := utf8.DecodeRuneInString(p.src[p.pos:])
		if r < utf8.RuneSelf || !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)) {
			break
		}
		p.pos += n // Python identifiers may be any letters: héllo, 世界
	}
	word := p.src[start:p.pos]
	if p.peek() == '\'' || p.peek() == '"' {
		switch strings.ToLower(word) {
		case "r", "u", "b", "br", "rb":
			return p.str(strings.ToLower(word), start)
		case "f", "rf", "fr":
			return nil, p.errAt(start, "f-strings are not literals", "")
		}
	}
	switch word {
	case "True", "true":
		return true, nil
	case "False", "false":
		return false, nil
	case "None", "null":
		return nil, nil
	case "set", "frozenset":
		if p.peek() == '(' {
			return p.setCall(depth, word, start)
		}
	}
	if v, ok := specialFloat(word); ok {
		if p.peek() == '+' || p.peek() == '-' {
			return p.complexTail(v, start, depth)
		}
		return v, nil
	}
	if c, ok := specialImag(word); ok {
		return c, nil
	}
	hint := fmt.Sprintf("to pass it as a string, quote it: \"%s\"", word)
	if p.peek() == '(' || p.peek() == '.' {
		hint = "names, calls and expressions are not evaluated"
	}
	e := p.errAt(start, fmt.Sprintf("bare word %s is not a literal", word), hint)
	if p.peek() != '(' && p.peek() != '.' {
		e.bareWord = word
	}
	return nil, e
}

// setCall reads set() and frozenset(ITERABLE-LITERAL), the forms Python
// prints for an empty set and for frozensets.
func (p *litParser) setCall(depth int, word string, start int) (any, error) {
	open := p.pos
	p.pos++
	p.skipSpace()
	frozen := word == "frozenset"
	if p.peek() == ')' {
		p.pos++
		return pyon.Set{Items: []any{}, Frozen: frozen}, nil
	}
	if !frozen {
		return nil, p.errAt(start, "set(...) takes no argument here", "write a set as {1, 2}")
	}
	argAt := p.pos
	v, err := p.value(depth + 1)
	if err != nil {
		return nil, err
	}
	var items []any
	switch v := v.(type) {
	case pyon.Set:
		items = v.Items
	case []any:
		items = v
	case pyon.Tuple:
		items = v
	case map[string]any:
		if len(v) != 0 {
			return nil, p.errAt(argAt, "frozenset() needs a set, list or tuple", "")
		}
	default:
		return nil, p.errAt(argAt, "frozenset() needs a set, list or tuple", "")
	}
	var s setBuilder
	for _, it := range items {
		if !hashable(it) {
			return nil, p.errAt(argAt, fmt.Sprintf("unhashable %s in set", typeName(it)), "")
		}
		s.add(it)
	}
	p.skipSpace()
	if p.peek() != ')' {
		if p.eof() {
			return nil, p.unexpected(p.pos, fmt.Sprintf("'(' at column %d is not closed", p.errAt(open, "", "").Col))
		}
		return nil, p.unexpected(p.pos, "expected ')'")
	}
	p.pos++
	if s.items == nil {
		s.items = []any{}
	}
	return pyon.Set{Items: s.items, Frozen: true}, nil
}

func specialFloat(word string) (float64, bool) {
	switch strings.ToLower(word) {
	case "inf", "infinity":
		return math.Inf(1), true
	case "nan":
		return math.NaN(), true
	}
	return 0, false
}

func specialImag(word string) (complex128, bool) {
	if len(word) < 2 || (word[len(word)-1] != 'j' && word[len(word)-1] != 'J') {
		return 0, false
	}
	f, ok := specialFloat(word[:len(word)-1])
	return complex(0, f), ok
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) }
