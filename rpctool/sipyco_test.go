package main

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/sigoco/sigoco/internal/sipycotest"
	"github.com/sigoco/sigoco/rpc"
	"github.com/sigoco/sigoco/wire"
)

// startSiPyCoOnly serves the attenuator as "dev" the way a Python
// controller would: SiPyCo's banner only, any other closed without a word.
func startSiPyCoOnly(t *testing.T) string {
	t.Helper()
	srv, err := rpc.NewServer(map[string]any{"dev": &attenuator{}}, rpc.ServerOptions{Description: "python-like"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		srv.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := wire.NewConn(nc)
				if line, err := wire.PeekLine(c.R); err != nil || line != wire.BannerSiPyCoRPC {
					nc.Close()
					return
				}
				srv.ServeConn(context.Background(), c)
			}()
		}
	}()
	return ln.Addr().String()
}

const fallbackNote = "speaking SiPyCo's pc_rpc"

func TestSiPyCoServer(t *testing.T) {
	addr := startSiPyCoOnly(t)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string // in order
		stderr string   // a part; "" for an empty stderr
	}{
		{"fallback noted", []string{addr, "call", "add", "1", "2"}, exitOK, []string{"3"}, fallbackNote},
		{"--sipyco", []string{"--sipyco", addr, "call", "add", "1", "2"}, exitOK, []string{"3"}, ""},
		{"--json without a note", []string{"--json", addr, "call", "add", "1", "2"}, exitOK, []string{"3"}, ""},
		{"list-targets", []string{"--sipyco", addr, "list-targets"}, exitOK, []string{"Target(s):   dev", "Description: python-like"}, ""},
		{"list-methods", []string{"--sipyco", addr, "list-methods"}, exitOK, []string{
			"Attenuator used by the rpctool tests.",
			"add(self, x: 'int', y: 'int') -> 'int'",
			"    Add returns x+y.",
			"scale(self, x: 'float', *, factor: 'float' = 0.0) -> 'float'",
			"set_attenuation(self, db: 'float')",
			"    SetAttenuation sets the attenuation in dB.",
			"    It must be within 0 to 63.",
		}, ""},
		{"list-methods --json", []string{"--sipyco", "--json", addr, "list-methods", "add"}, exitOK, []string{`"signature": "(self, x: 'int', y: 'int') -> 'int'"`}, ""},
		{"keywords", []string{"--sipyco", addr, "call", "scale", "2", "factor=3"}, exitOK, []string{"6.0"}, ""},
		{"values", []string{"--sipyco", addr, "call", "echo", "(1, {2}, b'x', 1+2j)"}, exitOK, []string{"(1, {2}, b'x', (1+2j))"}, ""},
		{"remote error", []string{"--sipyco", addr, "call", "fail"}, exitRemote, nil, "GenericRemoteException: error: device not responding"},
		{"bad arguments", []string{"--sipyco", addr, "call", "add", "1"}, exitRemote, nil, "TypeError: add: missing argument 2 (y int64)"},
		{"unknown method", []string{"--sipyco", addr, "call", "nope"}, exitUnknown, nil, "nope"},
		{"script", []string{"--sipyco", addr}, exitOK, []string{"5"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runTool(t, strings.NewReader("add(2, 3)\n"), tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			out := r.stdout
			for _, w := range tt.stdout {
				i := strings.Index(out, w)
				if i < 0 {
					t.Fatalf("stdout lacks %q (in order):\n%s", w, r.stdout)
				}
				out = out[i+len(w):]
			}
			if (tt.stderr == "") != (r.stderr == "") || !strings.Contains(r.stderr, tt.stderr) {
				t.Fatalf("stderr %q, want %q", r.stderr, tt.stderr)
			}
		})
	}
}

// rpctool against SiPyCo's own Python server (optional: skipped without
// python3 and SiPyCo).
func TestSiPyCoPythonServer(t *testing.T) {
	env := sipycotest.Python(t)
	srv := env.Serve(t, sipycotest.RPCServer)
	host, port := srv.Host, srv.PortArg()
	tests := []struct {
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{[]string{"list-targets"}, exitOK, []string{"Target(s):   aux, lda", "Description: transcript server"}, fallbackNote},
		{[]string{"list-methods", "-t", "lda"}, exitOK, []string{
			"Attenuator controller used to record SiPyCo wire transcripts.",
			"add(self, a, b=1, *, scale=1)",
			"    Return (a+b)*scale.",
			"set_attenuation(self, db: 'float')",
			"terminate(self)",
			"    Terminate the server.",
		}, fallbackNote},
		{[]string{"--sipyco", "call", "-t", "lda", "add", "1", "b=2", "scale=3"}, exitOK, []string{"9"}, ""},
		{[]string{"--sipyco", "call", "-t", "lda", "echo", "{(1, 2): 1.5, 'k': [None, True]}"}, exitOK, []string{"{(1, 2): 1.5, 'k': [None, True]}"}, ""},
		{[]string{"--sipyco", "call", "-t", "lda", "fail"}, exitRemote, nil, "ValueError: attenuation out of range"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			args := append([]string{}, tt.args...)
			// HOST PORT go after the global flags.
			i := 0
			for i < len(args) && strings.HasPrefix(args[i], "--") {
				i++
			}
			args = append(args[:i], append([]string{host, port}, args[i:]...)...)
			r := runTool(t, nil, args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			out := r.stdout
			for _, w := range tt.stdout {
				i := strings.Index(out, w)
				if i < 0 {
					t.Fatalf("stdout lacks %q (in order):\n%s", w, r.stdout)
				}
				out = out[i+len(w):]
			}
			if (tt.stderr == "") != (r.stderr == "") || !strings.Contains(r.stderr, tt.stderr) {
				t.Fatalf("stderr %q, want %q", r.stderr, tt.stderr)
			}
		})
	}
}
