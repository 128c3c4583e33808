package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestReorderArgs(t *testing.T) {
	app := (&tool{env: &env{}}).newApp()
	cases := []struct{ in, want, err string }{
		{"::1 3253 call -t lda set_attenuation 5", "call -t lda -- [::1]:3253 set_attenuation 5", ""},
		{"[::1]:3253 list-targets", "list-targets -- [::1]:3253", ""},
		{"[::1] 3253", "interactive -- [::1]:3253", ""},
		{"localhost:3253", "interactive -- localhost:3253", ""},
		{"--json localhost 3253 call add -5 3", "--json call -- localhost:3253 add -5 3", ""},
		{"localhost 3253 call --json -t x add -5 --json", "--json call -t x -- localhost:3253 add -5 --json", ""},
		{"localhost 3253 --timeout 5s call add 1", "--timeout 5s call -- localhost:3253 add 1", ""},
		{"localhost 3253 --timeout=5s call add 1", "--timeout=5s call -- localhost:3253 add 1", ""},
		{"-t dev localhost 3253 list-methods", "list-methods -t dev -- localhost:3253", ""},
		{"localhost 3253 list-methods add -t dev echo -o json", "-o json list-methods -t dev -- localhost:3253 add echo", ""},
		{"localhost 3253 call -- -t add", "call -- localhost:3253 -t add", ""},
		{"--ssl c k p box 1 list-targets", "--ssl c --ssl k --ssl p list-targets -- box:1", ""},
		{"box 1 interactive --bogus", "interactive --bogus -- box:1", ""},
		{"--bogus box 1", "--bogus interactive -- box:1", ""},
		{"completion bash", "completion bash", ""},
		{"--json help call", "--json help call", ""},
		{"call --help", "call --help", ""},
		{"--help", "--help", ""},
		{"", "", ""},
		{"box", "", `missing PORT after HOST "box"`},
		{"box:0 call x", "", `invalid port "0" in "box:0"`},
		{"box 70000 call x", "", `invalid PORT "70000"`},
		{"box 1 frob", "", `unknown command "frob"`},
		{"call box 1 add", "", "HOST PORT come before the command"},
		{"box 1 --ssl a b", "", "--ssl takes three files"},
		{"--ssl=a box 1", "", "--ssl takes three files"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			args := append([]string{"rpctool"}, strings.Fields(c.in)...)
			got, err := reorderArgs(args, app)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %q, %v; want error %q", got, err, c.err)
				}
				if exitCode(err) != exitUsage {
					t.Fatalf("exit code %d for %v", exitCode(err), err)
				}
				return
			}
			want := append([]string{"rpctool"}, strings.Fields(c.want)...)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("got %q, %v\nwant %q", got, err, want)
			}
		})
	}
}
