package wire

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
)

// Dial connects to addr over TCP (TLS when tlsConfig is non-nil), writes
// banner and returns the connection. ctx bounds the dial and the TLS
// handshake only.
//
// Over TLS, a server of this package that refuses the client certificate
// answers a native banner with a line saying so (see AcceptOptions.TLS);
// reads from the returned connection return it as an error wrapping
// ErrTLSClientCertUntrusted (or ErrTLSClientCertMissing), as they return a
// TLS alert saying the same (errors.Is works alike for both).
func Dial(ctx context.Context, addr string, tlsConfig *tls.Config, banner string) (*Conn, error) {
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	var c *Conn
	if tlsConfig != nil {
		cfg := tlsConfig
		if cfg.ServerName == "" {
			cfg = cfg.Clone()
			host, _, _ := net.SplitHostPort(addr)
			cfg.ServerName = host
		}
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("wire: TLS handshake with %s: %w", addr, ExplainTLS(err, false))
		}
		c = newClientConn(tc)
	} else {
		c = NewConn(raw)
	}
	if tc, ok := raw.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	if err := WriteBanner(c, banner); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
