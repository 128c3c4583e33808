package store

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// # Run queries
//
// QueryRuns selects runs with a filter expression, the grammar of the
// runs table's filter box (docs/dashboard.md "Filter"):
//
//	expr   = and { "or" and }
//	and    = unary { "and" unary }
//	unary  = "not" unary | "(" expr ")" | cond
//	cond   = field [ op value ]
//	field  = "params." key | "metrics." key | "tags." key
//	       | id | name | project | status | message
//	       | start | end | updated | progress | step | archived
//	key    = ident-chars | "\"" string "\""
//	op     = "=" | "!=" | "<" | "<=" | ">" | ">=" | "~" | "!~"
//	value  = number | "\"" string "\"" | true | false
//
// Keywords are case-insensitive; strings are double-quoted with \" and \\
// escapes. A field alone tests presence (a param, a metric, a tag) or
// truth (archived). A comparison holds only where the value exists:
// `params.lr != 0.01` selects runs that have lr, other than 0.01; `not
// params.lr = 0.01` also selects the runs without lr. Params compare as
// numbers when the value is a number, else by equality of the stored
// value; metrics are the latest value of a series, as numbers. `~` is a
// case-insensitive substring (name, project, message, id). status
// compares with "crashed" as the runs list shows it. start, end and
// updated compare with Unix seconds or an RFC 3339 time or a date
// ("2026-01-02").
//
// The parser bounds what it accepts (MaxQueryLen, MaxQueryDepth,
// MaxQueryTerms): a query is hostile input.

// Bounds of a filter expression.
const (
	MaxQueryLen   = 4096 // bytes
	MaxQueryDepth = 16   // nested parentheses and nots
	MaxQueryTerms = 64   // conditions
)

// ErrBadQuery: a run query that does not parse or names what cannot be
// queried.
var ErrBadQuery = errors.New("store: bad query")

// QueryError is a filter expression's error at a byte offset.
type QueryError struct {
	Pos int
	Msg string
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("store: bad query at %d: %s", e.Pos, e.Msg)
}

// Unwrap makes errors.Is(err, ErrBadQuery) hold.
func (e *QueryError) Unwrap() error { return ErrBadQuery }

// Expr is a parsed filter expression: *AndExpr, *OrExpr, *NotExpr or
// *Cond.
type Expr interface {
	String() string
}

// AndExpr holds when both sides do; OrExpr when either does.
type (
	AndExpr struct{ L, R Expr }
	OrExpr  struct{ L, R Expr }
	NotExpr struct{ X Expr }
)

// Cond is one condition: Field alone (Op "") tests presence or truth.
type Cond struct {
	Field Field
	Op    string // "", "=", "!=", "<", "<=", ">", ">=", "~", "!~"
	Value any    // float64, string or bool
}

// Field is what a condition or a sort names: a built-in column (Kind ""
// and Name), or a param, metric or tag (Kind "params", "metrics",
// "tags") and its key.
type Field struct {
	Kind string
	Name string
}

// builtins are the run columns a query names, with their kind of value.
var builtins = map[string]string{
	"id": "text", "name": "text", "project": "text", "status": "status", "message": "text", "parent": "text",
	"start": "time", "end": "time", "updated": "time", "progress": "num", "step": "num",
	"archived": "bool",
}

func (f Field) String() string {
	if f.Kind == "" {
		return f.Name
	}
	if isIdent(f.Name) {
		return f.Kind + "." + f.Name
	}
	return f.Kind + "." + quote(f.Name)
}

// quote writes s as a query's string.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func (e *AndExpr) String() string { return "(" + e.L.String() + " and " + e.R.String() + ")" }
func (e *OrExpr) String() string  { return "(" + e.L.String() + " or " + e.R.String() + ")" }
func (e *NotExpr) String() string { return "not " + e.X.String() }
func (c *Cond) String() string {
	if c.Op == "" {
		return c.Field.String()
	}
	var v string
	switch x := c.Value.(type) {
	case string:
		v = quote(x)
	case float64:
		v = strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		v = strconv.FormatBool(x)
	}
	return c.Field.String() + " " + c.Op + " " + v
}

