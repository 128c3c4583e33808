package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/sigoco/sigoco/wire"
)

// probeLogServer checks once, at start, that addr answers like a log
// server, so a wrong --log-server is told at once rather than never: it
// connects, sends the native log banner and expects silence (a log server
// answers nothing; a wire.Mux without a log handler, or another program,
// answers or hangs up). It returns why addr is not usable, or nil.
//
// TODO(after logfwd's first-failure warning lands): use it instead.
func probeLogServer(addr string, timeout time.Duration) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("--log-server %q: want HOST:PORT (%v)", addr, err)
	}
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return fmt.Errorf("cannot reach the log server: %w", err)
	}
	defer c.Close()
	// A Mux or another server answers a banner it does not serve at once;
	// a quarter of a second of silence is a log server.
	c.SetDeadline(time.Now().Add(min(timeout, 250*time.Millisecond)))
	if _, err := c.Write([]byte(wire.BannerLog + "\n")); err != nil {
		return fmt.Errorf("cannot reach the log server: %w", err)
	}
	buf := make([]byte, 256)
	n, err := c.Read(buf)
	switch {
	case n > 0:
		return fmt.Errorf("%s is not a log server (it answered %q)", addr, truncate(string(buf[:n]), 80))
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil // silence: a log server waiting for records
	default:
		return fmt.Errorf("%s is not a log server (it closed the connection: %v)", addr, err)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
