package main

import (
	"errors"
	"strconv"
	"strings"
)

// An interactive line is a call in Python style, "set_attenuation(5,
// db=3)", or shell style, "set_attenuation 5 db=3", or a built-in command
// ("help add"). A built-in name followed by "(" is a call, so a remote
// method named help stays reachable as help().

var builtins = []string{"exit", "help", "methods", "quit", "target", "targets"}

func isBuiltin(w string) bool {
	for _, b := range builtins {
		if b == w {
			return true
		}
	}
	return false
}

// lineCmd is one parsed line; name is "" for a blank line or comment.
type lineCmd struct {
	name    string
	builtin bool
	words   []string // arguments of a built-in
	args    callArgs // arguments of a call
}

func parseLine(line string, r *argReader) (lineCmd, error) {
	p := newLitParser(line)
	if err := p.checkUTF8(); err != nil {
		return lineCmd{}, &argError{Index: 0, Source: line, Err: err}
	}
	p.skipBlanks()
	if p.eof() || p.peek() == '#' {
		return lineCmd{}, nil
	}
	start := p.pos
	for p.pos < len(line) && isIdentChar(line[p.pos]) {
		p.pos++
	}
	if p.pos == start || isDigit(line[start]) {
		return lineCmd{}, &argError{Source: line, Err: p.errAt(start, "expected a method name or command", "type help for help")}
	}
	cmd := lineCmd{name: line[start:p.pos]}
	p.skipBlanks()
	switch {
	case p.peek() == '(':
		p.pos++
		return cmd, p.parenArgs(&cmd.args, line)
	case isBuiltin(cmd.name):
		cmd.builtin = true
		rest, _, _ := strings.Cut(line[p.pos:], "#")
		if w := strings.Fields(rest); len(w) > 0 {
			cmd.words = w
		}
		return cmd, nil
	case !p.eof() && p.peek() != ' ' && p.peek() != '\t' && p.pos == start+len(cmd.name):
		return cmd, &argError{Source: line, Err: p.unexpected(p.pos, "")}
	}
	return cmd, p.shellArgs(&cmd.args, line, r)
}

// kwAt returns the keyword name at p.pos ("db" in "db=3", "db = 3") and
// moves past the '=', or returns "" and leaves p.pos alone.
func (p *litParser) kwAt(allowBlanks bool) string {
	i := p.pos
	for i < len(p.src) && isIdentChar(p.src[i]) {
		i++
	}
	if i == p.pos || isDigit(p.src[p.pos]) {
		return ""
	}
	j := i
	if allowBlanks {
		for j < len(p.src) && (p.src[j] == ' ' || p.src[j] == '\t') {
			j++
		}
	}
	if j >= len(p.src) || p.src[j] != '=' || strings.HasPrefix(p.src[j:], "==") {
		return ""
	}
	name := p.src[p.pos:i]
	p.pos = j + 1
	return name
}

func addArg(a *callArgs, index int, name string, v any, line string) error {
	if name == "" {
		if a.kw != nil {
			return &argError{Index: index, Source: line, Err: errors.New("positional argument follows keyword argument")}
		}
		a.pos = append(a.pos, v)
		return nil
	}
	if _, dup := a.kw[name]; dup {
		return &argError{Index: index, Name: name, Source: line, Err: errors.New("given twice")}
	}
	if a.kw == nil {
		a.kw = map[string]any{}
	}
	a.kw[name] = v
	return nil
}

// parenArgs reads "5, db=3)" and what may follow it (blanks, a comment).
func (p *litParser) parenArgs(a *callArgs, line string) error {
	open := p.pos - 1
	for index := 1; ; index++ {
		p.skipSpace()
		if p.peek() == ')' {
			p.pos++
			break
		}
		name := p.kwAt(true)
		v, err := p.value(1)
		if err != nil {
			return &argError{Index: index, Name: name, Source: line, Err: err}
		}
		if err := addArg(a, index, name, v, line); err != nil {
			return err
		}
		p.skipSpace()
		if p.peek() == ',' {
			p.pos++
			continue
		}
		if p.peek() == ')' {
			p.pos++
			break
		}
		hint := "expected ',' or ')'"
		if p.eof() {
			hint = "'(' at column " + strconv.Itoa(p.errAt(open, "", "").Col) + " is not closed"
		}
		return &argError{Index: index, Name: name, Source: line, Err: p.unexpected(p.pos, hint)}
	}
	p.skipSpace()
	if !p.eof() {
		return &argError{Source: line, Err: p.unexpected(p.pos, "")}
	}
	return nil
}

// shellArgs reads blank-separated literals, NAME=literal and @file words.
func (p *litParser) shellArgs(a *callArgs, line string, r *argReader) error {
	p.spaceSeparated = true
	for index := 1; ; index++ {
		p.skipBlanks()
		if p.eof() || p.peek() == '#' {
			return nil
		}
		name := p.kwAt(false)
		var v any
		if p.peek() == '@' {
			start := p.pos
			for p.pos < len(p.src) && p.src[p.pos] != ' ' && p.src[p.pos] != '\t' {
				p.pos++
			}
			var err error
			if v, err = r.literal(index, name, p.src[start:p.pos]); err != nil {
				return err
			}
		} else {
			var err error
			if p.eof() || p.peek() == ' ' || p.peek() == '\t' {
				err = p.unexpected(p.pos, "a keyword argument needs a value: NAME=VALUE")
				if !p.eof() {
					err = p.errAt(p.pos, "missing value", "a keyword argument needs a value: NAME=VALUE")
				}
			} else {
				v, err = p.value(0)
			}
			if err == nil && !p.eof() && p.peek() != ' ' && p.peek() != '\t' {
				err = p.unexpected(p.pos, "separate arguments with blanks, or call as method(a, b)")
			}
			if err != nil {
				return &argError{Index: index, Name: name, Source: line, Err: err}
			}
		}
		if err := addArg(a, index, name, v, line); err != nil {
			return err
		}
	}
}
