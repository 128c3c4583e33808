package logfwd

import (
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

// Issue 12: a malformed address is refused by NewForwarder, not found out
// at Flush.
func TestAddressValidated(t *testing.T) {
	for _, addr := range []string{"", "nonsense", "127.0.0.1", "host:", "host:port", "host:0", "host:70000", "::1:1066"} {
		f, err := NewForwarder(addr, ForwarderOptions{})
		if !errors.Is(err, ErrAddress) {
			t.Errorf("NewForwarder(%q) = %v, want an error wrapping ErrAddress", addr, err)
		}
		if f != nil {
			f.Close()
		}
	}
	for _, addr := range []string{"127.0.0.1:1066", "localhost:1066", "[::1]:1066", ":1066", "no-such-host.invalid:1066"} {
		f, err := NewForwarder(addr, ForwarderOptions{})
		if err != nil {
			t.Errorf("NewForwarder(%q) = %v", addr, err)
			continue
		}
		f.Close()
	}
}

// records returns the records of c at level whose message starts with
// prefix.
func (c *collector) records(level slog.Level, prefix string) []got {
	var out []got
	for _, g := range c.all() {
		if g.rec.Level == level && strings.HasPrefix(g.rec.Message, prefix) {
			out = append(out, g)
		}
	}
	return out
}

// Issue 12: a forwarder pointed at nothing, or at a port that is not a log
// server, warns once on its Logger, saying why, and keeps retrying
// quietly (debug records).
func TestFailedConnectWarnsOnce(t *testing.T) {
	notLog, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { notLog.Close() })
	go func() { // answers like an HTTP server, then hangs up
		for {
			c, err := notLog.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Read(make([]byte, 64))
			c.Write([]byte("HTTP/1.0 400 Bad Request\r\n\r\n"))
			c.Close()
		}
	}()
	tlsAddr, _, _ := serve(t, nil, transports[1], ServerOptions{}, "")
	for _, tc := range []struct {
		name, addr, want string
	}{
		{"nothing listens", freeAddr(t), "logfwd: cannot reach log server"},
		{"not a log server", notLog.Addr().String(), "logfwd: not a log server"},
		{"a TLS log server", tlsAddr, "logfwd: the server refused the connection"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			diag := newCollector()
			f := forward(t, tc.addr, ForwarderOptions{Logger: slog.New(diag)})
			until(t, "three failed attempts", func() bool { return len(diag.records(slog.LevelDebug, "")) >= 2 })
			warns := diag.records(slog.LevelWarn, "")
			if len(warns) != 1 || !strings.HasPrefix(warns[0].rec.Message, tc.want) || warns[0].str("addr") != tc.addr || warns[0].str("err") == "" {
				var msgs []string
				for _, w := range warns {
					msgs = append(msgs, w.rec.Message+" "+flat(w.rec))
				}
				t.Errorf("warnings %q, want one %q with addr and err", msgs, tc.want)
			}
			f.Close()
		})
	}
}
