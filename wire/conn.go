package wire

import (
	"bufio"
	"crypto/tls"
	"net"
	"time"
)

// DefaultHandshakeTimeout bounds the banner and handshake of a new
// connection when an option leaves it 0.
const DefaultHandshakeTimeout = 10 * time.Second

// connBufferSize is the read buffer of a Conn; it bounds PeekLine.
const connBufferSize = MaxBannerLen + 16

// Conn is a net.Conn with a buffered reader in front of it. Mux hands
// handlers a *Conn whose banner line is still unread, so a server reads its
// banner the same way whether it sits behind a Mux or on its own listener.
type Conn struct {
	net.Conn
	R *bufio.Reader // reads go through R; Read is R.Read
}

// NewConn wraps c; if c already is a *Conn it is returned as it is, so no
// buffered byte is ever lost between layers.
func NewConn(c net.Conn) *Conn {
	if wc, ok := c.(*Conn); ok {
		return wc
	}
	if tc, ok := c.(*tls.Conn); ok {
		// Reads explain TLS failures (an untrusted certificate) in words.
		// A server's handshake is done (and explained) by ServerHandshake
		// before its reads, so what a read meets is a client's failure.
		r := &tlsReader{c: tc}
		return &Conn{Conn: c, R: bufio.NewReaderSize(r, connBufferSize)}
	}
	return &Conn{Conn: c, R: bufio.NewReaderSize(c, connBufferSize)}
}

// newClientConn wraps a client's TLS connection (Dial's): its reads also
// turn a server's refusal of the client certificate into the error it
// means (ErrTLSClientCertUntrusted, ErrTLSClientCertMissing).
func newClientConn(tc *tls.Conn) *Conn {
	r := &tlsReader{c: tc, sniff: true}
	return &Conn{Conn: tc, R: bufio.NewReaderSize(r, connBufferSize)}
}

// Read reads through the buffered reader.
func (c *Conn) Read(p []byte) (int, error) { return c.R.Read(p) }

// ReadBanner reads the opening line (at most MaxBannerLen bytes).
func (c *Conn) ReadBanner() (string, error) { return ReadLine(c.R, MaxBannerLen) }

// ReadFrame reads one frame into dst; see the package function ReadFrame.
//
// Deprecated: use c.FrameReader.
func (c *Conn) ReadFrame(dst []byte, limit int) ([]byte, error) {
	return ReadFrame(c.R, dst, limit) //nolint:staticcheck // kept until callers move to FrameReader
}

// NetConn returns the wrapped connection (a *tls.Conn for TLS).
func (c *Conn) NetConn() net.Conn { return c.Conn }

// FrameReader returns a resumable FrameReader on c's buffered reader.
func (c *Conn) FrameReader(limit int) *FrameReader { return NewFrameReader(c.R, limit) }
