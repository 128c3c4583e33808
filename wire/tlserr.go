package wire

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"
)

// Sentinel errors that classify TLS failures (see ExplainTLS). Each names
// the likely cause in words a lab user can act on.
var (
	// ErrTLSPlaintextPeer: the peer does not speak TLS (a client without
	// TLS on a TLS port, or a TLS client on a plain port).
	ErrTLSPlaintextPeer = errors.New("wire: TLS: the peer does not speak TLS")
	// ErrTLSClientCertUntrusted: the server did not trust the client's
	// certificate (it is not signed by one in the server's peer
	// certificate file).
	ErrTLSClientCertUntrusted = errors.New("wire: TLS: the client certificate was not trusted by the server")
	// ErrTLSClientCertMissing: the server requires a client certificate
	// and the client sent none.
	ErrTLSClientCertMissing = errors.New("wire: TLS: the server requires a client certificate and none was sent")
	// ErrTLSServerCertUntrusted: the client did not trust the server's
	// certificate.
	ErrTLSServerCertUntrusted = errors.New("wire: TLS: the server certificate was not trusted by the client")
)

// ErrClosedSilently is for clients: the server closed the connection after
// the banner without answering. A SiPyCo server does that on a sigoco
// banner, and a TLS server does that to a client that speaks plaintext
// (sigoco's own TLS servers answer such a client in plaintext instead).
var ErrClosedSilently = errors.New("wire: the server closed the connection without a word (a SiPyCo server does that on a sigoco banner; a TLS port does that to a client without TLS)")

// ExplainTLS returns err wrapped in the sentinel above that explains it
// (errors.Is works for both), or err itself when it is no TLS failure this
// package recognises. server says which side err happened on: a server's
// handshake error, or a client's handshake, read or write error. Reads
// through a *Conn over a client *tls.Conn, Dial and ServerHandshake
// explain their errors already.
func ExplainTLS(err error, server bool) error {
	if err == nil {
		return nil
	}
	var why error
	var rhe tls.RecordHeaderError
	var cve *tls.CertificateVerificationError
	var ue x509.UnknownAuthorityError
	var ce x509.CertificateInvalidError
	var oe *net.OpError
	msg := err.Error()
	switch {
	case errors.Is(err, ErrTLSPlaintextPeer), errors.Is(err, ErrTLSClientCertUntrusted),
		errors.Is(err, ErrTLSClientCertMissing), errors.Is(err, ErrTLSServerCertUntrusted):
		return err
	case errors.As(err, &rhe):
		why = ErrTLSPlaintextPeer
	case errors.As(err, &oe) && oe.Op == "remote error":
		switch {
		case strings.Contains(msg, "certificate required"):
			why = ErrTLSClientCertMissing
		case strings.Contains(msg, "bad certificate"), strings.Contains(msg, "unknown certificate authority"),
			strings.Contains(msg, "certificate unknown"), strings.Contains(msg, "unsupported certificate"):
			why = ErrTLSClientCertUntrusted
		}
	case strings.Contains(msg, "client didn't provide a certificate"):
		why = ErrTLSClientCertMissing
	case errors.As(err, &cve), errors.As(err, &ue), errors.As(err, &ce),
		strings.Contains(msg, "certificate not trusted"):
		// Verification failed on this side.
		if server {
			why = ErrTLSClientCertUntrusted
		} else {
			why = ErrTLSServerCertUntrusted
		}
	}
	if why == nil {
		return err
	}
	return fmt.Errorf("%w: %w", why, err)
}

// ServerHandshake runs the server side of tc's TLS handshake within timeout
// (DefaultHandshakeTimeout if <= 0), and clears the deadline after. On
// failure it logs a warning saying why (ExplainTLS) and, if the peer spoke
// plaintext, answers it in plaintext: an HTTP request gets a
// "400 Bad Request" saying the port speaks TLS, anything else the line
// "SIGOCO error: this port speaks TLS; connect with TLS". It returns the
// explained error; the caller closes tc.
//
// ServerHandshake does not check client certificates itself: tc's
// configuration does (with a TLS alert). AcceptLoop and Mux check them
// after the handshake instead (see AcceptOptions.TLS).
func ServerHandshake(ctx context.Context, tc *tls.Conn, timeout time.Duration, logger *slog.Logger) error {
	if timeout <= 0 {
		timeout = DefaultHandshakeTimeout
	}
	return serverHandshake(ctx, tc, time.Now().Add(timeout), logger)
}

