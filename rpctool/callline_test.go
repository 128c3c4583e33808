package main

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/sigoco/sigoco/pyon"
)

func TestParseLine(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "v.txt")
	os.WriteFile(file, []byte("[1, 2]"), 0o600)
	tests := []struct {
		line    string
		want    lineCmd
		err     string
		pointer string
	}{
		{line: "", want: lineCmd{}},
		{line: "   # comment", want: lineCmd{}},
		{line: "ping", want: lineCmd{name: "ping"}},
		{line: "ping()", want: lineCmd{name: "ping"}},
		{line: "add(1, 2)", want: lineCmd{name: "add", args: callArgs{pos: []any{int64(1), int64(2)}}}},
		{line: "add (1, -2,) # sum", want: lineCmd{name: "add", args: callArgs{pos: []any{int64(1), int64(-2)}}}},
		{line: "set_attenuation(5, db = 3)", want: lineCmd{name: "set_attenuation", args: callArgs{pos: []any{int64(5)}, kw: map[string]any{"db": int64(3)}}}},
		{line: "set_attenuation 5 db=3", want: lineCmd{name: "set_attenuation", args: callArgs{pos: []any{int64(5)}, kw: map[string]any{"db": int64(3)}}}},
		{line: "add 1 -2", want: lineCmd{name: "add", args: callArgs{pos: []any{int64(1), int64(-2)}}}},
		{line: "echo 1+2j (1, 'a b') {'k': [1, 2]}", want: lineCmd{name: "echo", args: callArgs{pos: []any{complex(1, 2), pyon.Tuple{int64(1), "a b"}, map[string]any{"k": []any{int64(1), int64(2)}}}}}},
		{line: "echo(1 + 2j)", want: lineCmd{name: "echo", args: callArgs{pos: []any{complex(1, 2)}}}},
		{line: "echo @" + file + " v=@" + file, want: lineCmd{name: "echo", args: callArgs{pos: []any{[]any{int64(1), int64(2)}}, kw: map[string]any{"v": []any{int64(1), int64(2)}}}}},
		{line: "help", want: lineCmd{name: "help", builtin: true}},
		{line: "help add  # doc", want: lineCmd{name: "help", builtin: true, words: []string{"add"}}},
		{line: "target aux", want: lineCmd{name: "target", builtin: true, words: []string{"aux"}}},
		{line: "help()", want: lineCmd{name: "help"}},
		{line: "quit", want: lineCmd{name: "quit", builtin: true}},
		{line: "5", err: "literal: expected a method name or command at column 1; type help for help", pointer: "  5\n  ^"},
		{line: "'x'", err: "literal: expected a method name or command at column 1; type help for help"},
		{line: "foo.bar(1)", err: "literal: unexpected '.' at column 4"},
		{line: "add(1, 2", err: "argument 2: literal: unexpected end of input at column 9; '(' at column 4 is not closed"},
		{line: "add(1 2)", err: "argument 1: literal: unexpected '2' at column 7; expected ',' or ')'", pointer: "  add(1 2)\n        ^"},
		{line: "add(1) x", err: "literal: unexpected 'x' at column 8"},
		{line: "add(x=1, 2)", err: "argument 2: positional argument follows keyword argument"},
		{line: "add(x=1, x=2)", err: "keyword argument x: given twice"},
		{line: "add 1,2", err: "argument 1: literal: unexpected ',' at column 6; separate arguments with blanks, or call as method(a, b)"},
		{line: "add x= 1", err: "keyword argument x: literal: missing value at column 7; a keyword argument needs a value: NAME=VALUE"},
		{line: "add x=", err: "keyword argument x: literal: unexpected end of input at column 7; a keyword argument needs a value: NAME=VALUE"},
		{line: "echo hello", err: `argument 1: literal: bare word hello is not a literal at column 6; to pass it as a string, quote it: "hello"`, pointer: "  echo hello\n       ^"},
		{line: "echo @", err: "argument 1 (@): @ needs a file name (@path, or @- for standard input)"},
		{line: "echo @-", err: "argument 1 (@-): standard input is not available here"},
		{line: "echo \xff", err: "literal: invalid UTF-8 at column 6"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, err := parseLine(tt.line, &argReader{})
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("got %+v, %v\nwant error %q", got, err, tt.err)
				}
				if tt.pointer != "" {
					if ae, ok := err.(*argError); !ok || ae.pointer() != tt.pointer {
						t.Fatalf("pointer of %v:\n%v\nwant\n%s", err, err.(*argError).pointer(), tt.pointer)
					}
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, %v\nwant %+v", got, err, tt.want)
			}
		})
	}
}

// FuzzParseLine checks that no interactive line makes the parser panic and
// that every error carries a position inside the line.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"add(1, 2)", "set_attenuation 5 db=3", "help add", "echo [1, 2] {'a': (1,)}",
		"add(x=1, 2)", "add 1,2", "echo(1 + 2j)", "f(", "x=", "add x=", "5", "target aux # c", "echo @-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		_, err := parseLine(line, &argReader{})
		if err == nil {
			return
		}
		var le *literalError
		if errors.As(err, &le) && (le.Offset < 0 || le.Offset > len(line)) {
			t.Fatalf("error position %d outside the line: %v", le.Offset, err)
		}
		if ae, ok := err.(*argError); ok {
			_ = ae.pointer()
		}
	})
}
