package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"net"
)

// EnvToken is the environment variable sigoco's clients take their token
// from when their options name none.
const EnvToken = "SIGOCO_TOKEN"

// NewToken returns a fresh random token (32 random bytes, URL-safe).
func NewToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return "sgc_" + base64.RawURLEncoding.EncodeToString(b)
}

// HashToken is the form of tok an access file may hold: "sha256:HEX".
func HashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return "sha256:" + hex.EncodeToString(h[:])
}

// PeerCertificates returns the client certificates presented on conn:
// conn or a connection it wraps (NetConn) is a *tls.Conn, or has a
// ConnectionState method. Nil otherwise.
func PeerCertificates(conn net.Conn) []*x509.Certificate {
	for i := 0; conn != nil && i < 8; i++ {
		if cs, ok := conn.(interface{ ConnectionState() tls.ConnectionState }); ok {
			return cs.ConnectionState().PeerCertificates
		}
		w, ok := conn.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		conn = w.NetConn()
	}
	return nil
}

// ConnCredentials are the credentials of conn with token: its client
// certificates and its remote address.
func ConnCredentials(conn net.Conn, token string) Credentials {
	return Credentials{Token: token, Certificates: PeerCertificates(conn), Remote: conn.RemoteAddr()}
}

// IsLoopback reports whether addr is a loopback TCP address (or a Unix
// socket or pipe, which are local by nature).
func IsLoopback(addr net.Addr) bool {
	switch a := addr.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	case nil:
		return false
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.Network() == "pipe"
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
