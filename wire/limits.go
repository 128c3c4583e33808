package wire

import (
	"net"
	"net/netip"
	"time"
)

// The defaults of a Mux's connection caps and HTTP timeouts (MuxOptions,
// HTTPOptions). A shared port is what a lab exposes: its zero options
// must already keep one peer from exhausting the server's file
// descriptors or holding connections open with requests it never
// finishes.
const (
	// DefaultMaxConns is MuxOptions.MaxConns when left 0, unless the
	// process may open fewer files: then 7/8 of that limit (the rest
	// for the database, artifacts and jobs' files).
	DefaultMaxConns = 4096
	// DefaultMaxConnsPerAddr is MuxOptions.MaxConnsPerAddr when left 0,
	// unless MaxConns/2 is smaller: one address (one IPv4 address, or
	// one IPv6 /64) cannot take the whole port.
	DefaultMaxConnsPerAddr = 2048
	// DefaultHTTPReadTimeout is HTTPOptions.ReadTimeout when left 0: a
	// whole request, body included, must arrive in this time.
	DefaultHTTPReadTimeout = 30 * time.Second
	// DefaultHTTPIdleTimeout is HTTPOptions.IdleTimeout when left 0.
	DefaultHTTPIdleTimeout = 2 * time.Minute
	// DefaultHTTPMaxHeaderBytes is HTTPOptions.MaxHeaderBytes when left 0.
	DefaultHTTPMaxHeaderBytes = 64 << 10
)

// HTTPOptions configures the http.Server inside a Mux (the HTTP
// connections of a shared port, WebSocket upgrades included: a hijacked
// connection has its deadlines cleared and is its handler's). The zero
// value gives the documented defaults; a negative duration turns that
// timeout off.
type HTTPOptions struct {
	// ReadHeaderTimeout bounds the reading of a request's header (after
	// its request line, which the Mux read). Default: the Mux's
	// HandshakeTimeout.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the reading of a whole request, body included:
	// a client that sends its body a byte at a time is cut off when it
	// passes. Default DefaultHTTPReadTimeout.
	ReadTimeout time.Duration
	// WriteTimeout bounds the writing of a response. Default 0: none (an
	// artifact may be large and the link slow).
	WriteTimeout time.Duration
	// IdleTimeout closes a kept-alive connection that sends no next
	// request for this long. Default DefaultHTTPIdleTimeout.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's header. Default
	// DefaultHTTPMaxHeaderBytes.
	MaxHeaderBytes int
}

func (o *HTTPOptions) defaults(handshake time.Duration) {
	dur := func(d *time.Duration, def time.Duration) {
		switch {
		case *d == 0:
			*d = def
		case *d < 0:
			*d = 0 // http.Server: none
		}
	}
	dur(&o.ReadHeaderTimeout, handshake)
	dur(&o.ReadTimeout, DefaultHTTPReadTimeout)
	dur(&o.WriteTimeout, 0)
	dur(&o.IdleTimeout, DefaultHTTPIdleTimeout)
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultHTTPMaxHeaderBytes
	}
}

// defaultMaxConns is DefaultMaxConns, or 7/8 of the open-file limit when
// that is smaller.
func defaultMaxConns() int {
	n := DefaultMaxConns
	if lim, ok := openFileLimit(); ok && lim > 0 && lim < 1<<40 {
		n = min(n, max(int(lim/8*7), 1))
	}
	return n
}

// addrKey is what MaxConnsPerAddr counts by: the peer's IPv4 address, or
// its IPv6 /64 (one host's share of a network); "" when the address is
// not an IP address (a Unix socket: not counted).
func addrKey(a net.Addr) string {
	var ip netip.Addr
	switch a := a.(type) {
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	default:
		if a == nil {
			return ""
		}
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return ""
		}
		ip = ap.Addr()
	}
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return ""
	case ip.Is4():
		return ip.String()
	default:
		p, _ := ip.Prefix(64)
		return p.String()
	}
}
