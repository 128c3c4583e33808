package wire

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Refusing a client certificate.
//
// crypto/tls refuses a client certificate it cannot verify with a TLS
// alert. SiPyCo's Python client shows that alert as an ssl.SSLError, where
// SiPyCo's own servers leave it with a closed connection (EOFError), and
// over TLS 1.3 a Go client only learns of it on its first read, as a bare
// "remote error". So an AcceptLoop (and a Mux, which runs on one) checks
// the client certificate itself, after the handshake: the handshake runs
// with ClientAuth RequestClientCert and without the configuration's
// verification callbacks; then checkClientCert makes the checks crypto/tls
// would have made (a certificate present where one is required, the chain
// against ClientCAs for client authentication, then VerifyPeerCertificate
// and VerifyConnection). A peer that fails them is never served a byte of
// any protocol: refuseClientCert reads its banner line, still within the
// handshake deadline, and
//
//   - after a SiPyCo banner ("ARTIQ …") closes the connection without a
//     word, as SiPyCo's servers do (the Python client sees EOF);
//   - after an HTTP request line answers "403 Forbidden";
//   - after anything else (a native banner) answers the one line
//     "SIGOCO error: client certificate not trusted (<why>)" — or
//     "SIGOCO error: client certificate required (none was sent)" — which
//     a client connected with Dial reads as an error wrapping
//     ErrTLSClientCertUntrusted (ErrTLSClientCertMissing), the error a TLS
//     alert would have given it;
//
// and logs the refusal at Warn.

// deferClientAuth returns the configuration an AcceptLoop's handshakes run
// with for base, and the configuration whose client authentication
// checkClientCert then applies (nil: crypto/tls checks as usual, because
// base asks for no client certificate or decides per client with
// GetConfigForClient).
func deferClientAuth(base *tls.Config) (handshake, check *tls.Config) {
	if base == nil || base.ClientAuth < tls.RequireAnyClientCert || base.GetConfigForClient != nil {
		return base, nil
	}
	cfg := base.Clone()
	cfg.ClientAuth = tls.RequestClientCert
	cfg.VerifyPeerCertificate = nil
	cfg.VerifyConnection = nil
	return cfg, base
}

// checkClientCert makes the client authentication checks of cfg that
// crypto/tls makes during the handshake (see deferClientAuth). The error
// wraps ErrTLSClientCertMissing or ErrTLSClientCertUntrusted.
func checkClientCert(cfg *tls.Config, cs tls.ConnectionState) error {
	certs := cs.PeerCertificates
	if len(certs) == 0 && cfg.ClientAuth != tls.VerifyClientCertIfGiven {
		return ErrTLSClientCertMissing
	}
	var chains [][]*x509.Certificate
	if len(certs) > 0 && cfg.ClientAuth >= tls.VerifyClientCertIfGiven {
		opts := x509.VerifyOptions{
			Roots:         cfg.ClientCAs,
			Intermediates: x509.NewCertPool(),
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		if cfg.Time != nil {
			opts.CurrentTime = cfg.Time()
		}
		for _, c := range certs[1:] {
			opts.Intermediates.AddCert(c)
		}
		var err error
		if chains, err = certs[0].Verify(opts); err != nil {
			return fmt.Errorf("%w: %w", ErrTLSClientCertUntrusted, &tls.CertificateVerificationError{UnverifiedCertificates: certs, Err: err})
		}
	}
	if cfg.VerifyPeerCertificate != nil {
		raw := make([][]byte, len(certs))
		for i, c := range certs {
			raw[i] = c.Raw
		}
		if err := cfg.VerifyPeerCertificate(raw, chains); err != nil {
			return fmt.Errorf("%w: %w", ErrTLSClientCertUntrusted, err)
		}
	}
	if cfg.VerifyConnection != nil {
		cs.VerifiedChains = chains
		if err := cfg.VerifyConnection(cs); err != nil {
			return fmt.Errorf("%w: %w", ErrTLSClientCertUntrusted, err)
		}
	}
	return nil
}

// Prefixes of the refusal lines (see refuseClientCert); Dial's clients
// recognise them.
const (
	certUntrustedLine = "SIGOCO error: client certificate not trusted"
	certMissingLine   = "SIGOCO error: client certificate required"
)

// refuseClientCert answers a peer whose client certificate checkClientCert
// refused (why), as the comment at the top of this file says. The banner
// must arrive within the deadline already set on c (the handshake
// deadline). It does not close c.
func refuseClientCert(ctx context.Context, c *Conn, why error, logger *slog.Logger) {
	line, err := PeekLine(c.R)
	if ctx.Err() != nil {
		return
	}
	if logger != nil {
		logger.Warn("wire: TLS client certificate refused", "remote", c.RemoteAddr().String(), "err", why, "banner", truncate(line, 64))
	}
	if err != nil {
		return // nothing to answer
	}
	// The refusal and the linger after it take at most refuseTimeout more.
	deadline := time.Now().Add(refuseTimeout)
	c.SetDeadline(deadline)
	answer := certUntrustedLine + " (" + certReason(why) + ")"
	if errors.Is(why, ErrTLSClientCertMissing) {
		answer = certMissingLine + " (none was sent)"
	}
	switch {
	case strings.HasPrefix(line, "ARTIQ "):
		// SiPyCo's servers just close; its clients expect nothing else.
	case isHTTPRequestLine(line):
		fmt.Fprintf(c, "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n%s\n", strings.TrimPrefix(answer, "SIGOCO error: "))
	default:
		fmt.Fprintf(c, "%s\n", answer)
	}
	lingerClose(c, deadline) // closes TLS with close_notify: a clean EOF
}

// certReason says in a few words why a client certificate was refused,
// without repeating names from the server's trust store to an
// unauthenticated peer.
func certReason(err error) string {
	var ue x509.UnknownAuthorityError
	var ie x509.CertificateInvalidError
	switch {
	case errors.As(err, &ue):
		return "not signed by a certificate this server trusts"
	case errors.As(err, &ie):
		switch ie.Reason {
		case x509.Expired:
			return "expired or not yet valid"
		case x509.IncompatibleUsage:
			return "not valid for client authentication"
		}
		return "invalid"
	}
	return "refused by the server's checks"
}

// clientRefusal turns a refusal line (see refuseClientCert) that a server
// sent in place of its first bytes into the error a TLS alert would have
// given; ok is false for any other line.
func clientRefusal(line string) (err error, ok bool) {
	for _, r := range []struct {
		prefix string
		err    error
	}{{certUntrustedLine, ErrTLSClientCertUntrusted}, {certMissingLine, ErrTLSClientCertMissing}} {
		if rest, ok := strings.CutPrefix(line, r.prefix); ok {
			if rest = strings.TrimSpace(rest); rest != "" && r.err == ErrTLSClientCertUntrusted {
				return fmt.Errorf("%w %s", r.err, rest), true // "(why)"
			}
			return r.err, true
		}
	}
	return nil, false
}