// ParseField parses a column or sort name: a built-in column,
// params.KEY, metrics.KEY or tags.KEY (a key quoted if it holds other
// characters).
func ParseField(s string) (Field, error) {
	if !StorableText(s) {
		return Field{}, &QueryError{Msg: "not valid UTF-8, or holds a NUL byte"}
	}
	p := &parser{src: s}
	p.next()
	f, err := p.field()
	if err != nil {
		return Field{}, err
	}
	if p.tok.kind != tEOF {
		return Field{}, p.errf("unexpected %s after the field", p.tok)
	}
	return f, nil
}

// ParseQuery parses a filter expression; "" (or only spaces) is nil, which
// selects every run.
func ParseQuery(s string) (Expr, error) {
	if len(s) > MaxQueryLen {
		return nil, &QueryError{Pos: MaxQueryLen, Msg: fmt.Sprintf("longer than %d bytes", MaxQueryLen)}
	}
	if !StorableText(s) {
		return nil, &QueryError{Msg: "not valid UTF-8, or holds a NUL byte"}
	}
	p := &parser{src: s}
	p.next()
	if p.tok.kind == tEOF {
		return nil, p.err
	}
	e, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.errf("unexpected %s", p.tok)
	}
	return e, nil
}

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tOp
	tLParen
	tRParen
	tBad
)

type token struct {
	kind tokKind
	text string // ident, op, or the string's value
	num  float64
	pos  int
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of query"
	case tString:
		return strconv.Quote(t.text)
	case tLParen:
		return `"("`
	case tRParen:
		return `")"`
	}
	return strconv.Quote(t.text)
}

type parser struct {
	src   string
	pos   int
	tok   token
	err   error // a lexing error, reported at the next use
	terms int
}

func (p *parser) errf(format string, a ...any) error {
	if p.err != nil {
		return p.err
	}
	return &QueryError{Pos: p.tok.pos, Msg: fmt.Sprintf(format, a...)}
}

func isIdentByte(c byte, first bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		return true
	case c >= '0' && c <= '9', c == '.', c == '-', c == '/', c == ':':
		return !first
	}
	return false
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isIdentByte(s[i], i == 0) {
			return false
		}
	}
	switch strings.ToLower(s) {
	case "and", "or", "not", "true", "false":
		return false
	}
	return true
}

// next reads the next token into p.tok.
func (p *parser) next() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n' || p.src[p.pos] == '\r') {
		p.pos++
	}
	start := p.pos
	p.tok = token{pos: start}
	if p.pos >= len(p.src) {
		p.tok.kind = tEOF
		return
	}
	c := p.src[p.pos]
	switch {
	case c == '(':
		p.pos++
		p.tok.kind = tLParen
	case c == ')':
		p.pos++
		p.tok.kind = tRParen
	case c == '"':
		p.lexString(start)
	case c >= '0' && c <= '9' || (c == '-' || c == '+' || c == '.') && p.pos+1 < len(p.src) && (p.src[p.pos+1] >= '0' && p.src[p.pos+1] <= '9' || p.src[p.pos+1] == '.'):
		p.lexNumber(start)
	case isIdentByte(c, true):
		for p.pos < len(p.src) && isIdentByte(p.src[p.pos], false) {
			p.pos++
		}
		p.tok.kind, p.tok.text = tIdent, p.src[start:p.pos]
	case c == '=' || c == '~':
		p.pos++
		p.tok.kind, p.tok.text = tOp, string(c)
	case c == '!' || c == '<' || c == '>':
		p.pos++
		if p.pos < len(p.src) && (p.src[p.pos] == '=' || c == '!' && p.src[p.pos] == '~') {
			p.pos++
		}
		p.tok.kind, p.tok.text = tOp, p.src[start:p.pos]
		if p.tok.text == "!" {
			p.bad(start, `"!" is "!=" or "!~" (negation is "not")`)
		}
	default:
		r, _ := utf8.DecodeRuneInString(p.src[p.pos:])
		p.bad(start, fmt.Sprintf("unexpected character %q", r))
	}
}

