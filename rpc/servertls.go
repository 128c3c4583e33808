package rpc

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"sync/atomic"
)

// serverTLS makes an accepted connection a TLS server connection
// (ServerOptions.TLS). A client certificate the configuration does not
// trust ends the connection the way SiPyCo's own servers end it: closed,
// without a TLS alert. SiPyCo's Python client raises the alert as an
// ssl.SSLError, where it gets an EOFError from SiPyCo's servers; the
// refusal is logged (Logger, at Warn) so that the server side says why.
// The certificate check itself is the one crypto/tls makes
// (RequireAndVerifyClientCert, VerifyClientCertIfGiven: the chain against
// ClientCAs, for client authentication), done in VerifyConnection so that
// the alert can be held back; a VerifyPeerCertificate callback then sees
// no verified chains.
func (s *Server) serverTLS(nc net.Conn) net.Conn {
	base := s.opts.TLS
	switch base.ClientAuth {
	case tls.RequireAndVerifyClientCert, tls.VerifyClientCertIfGiven:
	default:
		return tls.Server(nc, base)
	}
	mc := &muteConn{Conn: nc}
	cfg := base.Clone()
	// Any certificate or none: verifyClient decides (a missing one too,
	// which crypto/tls would refuse with an alert of its own).
	cfg.ClientAuth = tls.RequestClientCert
	next := base.VerifyConnection
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if err := verifyClient(base, cs); err != nil {
			mc.mute.Store(true)
			s.opts.Logger.Warn("rpc: refused a TLS client certificate", "remote", nc.RemoteAddr().String(), "err", err)
			return err
		}
		if next != nil {
			return next(cs)
		}
		return nil
	}
	return tls.Server(mc, cfg)
}

// verifyClient checks a client's certificate chain as crypto/tls does for
// RequireAndVerifyClientCert and VerifyClientCertIfGiven.
func verifyClient(cfg *tls.Config, cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		if cfg.ClientAuth == tls.RequireAndVerifyClientCert {
			return errors.New("rpc: no client certificate")
		}
		return nil
	}
	opts := x509.VerifyOptions{
		Roots:         cfg.ClientCAs,
		Intermediates: x509.NewCertPool(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if cfg.Time != nil {
		opts.CurrentTime = cfg.Time()
	}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(opts)
	return err
}

// muteConn drops what is written once mute is set: the alert crypto/tls
// sends after a refused certificate.
type muteConn struct {
	net.Conn
	mute atomic.Bool
}

func (c *muteConn) Write(p []byte) (int, error) {
	if c.mute.Load() {
		return len(p), nil
	}
	return c.Conn.Write(p)
}