// serverHandshake is ServerHandshake with a deadline.
func serverHandshake(ctx context.Context, tc *tls.Conn, deadline time.Time, logger *slog.Logger) error {
	raw := tc.NetConn()
	raw.SetDeadline(deadline)
	err := tc.HandshakeContext(ctx)
	if err == nil {
		raw.SetDeadline(time.Time{})
		return nil
	}
	err = ExplainTLS(err, true)
	if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) && logger != nil {
		logger.Warn("wire: TLS handshake failed", "remote", raw.RemoteAddr().String(), "err", err)
	}
	var rhe tls.RecordHeaderError
	if errors.As(err, &rhe) && rhe.Conn != nil && looksLikeText(rhe.RecordHeader[:]) {
		c := NewConn(rhe.Conn)
		deadline := time.Now().Add(refuseTimeout)
		c.SetDeadline(deadline)
		if isHTTPMethodStart(rhe.RecordHeader[:]) {
			fmt.Fprint(c, "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nClient sent a plain HTTP request to a TLS port: use https:// or wss://.\n")
		} else {
			fmt.Fprint(c, "SIGOCO error: this port speaks TLS; connect with TLS (e.g. --ssl / a TLS configuration)\n")
		}
		lingerClose(c, deadline)
	}
	return err
}

func looksLikeText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

func isHTTPMethodStart(b []byte) bool {
	s := string(b)
	for _, m := range []string{"GET ", "POST ", "HEAD ", "PUT ", "DELET", "OPTIO", "PATCH", "CONNE"} {
		if strings.HasPrefix(m, s) || strings.HasPrefix(s, m) {
			return true
		}
	}
	return false
}

// tlsReader explains the TLS errors of reads through a *Conn. On a
// client's connection (Dial's) it also reads a refusal of the client's
// certificate (see refuseClientCert) that the server sends in place of its
// first bytes as the error that refusal means.
type tlsReader struct {
	c      *tls.Conn
	server bool

	// For Dial's connections: sniff is set until the first bytes are known
	// not to be a certificate refusal; held keeps the bytes read while
	// deciding (returned before anything else), and err what ends them.
	sniff bool
	held  []byte
	err   error
}

func (r *tlsReader) Read(p []byte) (int, error) {
	if r.sniff {
		r.sniffRefusal()
	}
	if len(r.held) > 0 {
		n := copy(p, r.held)
		r.held = r.held[n:]
		return n, nil
	}
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.c.Read(p)
	if err != nil {
		err = ExplainTLS(err, r.server)
	}
	return n, err
}

// sniffRefusal reads until the first bytes either cannot be a refusal line
// (held keeps them) or are one (err becomes what it means).
func (r *tlsReader) sniffRefusal() {
	const prefix = "SIGOCO error: client certificate "
	var buf [512]byte
	for {
		k := min(len(r.held), len(prefix))
		switch {
		case string(r.held[:k]) != prefix[:k]:
			r.sniff = false
			return
		case k == len(prefix):
			if i := bytes.IndexByte(r.held, '\n'); i >= 0 {
				if err, ok := clientRefusal(strings.TrimSuffix(string(r.held[:i]), "\r")); ok {
					r.held, r.err = nil, err
				}
				r.sniff = false
				return
			}
			if len(r.held) > MaxBannerLen {
				r.sniff = false
				return
			}
		}
		if r.err != nil { // what was held is returned first, then the error
			r.sniff = false
			return
		}
		// A read may return bytes and an error together (io.EOF after a
		// close_notify that came with them): the bytes are looked at first.
		n, err := r.c.Read(buf[:])
		r.held = append(r.held, buf[:n]...)
		if err != nil {
			r.err = ExplainTLS(err, r.server)
		}
	}
}
