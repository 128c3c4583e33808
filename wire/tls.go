package wire

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLSConfig describes TLS for a listener or a dialer the way SiPyCo's
// SimpleSSLConfig does: this side's certificate and key, and the peer
// certificate(s) it trusts. All paths are PEM files.
//
// On a server, CertFile and KeyFile are required; with PeerCertFile set,
// every client must present a certificate signed by (or equal to) one in
// that file (mutual authentication). On a client, CertFile and KeyFile are
// the client certificate (needed when the server demands one); with
// PeerCertFile set, the server must present a certificate from that file and
// its host name is not checked (lab machines are reached by IP; the pinned
// certificate is what is trusted). Without PeerCertFile the system roots
// and the usual host-name check apply.
type TLSConfig struct {
	CertFile     string
	KeyFile      string
	PeerCertFile string
}

// Enabled reports whether any file is set.
func (c TLSConfig) Enabled() bool {
	return c.CertFile != "" || c.KeyFile != "" || c.PeerCertFile != ""
}

// Server returns a *tls.Config for a listener.
func (c TLSConfig) Server() (*tls.Config, error) {
	if c.CertFile == "" || c.KeyFile == "" {
		return nil, errors.New("wire: TLS server needs a certificate and a key file")
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("wire: TLS server certificate: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if c.PeerCertFile != "" {
		pool, err := loadPool(c.PeerCertFile)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// Client returns a *tls.Config for a dialer. serverName is used for SNI and,
// when no PeerCertFile is set, for the host-name check.
func (c TLSConfig) Client(serverName string) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12}
	if c.CertFile != "" || c.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("wire: TLS client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
		// Always present the certificate, as SiPyCo (OpenSSL) does: Go would
		// send none when its issuer is not among the CAs the server names,
		// and both sides would then say "certificate required" when the
		// truth is that the server does not trust it.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	}
	if c.PeerCertFile != "" {
		pool, err := loadPool(c.PeerCertFile)
		if err != nil {
			return nil, err
		}
		// Verify the chain against the pinned certificates but not the host
		// name, as SiPyCo does (check_hostname = False).
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("wire: TLS server sent no certificate")
			}
			opts := x509.VerifyOptions{
				Roots:         pool,
				Intermediates: x509.NewCertPool(),
				KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			}
			for _, ic := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(ic)
			}
			if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
				return fmt.Errorf("wire: TLS server certificate not trusted: %w", err)
			}
			return nil
		}
	}
	return cfg, nil
}

func loadPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("wire: TLS peer certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("wire: TLS peer certificate: no PEM certificate in %s", path)
	}
	return pool, nil
}
