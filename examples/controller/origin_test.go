package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestAllowOrigin: a page from another origin may subscribe only when
// --allow-origin names it; the controller's own origin always may.
func TestAllowOrigin(t *testing.T) {
	addr, _ := start(t, "--allow-origin", "http://127.0.0.1:8000")
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{"http://" + addr, true},
		{"http://127.0.0.1:8000", true},
		{"http://127.0.0.1:8001", false},
		{"https://evil.example", false},
	} {
		h := http.Header{}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
		c, resp, err := d.Dial("ws://"+addr+"/sync", h)
		if c != nil {
			c.Close()
		}
		if (err == nil) != tc.ok {
			code := 0
			if resp != nil {
				code = resp.StatusCode
			}
			t.Errorf("Origin %q: err %v (HTTP %d), want accepted=%v", tc.origin, err, code, tc.ok)
		}
	}
}

// TestLogServerWarning: a --log-server that cannot be reached, or that is
// not a log server, is told once on stderr at start.
func TestLogServerWarning(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	other, _ := start(t) // a controller: its Mux answers the log banner with an error
	for _, tc := range []struct{ addr, want string }{
		{closed, "cannot reach the log server"},
		{other, "is not a log server"},
		{"nonsense", "want HOST:PORT"},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			done <- newApp(pw).RunContext(ctx, []string{"controller", "--bind", "127.0.0.1", "--port", "0", "--log-server", tc.addr})
			pw.Close()
		}()
		line, _ := bufio.NewReader(pr).ReadString('\n')
		go io.Copy(io.Discard, pr)
		cancel()
		<-done
		if !strings.Contains(line, "warning: --log-server "+tc.addr) || !strings.Contains(line, tc.want) {
			t.Errorf("--log-server %s: first line %q, want a warning with %q", tc.addr, line, tc.want)
		}
	}
}

// TestHelp: --help shows no urfave/cli boilerplate.
func TestHelp(t *testing.T) {
	var out strings.Builder
	app := newApp(io.Discard)
	app.Writer = &out
	if err := app.Run([]string{"controller", "--help"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"[global options]", "COMMANDS:", "(default: false)", "GLOBAL OPTIONS"} {
		if strings.Contains(out.String(), bad) {
			t.Errorf("--help shows %q:\n%s", bad, out.String())
		}
	}
}
