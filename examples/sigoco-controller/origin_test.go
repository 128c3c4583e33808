package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sigoco/sigoco/logfwd"
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
// not a log server, is told once on stderr (the forwarder's first-failure
// warning, given the local handler); a malformed one is an error at start.
func TestLogServerWarning(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	other, _ := start(t) // a controller: its Mux answers the log banner with an error
	for _, tc := range []struct{ addr, want string }{
		{closed, "logfwd: cannot reach log server"},
		{other, "logfwd: the server refused the connection"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			pr, pw := io.Pipe()
			done := make(chan error, 1)
			go func() {
				// -vv shows the retries (debug records), so the test can
				// tell that they, unlike the first failure, do not warn.
				done <- newApp(pw).RunContext(ctx, []string{"controller", "--bind", "127.0.0.1", "--port", "0", "-vv", "--log-server", tc.addr})
				pw.Close()
			}()
			defer func() {
				cancel()
				go io.Copy(io.Discard, pr)
				<-done
			}()
			lines := make(chan string)
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(pr)
				for sc.Scan() {
					lines <- sc.Text()
				}
			}()
			timeout := time.After(20 * time.Second) // only against a hang
			var warned []string
			for retries := 0; retries < 2; {
				select {
				case line, ok := <-lines:
					if !ok {
						t.Fatalf("stderr ended (%v)", <-done)
					}
					switch {
					case !strings.Contains(line, "logfwd:"):
					case strings.Contains(line, "level=WARN"):
						warned = append(warned, line)
					case strings.Contains(line, "level=DEBUG"):
						retries++
					}
				case <-timeout:
					t.Fatalf("no warning and two retries on stderr; warnings: %q", warned)
				}
			}
			if len(warned) != 1 || !strings.Contains(warned[0], tc.want) || !strings.Contains(warned[0], "addr="+tc.addr) {
				t.Errorf("--log-server %s: warnings %q, want one with %q and the address", tc.addr, warned, tc.want)
			}
		})
	}
	err = newApp(io.Discard).RunContext(context.Background(), []string{"controller", "--bind", "127.0.0.1", "--port", "0", "--log-server", "nonsense"})
	if !errors.Is(err, logfwd.ErrAddress) || !strings.Contains(err.Error(), "--log-server") || !strings.Contains(err.Error(), "want host:port") {
		t.Errorf("--log-server nonsense: %v, want an error wrapping logfwd.ErrAddress that names the flag and says host:port", err)
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