// lexString reads a quoted string (escapes: \" and \\) starting at
// start into p.tok.
func (p *parser) lexString(start int) {
	p.pos++
	var b strings.Builder
	for {
		if p.pos >= len(p.src) {
			p.bad(start, "unterminated string")
			return
		}
		c := p.src[p.pos]
		if c == '"' {
			p.pos++
			break
		}
		if c == '\\' {
			if p.pos+1 >= len(p.src) || (p.src[p.pos+1] != '"' && p.src[p.pos+1] != '\\') {
				p.bad(p.pos, `a string escapes only \" and \\`)
				return
			}
			p.pos++
			c = p.src[p.pos]
		}
		b.WriteByte(c)
		p.pos++
	}
	p.tok.kind, p.tok.text = tString, b.String()
}

// lexNumber reads a number (sign, digits, point, exponent) starting at
// start into p.tok.
func (p *parser) lexNumber(start int) {
	p.pos++
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || (c == '-' || c == '+') && (p.src[p.pos-1] == 'e' || p.src[p.pos-1] == 'E') {
			p.pos++
			continue
		}
		break
	}
	text := p.src[start:p.pos]
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		p.bad(start, fmt.Sprintf("bad number %q", text))
		return
	}
	p.tok.kind, p.tok.text, p.tok.num = tNumber, text, f
}

func (p *parser) bad(pos int, msg string) {
	p.tok = token{kind: tBad, pos: pos}
	if p.err == nil {
		p.err = &QueryError{Pos: pos, Msg: msg}
	}
	p.pos = len(p.src)
}

func (p *parser) keyword(w string) bool {
	return p.tok.kind == tIdent && strings.EqualFold(p.tok.text, w)
}

func (p *parser) or(depth int) (Expr, error) {
	l, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		p.next()
		r, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		l = &OrExpr{l, r}
	}
	return l, nil
}

func (p *parser) and(depth int) (Expr, error) {
	l, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		p.next()
		r, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		l = &AndExpr{l, r}
	}
	return l, nil
}

func (p *parser) unary(depth int) (Expr, error) {
	if depth >= MaxQueryDepth {
		return nil, p.errf("nested deeper than %d", MaxQueryDepth)
	}
	switch {
	case p.keyword("not"):
		p.next()
		x, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &NotExpr{x}, nil
	case p.tok.kind == tLParen:
		p.next()
		x, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			return nil, p.errf(`expected ")", found %s`, p.tok)
		}
		p.next()
		return x, nil
	}
	return p.cond()
}

// field parses a field name at p.tok.
func (p *parser) field() (Field, error) {
	if p.tok.kind != tIdent || !isIdent(p.tok.text) {
		return Field{}, p.errf("expected a field (params.KEY, metrics.KEY, tags.KEY, name, status, …), found %s", p.tok)
	}
	text := p.tok.text
	kind, key, dotted := strings.Cut(text, ".")
	if !dotted {
		name := strings.ToLower(text)
		if _, ok := builtins[name]; !ok {
			return Field{}, p.errf("unknown field %q (params.KEY, metrics.KEY, tags.KEY or one of id, name, project, status, message, start, end, updated, progress, step, archived)", text)
		}
		p.next()
		return Field{Name: name}, nil
	}
	kind = strings.ToLower(kind)
	switch kind {
	case "params", "metrics", "tags":
	default:
		return Field{}, p.errf("unknown field %q: a dotted field starts with params., metrics. or tags.", text)
	}
	pos := p.tok.pos
	p.next()
	if key == "" {
		// params."a key"
		if p.tok.kind != tString || p.tok.pos != pos+len(text) {
			return Field{}, p.errf("expected a key after %q", text)
		}
		key = p.tok.text
		p.next()
	}
	if key == "" || len(key) > maxQueryKey {
		return Field{}, &QueryError{Pos: pos, Msg: fmt.Sprintf("a key is 1 to %d bytes", maxQueryKey)}
	}
	return Field{Kind: kind, Name: key}, nil
}

