package main

import (
	"errors"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sigoco/sigoco/pyon"
)

func bigInt(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return n
}

func TestParseLiteralValues(t *testing.T) {
	negZero := math.Copysign(0, -1)
	tests := []struct {
		in   string
		want any
	}{
		{"5", int64(5)},
		{"-5", int64(-5)},
		{"+5", int64(5)},
		{"0", int64(0)},
		{"000", int64(0)},
		{"0x1F", int64(31)},
		{"0X_1f", int64(31)},
		{"0o17", int64(15)},
		{"0b101", int64(5)},
		{"1_000", int64(1000)},
		{"-9223372036854775808", int64(math.MinInt64)},
		{"9223372036854775808", bigInt("9223372036854775808")},
		{"-123456789012345678901234567890", bigInt("-123456789012345678901234567890")},
		{"0xffffffffffffffffff", bigInt("4722366482869645213695")},
		{"5.0", 5.0},
		{"5.", 5.0},
		{".5", 0.5},
		{"1e-3", 1e-3},
		{"1E3", 1000.0},
		{"1_0.2_5e1_0", 10.25e10},
		{"-2.5e+3", -2500.0},
		{"1e999", math.Inf(1)},
		{"inf", math.Inf(1)},
		{"-inf", math.Inf(-1)},
		{"+Infinity", math.Inf(1)},
		{"-0.0", negZero},
		{"True", true},
		{"False", false},
		{"true", true},
		{"false", false},
		{"None", nil},
		{"null", nil},
		{"'abc'", "abc"},
		{`"it's"`, "it's"},
		{`'say "hi"'`, `say "hi"`},
		{`'\'\"\\\n\r\t\a\b\f\v'`, "'\"\\\n\r\t\a\b\f\v"},
		{`'\x41\101\0\u00e9\U0001F600'`, "AA\x00é😀"},
		{`'\d\q'`, `\d\q`},
		{"'a\\\nb'", "ab"},
		{"'é😀'", "é😀"},
		{`r'\d\''`, `\d\'`},
		{`R"\n"`, `\n`},
		{`u'x'`, "x"},
		{"'''a\nb'c'''", "a\nb'c"},
		{`""""""`, ""},
		{`b'ab\x00\xff\101'`, []byte("ab\x00\xffA")},
		{`B"x"`, []byte("x")},
		{`rb'\x00'`, []byte(`\x00`)},
		{`b'\u00e9'`, []byte(`\u00e9`)},
		{"[]", []any{}},
		{"[1, 'a', [2]]", []any{int64(1), "a", []any{int64(2)}}},
		{"[1, 2,]", []any{int64(1), int64(2)}},
		{" [ 1 ,\n 2 ] # comment", []any{int64(1), int64(2)}},
		{"()", pyon.Tuple{}},
		{"(1,)", pyon.Tuple{int64(1)}},
		{"(1, 2)", pyon.Tuple{int64(1), int64(2)}},
		{"(1, 2,)", pyon.Tuple{int64(1), int64(2)}},
		{"(5)", int64(5)},
		{"((1,),)", pyon.Tuple{pyon.Tuple{int64(1)}}},
		{"{}", map[string]any{}},
		{"{'a': 1, 'b': [2]}", map[string]any{"a": int64(1), "b": []any{int64(2)}}},
		{"{'a': 1, 'a': 2}", map[string]any{"a": int64(2)}},
		{"{1: 'x', 'a': None}", pyon.Dict{{Key: int64(1), Value: "x"}, {Key: "a", Value: nil}}},
		{"{(1, 2): 3}", pyon.Dict{{Key: pyon.Tuple{int64(1), int64(2)}, Value: int64(3)}}},
		{"{1: 'a', 1.0: 'b', True: 'c'}", pyon.Dict{{Key: int64(1), Value: "c"}}},
		{"{None: 0, b'k': 1, 2j: 2, 1.5: 3}", pyon.Dict{{Key: nil, Value: int64(0)}, {Key: []byte("k"), Value: int64(1)}, {Key: complex(0, 2), Value: int64(2)}, {Key: 1.5, Value: int64(3)}}},
		{"{1, 2, 1}", pyon.Set{Items: []any{int64(1), int64(2)}}},
		{"{'a', (1,)}", pyon.Set{Items: []any{"a", pyon.Tuple{int64(1)}}}},
		{"set()", pyon.Set{Items: []any{}}},
		{"frozenset()", pyon.Set{Items: []any{}, Frozen: true}},
		{"frozenset({1, 2})", pyon.Set{Items: []any{int64(1), int64(2)}, Frozen: true}},
		{"frozenset([1, 1])", pyon.Set{Items: []any{int64(1)}, Frozen: true}},
		{"{frozenset({1}): 2}", pyon.Dict{{Key: pyon.Set{Items: []any{int64(1)}, Frozen: true}, Value: int64(2)}}},
		{"2j", complex(0, 2)},
		{"2.5J", complex(0, 2.5)},
		{"-2j", complex(0, -2)},
		{"1+2j", complex(1, 2)},
		{"1-2j", complex(1, -2)},
		{"-1.5e1-2.5j", complex(-15, -2.5)},
		{"(1+2j)", complex(1, 2)},
		{"1 + 2j", complex(1, 2)},
		{"[1 + 2j]", []any{complex(1, 2)}},
		{"infj", complex(0, math.Inf(1))},
		{"1-infj", complex(1, math.Inf(-1))},
		{"(-0-1j)", complex(negZero, -1)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseLiteral(tt.in)
			if err != nil {
				t.Fatalf("parseLiteral(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("parseLiteral(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
			if f, ok := tt.want.(float64); ok && math.Signbit(f) != math.Signbit(got.(float64)) {
				t.Fatalf("sign of zero lost")
			}
		})
	}
	// NaN is never equal to itself, so it is checked apart.
	for _, in := range []string{"nan", "-nan", "NaN"} {
		got, err := parseLiteral(in)
		if f, ok := got.(float64); err != nil || !ok || !math.IsNaN(f) {
			t.Errorf("parseLiteral(%q) = %v, %v; want NaN", in, got, err)
		}
	}
	got, err := parseLiteral("{nan, nan}")
	if s, ok := got.(pyon.Set); err != nil || !ok || len(s.Items) != 2 {
		t.Errorf("{nan, nan} = %v, %v; want a set of two NaNs", got, err)
	}
}

// TestParseLiteralErrors covers every message the parser can give.
func TestParseLiteralErrors(t *testing.T) {
	deep := strings.Repeat("[", maxDepth+2) + strings.Repeat("]", maxDepth+2)
	tests := []struct{ in, want string }{
		{"", "literal: empty input at column 1"},
		{"  # only a comment", "literal: empty input at column 19"},
		{"'\xff'", "literal: invalid UTF-8 at column 2"},
		{"[1, 2", "literal: unexpected end of input at column 6; '[' at column 1 is not closed"},
		{"(1, 2", "literal: unexpected end of input at column 6; '(' at column 1 is not closed"},
		{"{1: 2", "literal: unexpected end of input at column 6; '{' at column 1 is not closed"},
		{"[1,", "literal: unexpected end of input at column 4"},
		{"[1, 2, ]]", "literal: unexpected ']' at column 9"},
		{"[1 2]", "literal: unexpected '2' at column 4; expected ',' or ']'"},
		{"(1 2)", "literal: unexpected '2' at column 4; expected ',' or ')'"},
		{"{1, 2 3}", "literal: unexpected '3' at column 7; expected ',' or '}'"},
		{"[1, , 2]", "literal: unexpected ',' at column 5"},
		{"3 * 4", "literal: unexpected '*' at column 3; expressions are not evaluated"},
		{"1 2", "literal: unexpected '2' at column 3"},
		{"]", "literal: unexpected ']' at column 1"},
		{"€", "literal: unexpected '€' at column 1"},
		{deep, "literal: nesting deeper than 200 at column 202"},
		{"{[1]: 2}", "literal: unhashable list as dict key at column 2"},
		{"{1: 2, {}: 3}", "literal: unhashable dict as dict key at column 8"},
		{"{(1, [2]): 3}", "literal: unhashable tuple as dict key at column 2"},
		{"{1, {2}}", "literal: unhashable set in set at column 5"},
		{"{1: 2, 3}", "literal: unexpected '}' at column 9; expected ':' after a dict key"},
		{"f'x'", "literal: f-strings are not literals at column 1"},
		{"set([1])", "literal: set(...) takes no argument here at column 1; write a set as {1, 2}"},
		{"frozenset(1)", "literal: frozenset() needs a set, list or tuple at column 11"},
		{"frozenset({'a': 1})", "literal: frozenset() needs a set, list or tuple at column 11"},
		{"frozenset([[1]])", "literal: unhashable list in set at column 11"},
		{"frozenset([1]", "literal: unexpected end of input at column 14; '(' at column 10 is not closed"},
		{"frozenset([1] x", "literal: unexpected 'x' at column 15; expected ')'"},
		{"foo", `literal: bare word foo is not a literal at column 1; to pass it as a string, quote it: "foo"`},
		{"[1, x]", `literal: bare word x is not a literal at column 5; to pass it as a string, quote it: "x"`},
		{"np.array([1])", "literal: bare word np is not a literal at column 1; names, calls and expressions are not evaluated"},
		{"float('inf')", "literal: bare word float is not a literal at column 1; names, calls and expressions are not evaluated"},
		{"-x", "literal: unexpected '-' at column 1; expressions are not evaluated"},
		{"-", "literal: unexpected '-' at column 1; expressions are not evaluated"},
		{"- 5", "literal: unexpected '-' at column 1; expressions are not evaluated"},
		{"1+2", "literal: unexpected '+' at column 2; expected an imaginary number like 2j (expressions are not evaluated)"},
		{"1+x", "literal: unexpected '+' at column 2; expected an imaginary number like 2j (expressions are not evaluated)"},
		{"1+", "literal: unexpected '+' at column 2; expected an imaginary number like 2j (expressions are not evaluated)"},
		{"1+2x", `literal: invalid number "2x" at column 3`},
		{"0x", `literal: invalid number "0x" at column 1`},
		{"0o9", `literal: invalid number "0o9" at column 1`},
		{"0b2", `literal: invalid number "0b2" at column 1`},
		{"0x1j", `literal: invalid number "0x1j" at column 1`},
		{"1__0", `literal: invalid number "1__0" at column 1`},
		{"1_", `literal: invalid number "1_" at column 1`},
		{"1_.5", `literal: invalid number "1_.5" at column 1`},
		{"1e", `literal: invalid number "1e" at column 1`},
		{"1.2.3", `literal: invalid number "1.2.3" at column 1`},
		{".", `literal: invalid number "." at column 1`},
		{"5abc", `literal: invalid number "5abc" at column 1`},
		{"007", `literal: leading zeros in decimal integer "007" at column 1; write 0o7 for octal`},
		{"'abc", "literal: unterminated string at column 1"},
		{"'ab\ncd'", "literal: unterminated string at line 1, column 1"},
		{`'ab\`, "literal: unterminated string at column 1"},
		{`r'ab\`, "literal: unterminated string at column 1"},
		{"'''abc''", "literal: unterminated string at column 1"},
		{"b'é'", "literal: non-ASCII character in bytes at column 3; use \\x escapes"},
		{"rb'\\é'", "literal: non-ASCII character in bytes at column 5; use \\x escapes"},
		{`'\x4'`, `literal: invalid \x escape: needs 2 hex digits at column 2`},
		{`'\xg0'`, `literal: invalid \x escape: needs 2 hex digits at column 2`},
		{`'\u12'`, `literal: invalid \u escape: needs 4 hex digits at column 2`},
		{`'\U0000001'`, `literal: invalid \U escape: needs 8 hex digits at column 2`},
		{`'\ud800'`, `literal: \u escape d800 is not a valid character at column 2`},
		{`'\U00110000'`, `literal: \U escape 00110000 is not a valid character at column 2`},
		{`b'\777'`, "literal: octal escape out of range for bytes at column 3"},
		{`'\N{BULLET}'`, `literal: \N{...} escapes are not supported at column 2; use \u or the character itself`},
		{"[\n1,\n 2 x]", "literal: unexpected 'x' at line 3, column 4; expected ',' or ']'"},
	}
	for _, tt := range tests {
		name := tt.in
		if len(name) > 30 {
			name = name[:30]
		}
		t.Run(name, func(t *testing.T) {
			v, err := parseLiteral(tt.in)
			if err == nil {
				t.Fatalf("parseLiteral(%q) = %#v, want error %q", tt.in, v, tt.want)
			}
			var le *literalError
			if !errors.As(err, &le) {
				t.Fatalf("error %T is not a *literalError", err)
			}
			if err.Error() != tt.want {
				t.Fatalf("parseLiteral(%q)\n got error %q\nwant error %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestParseCallArgs(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.txt")
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(good, []byte("# weights\n[1, 2,\n 3]\n"), 0o600)
	os.WriteFile(bad, []byte("[1,\n 2 x]"), 0o600)

	a, err := parseCallArgs([]string{"-5", "'x'", "@" + good, "db=3", "name=@-"}, strings.NewReader(`"from stdin"`))
	if err != nil {
		t.Fatal(err)
	}
	wantPos := []any{int64(-5), "x", []any{int64(1), int64(2), int64(3)}}
	wantKw := map[string]any{"db": int64(3), "name": "from stdin"}
	if !reflect.DeepEqual(a.pos, wantPos) || !reflect.DeepEqual(a.kw, wantKw) {
		t.Fatalf("got %#v %#v", a.pos, a.kw)
	}
	if got := a.values(func(m map[string]any) any { return len(m) }); len(got) != 4 || got[3] != 2 {
		t.Fatalf("values() = %v", got)
	}
	if a, _ := parseCallArgs([]string{"'a=b'", "x==1"}, nil); a.kw != nil {
		// x==1 is not a keyword argument; it fails as a literal.
		t.Fatalf("'a=b' taken as keyword: %v", a.kw)
	}

	errTests := []struct {
		args    []string
		stdin   string
		want    string
		pointer string
	}{
		{[]string{"[1, 2, ]]"}, "", "argument 1: literal: unexpected ']' at column 9", "  [1, 2, ]]\n          ^"},
		{[]string{"1", "db=foo"}, "", `keyword argument db: literal: bare word foo is not a literal at column 1; to pass it as a string, quote it: "foo" (in a shell: '"foo"')`, "  foo\n  ^"},
		{[]string{"a=1", "2"}, "", "argument 2: positional argument follows keyword argument", ""},
		{[]string{"a=1", "a=2"}, "", "keyword argument a: given twice", ""},
		{[]string{"@" + bad}, "", "argument 1 (@" + bad + "): literal: unexpected 'x' at line 2, column 4; expected ',' or ']'", "   2 x]\n     ^"},
		{[]string{"@" + filepath.Join(dir, "missing")}, "", "argument 1 (@" + filepath.Join(dir, "missing") + "): open " + filepath.Join(dir, "missing") + ": no such file or directory", ""},
		{[]string{"@"}, "", "argument 1 (@): @ needs a file name (@path, or @- for standard input)", ""},
		{[]string{"@-", "@-"}, "1", "argument 2 (@-): standard input was already read by an earlier @-", ""},
		{[]string{"@-"}, "", "argument 1 (@-): literal: empty input at column 1", ""},
	}
	for _, tt := range errTests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := parseCallArgs(tt.args, strings.NewReader(tt.stdin))
			var ae *argError
			if !errors.As(err, &ae) {
				t.Fatalf("got %v, want an *argError", err)
			}
			if err.Error() != tt.want {
				t.Fatalf("got  %q\nwant %q", err, tt.want)
			}
			if p := ae.pointer(); p != tt.pointer {
				t.Fatalf("pointer:\n%s\nwant:\n%s", p, tt.pointer)
			}
		})
	}
	if _, err := parseCallArgs([]string{"@-"}, nil); err == nil || !strings.Contains(err.Error(), "standard input is not available here") {
		t.Fatalf("@- without stdin: %v", err)
	}
}

// FuzzParseLiteral checks that the parser never panics and that whatever
// it accepts prints (repr) as a literal that parses back to the same value.
func FuzzParseLiteral(f *testing.F) {
	for _, s := range []string{
		"5", "-5", "0x1F", "0o17", "0b101", "1_000", "5.0", "1e-3", "inf", "-nan",
		"True", "null", "'a\\n\\x00\\u00e9'", `"it's"`, "r'\\d'", "b'\\xff'",
		"[1, [2, (3,)], {'a': {1: 2}}]", "{1, 2.5, 'x', b'y', (1, 2)}", "set()",
		"frozenset({1})", "1+2j", "(-0-1j)", "2j", "'''a\nb'''", "{(): frozenset()}",
		"[1 2]", "3 * 4", "foo", "'abc", "007", "{[1]: 2}", "1e999", "[[[[[[]]]]]]",
		"123456789012345678901234567890", "{'b': 1, 'a': 2}", "\t[\n1 # c\n]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseLiteral(s)
		if err != nil {
			var le *literalError
			if !errors.As(err, &le) {
				t.Fatalf("error %T is not a *literalError: %v", err, err)
			}
			if le.Offset < 0 || le.Offset > len(s) || le.Col < 1 || le.Line < 1 {
				t.Fatalf("bad position in %v", le)
			}
			return
		}
		r := pyon.Repr(v)
		v2, err := parseLiteral(r)
		if err != nil {
			t.Fatalf("repr %q of %q does not parse: %v", r, s, err)
		}
		if r2 := pyon.Repr(v2); r2 != r {
			t.Fatalf("round trip of %q: %q then %q", s, r, r2)
		}
		// The multi-line layout must parse back too.
		if p := (printer{width: 10}).format(v); p != r {
			v3, err := parseLiteral(p)
			if err != nil || pyon.Repr(v3) != r {
				t.Fatalf("pretty form %q of %q does not round-trip: %v", p, s, err)
			}
		}
	})
}
