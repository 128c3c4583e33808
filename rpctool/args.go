package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// callArgs are the arguments of one call as typed by the user.
type callArgs struct {
	pos []any
	kw  map[string]any // nil when there is none
}

// values returns the arguments for rpc.Client.Call: the positional ones,
// then the keyword ones as a trailing rpc.Kwargs.
func (a callArgs) values(kwargs func(map[string]any) any) []any {
	out := append([]any(nil), a.pos...)
	if len(a.kw) > 0 {
		out = append(out, kwargs(a.kw))
	}
	return out
}

// argError is an argument that could not be read.
type argError struct {
	Index  int    // 1-based position among the arguments
	Name   string // keyword name, "" for a positional argument
	File   string // "@path" the literal came from, "" if typed inline
	Source string // the literal text, for pointing at the error
	Err    error  // *literalError or an I/O error
	Hint   string // added to the message, may be ""
}

func (e *argError) Error() string {
	what := fmt.Sprintf("argument %d", e.Index)
	if e.Name != "" {
		what = fmt.Sprintf("keyword argument %s", e.Name)
	}
	if e.File != "" {
		what += " (" + e.File + ")"
	}
	msg := e.Err.Error()
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	if e.Index == 0 && e.Name == "" {
		return msg // the line as a whole, not one argument
	}
	return what + ": " + msg
}

func (e *argError) Unwrap() error { return e.Err }

// pointer returns the offending line of the literal with a caret under the
// error position, or "" when there is nothing useful to show.
func (e *argError) pointer() string {
	var le *literalError
	if !errors.As(e.Err, &le) {
		return ""
	}
	return caret(e.Source, le)
}

func caret(src string, le *literalError) string {
	lines := strings.Split(src, "\n")
	if le.Line < 1 || le.Line > len(lines) {
		return ""
	}
	line := strings.ReplaceAll(lines[le.Line-1], "\t", " ")
	if len(line) > 200 || strings.TrimSpace(line) == "" {
		return ""
	}
	return "  " + line + "\n  " + strings.Repeat(" ", le.Col-1) + "^"
}

// kwName returns NAME for a "NAME=..." token: a Python identifier followed
// by a single '='.
func kwName(tok string) (string, bool) {
	i := 0
	for i < len(tok) && (isIdentStart(tok[i]) || (i > 0 && isDigit(tok[i]))) {
		i++
	}
	if i == 0 || i >= len(tok) || tok[i] != '=' || strings.HasPrefix(tok[i:], "==") {
		return "", false
	}
	return tok[:i], true
}

// argReader reads argument literals, from the token or from "@path"
// ("@-": standard input, which can be read once).
type argReader struct {
	stdin     io.Reader // nil: "@-" is refused
	stdinUsed bool
	shell     bool // the words came through a shell: hints say how to quote there
}

func (r *argReader) literal(index int, name, tok string) (any, error) {
	src, file := tok, ""
	if strings.HasPrefix(tok, "@") {
		file = tok
		var b []byte
		var err error
		switch path := tok[1:]; {
		case path == "-" && r.stdin == nil:
			err = errors.New("standard input is not available here")
		case path == "-" && r.stdinUsed:
			err = errors.New("standard input was already read by an earlier @-")
		case path == "-":
			r.stdinUsed = true
			b, err = io.ReadAll(r.stdin)
		case path == "":
			err = errors.New("@ needs a file name (@path, or @- for standard input)")
		default:
			b, err = os.ReadFile(path)
		}
		if err != nil {
			return nil, &argError{Index: index, Name: name, File: file, Err: err}
		}
		src = string(b)
	}
	v, err := parseLiteral(src)
	if err != nil {
		if r.shell && file == "" {
			withShellHint(err)
		}
		return nil, &argError{Index: index, Name: name, File: file, Source: src, Err: err}
	}
	return v, nil
}

// parseCallArgs reads command-line arguments: literals, then NAME=literal
// keyword arguments.
func parseCallArgs(tokens []string, stdin io.Reader) (callArgs, error) {
	r := &argReader{stdin: stdin, shell: true}
	var a callArgs
	for i, tok := range tokens {
		if name, ok := kwName(tok); ok {
			if _, dup := a.kw[name]; dup {
				return a, &argError{Index: i + 1, Name: name, Err: errors.New("given twice")}
			}
			v, err := r.literal(i+1, name, tok[len(name)+1:])
			if err != nil {
				return a, err
			}
			if a.kw == nil {
				a.kw = map[string]any{}
			}
			a.kw[name] = v
			continue
		}
		if a.kw != nil {
			return a, &argError{Index: i + 1, Err: errors.New("positional argument follows keyword argument")}
		}
		v, err := r.literal(i+1, "", tok)
		if err != nil {
			var ae *argError
			if len(tok) > 1 && tok[0] == '-' && (isIdentStart(tok[1]) || tok[1] == '-') && errors.As(err, &ae) {
				ae.Hint = "flags go before METHOD: after it every word is an argument"
			}
			return a, err
		}
		a.pos = append(a.pos, v)
	}
	return a, nil
}