// maxQueryKey bounds a key named in a query.
const maxQueryKey = 1024

func (p *parser) cond() (Expr, error) {
	p.terms++
	if p.terms > MaxQueryTerms {
		return nil, p.errf("more than %d conditions", MaxQueryTerms)
	}
	f, err := p.field()
	if err != nil {
		return nil, err
	}
	c := &Cond{Field: f}
	if p.tok.kind != tOp {
		if err := c.check(); err != nil {
			return nil, err
		}
		return c, nil
	}
	c.Op = p.tok.text
	opPos := p.tok.pos
	p.next()
	switch {
	case p.tok.kind == tNumber:
		c.Value = p.tok.num
	case p.tok.kind == tString:
		c.Value = p.tok.text
	case p.keyword("true"):
		c.Value = true
	case p.keyword("false"):
		c.Value = false
	default:
		return nil, p.errf("expected a value (a number, a \"string\", true or false) after %s, found %s", c.Op, p.tok)
	}
	p.next()
	if err := c.check(); err != nil {
		var qe *QueryError
		if errors.As(err, &qe) {
			qe.Pos = opPos
		}
		return nil, err
	}
	return c, nil
}

// check refuses a condition that compares what cannot be compared so.
func (c *Cond) check() error {
	bad := func(format string, a ...any) error { return &QueryError{Msg: fmt.Sprintf(format, a...)} }
	_, isNum := c.Value.(float64)
	_, isStr := c.Value.(string)
	_, isBool := c.Value.(bool)
	order := c.Op == "<" || c.Op == "<=" || c.Op == ">" || c.Op == ">="
	like := c.Op == "~" || c.Op == "!~"
	switch c.Field.Kind {
	case "tags":
		if c.Op != "" {
			return bad("tags.%s tests presence: write tags.%s or not tags.%s", c.Field.Name, c.Field.Name, c.Field.Name)
		}
		return nil
	case "metrics":
		if c.Op != "" && (!isNum || like) {
			return bad("metrics compare with numbers (= != < <= > >=)")
		}
		return nil
	case "params":
		if like || (order && !isNum) {
			return bad("params compare with = and != (and < <= > >= with numbers)")
		}
		return nil
	}
	if c.Op == "" {
		if builtins[c.Field.Name] != "bool" {
			return bad("%s needs a comparison (%s = …)", c.Field.Name, c.Field.Name)
		}
		return nil
	}
	switch builtins[c.Field.Name] {
	case "text":
		if !isStr {
			return bad("%s compares with a \"string\"", c.Field.Name)
		}
	case "status":
		if !isStr || (c.Op != "=" && c.Op != "!=") {
			return bad(`status compares with = or != and a "status"`)
		}
		if st := Status(c.Value.(string)); !st.Valid() && st != StatusCrashed {
			return bad("unknown status %q", c.Value)
		}
	case "num":
		if !isNum || like {
			return bad("%s compares with a number", c.Field.Name)
		}
	case "time":
		if like || isBool {
			return bad("%s compares with Unix seconds, an RFC 3339 time or a date", c.Field.Name)
		}
		if s, ok := c.Value.(string); ok {
			if _, err := parseQueryTime(s); err != nil {
				return bad("%s: %v", c.Field.Name, err)
			}
		}
	case "bool":
		if !isBool || (c.Op != "=" && c.Op != "!=") {
			return bad("%s compares with = or != and true or false", c.Field.Name)
		}
	}
	return nil
}
