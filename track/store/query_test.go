package store

import (
	"errors"
	"strings"
	"testing"
)

var testDialect = Dialect{Name: "test", True: "1", False: "0", HexByte1: "hex(%s)"}

func TestParseQueryPrints(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{`metrics.loss < 0.1 and params.lr = 0.01 and tags.x and status = "finished" and name ~ "abc"`,
			`((((metrics.loss < 0.1 and params.lr = 0.01) and tags.x) and status = "finished") and name ~ "abc")`},
		{`a.b`, ``},
		{`not (tags.a or tags.b) and archived`, `(not (tags.a or tags.b) and archived)`},
		{`params."a key" != "x \"y\""`, `params."a key" != "x \"y\""`},
		{`params.sys.cpu >= -1e3`, `params.sys.cpu >= -1000`},
		{`   `, `<nil>`},
	} {
		e, err := ParseQuery(c.in)
		if c.out == "" {
			if !errors.Is(err, ErrBadQuery) {
				t.Errorf("%q: %v, want ErrBadQuery", c.in, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		got := "<nil>"
		if e != nil {
			got = e.String()
		}
		if got != c.out {
			t.Errorf("%q prints %q, want %q", c.in, got, c.out)
		}
	}
}

// FuzzParseQuery: any input parses or fails with ErrBadQuery, never
// panics; what parses prints as an expression that parses to the same
// print, and compiles to SQL with one bound argument per placeholder and
// no quote of the input in it.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		`metrics.loss < 0.1 and params.lr = 0.01 and tags.x and status = "finished" and name ~ "abc"`,
		`not (a or b)`, `params."k" = "v\\"`, `start > "2026-01-02"`, `end <= 1.5e9`, `archived != false`,
		`((((tags.a))))`, `status = "crashed" or name !~ "x"`, `params.x = true`, `-1`, `"`, `params.`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseQuery(s)
		if err != nil {
			if !errors.Is(err, ErrBadQuery) {
				t.Fatalf("%q: %v is not ErrBadQuery", s, err)
			}
			return
		}
		if e == nil {
			return
		}
		p := e.String()
		e2, err := ParseQuery(p)
		if err != nil {
			t.Fatalf("%q prints %q, which does not parse: %v", s, p, err)
		}
		if e2.String() != p {
			t.Fatalf("%q prints %q, then %q", s, p, e2.String())
		}
		where, args, err := CompileQuery(testDialect, s)
		if err != nil {
			t.Fatalf("%q parses but does not compile: %v", s, err)
		}
		if n := strings.Count(where, "?"); n != len(args) {
			t.Fatalf("%q: %d placeholders, %d arguments: %s", s, n, len(args), where)
		}
		if strings.ContainsAny(strings.ReplaceAll(where, `'\'`, ""), `"`) {
			t.Fatalf("%q: a double quote reached the SQL: %s", s, where)
		}
	})
}

func TestQueryBounds(t *testing.T) {
	long := strings.Repeat(" ", MaxQueryLen+1)
	if _, err := ParseQuery(long); !errors.Is(err, ErrBadQuery) {
		t.Fatalf("a query over MaxQueryLen: %v", err)
	}
	deep := strings.Repeat("not ", MaxQueryDepth) + "tags.x"
	if _, err := ParseQuery(deep); !errors.Is(err, ErrBadQuery) {
		t.Fatalf("a query over MaxQueryDepth: %v", err)
	}
	if _, err := ParseQuery(strings.Repeat("not ", MaxQueryDepth-1) + "tags.x"); err != nil {
		t.Fatalf("a query at MaxQueryDepth: %v", err)
	}
}
