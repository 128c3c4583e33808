package dashboard

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrHosts: a HostOptions address cannot be used.
var ErrHosts = errors.New("dashboard: bad host address")

// HostOptions configures a HostCheck. The zero value accepts the loopback
// names (localhost, 127.0.0.1, [::1]) on any port, and nothing else.
type HostOptions struct {
	// Listen is the address the server listens on, host:port
	// (net.Listener.Addr().String()). Its port is the port the loopback
	// names are accepted with; its host is accepted too, and when it is
	// unspecified (0.0.0.0, ::) so is every address of this machine's
	// network interfaces. Default: loopback names on any port.
	Listen string
	// Public lists the other names the server is reached by, each
	// host:port, or host alone for any port: the names a proxy, a port
	// forward or DNS gives it (trackd --public-addr).
	Public []string
}

// hostPort is one accepted Host: a lower-case name or IP without a
// trailing dot, and a port ("" for any).
type hostPort struct{ host, port string }

// HostCheck refuses HTTP requests whose Host header names a server other
// than this one: the defence against DNS rebinding, where a page of
// evil.example has its name re-pointed at 127.0.0.1 and then calls the
// server from its own origin — the browser sends "Host: evil.example",
// and a check of Origin against Host alone lets it through.
//
// A request is served when its Host is a loopback name with the listening
// port, the listening address, (when listening on every interface) an
// address of one of this machine's interfaces with the listening port, or
// one of HostOptions.Public. A Host without a port (a browser's default
// port) matches an entry whose port is 80 or 443: the listening port, or
// a Public name a reverse proxy forwards. Other requests get 421 Misdirected
// Request and a body that says why. A HostCheck is safe for concurrent
// use.
type HostCheck struct {
	port     string // the listening port; "" for any
	allowed  []hostPort
	anyIface bool // listening on every interface

	mu      sync.Mutex
	ifaces  map[netip.Addr]bool
	refresh time.Time // when ifaces may be read again
}

// ifaceRefresh bounds how often the interface addresses are read again
// when a Host is an IP literal not known yet (an address added since).
const ifaceRefresh = 10 * time.Second

// NewHostCheck returns a HostCheck for opts.
func NewHostCheck(opts HostOptions) (*HostCheck, error) {
	c := &HostCheck{}
	if opts.Listen != "" {
		h, p, err := net.SplitHostPort(opts.Listen)
		if err != nil {
			return nil, fmt.Errorf("%w: listen address %q: %v", ErrHosts, opts.Listen, err)
		}
		if !validPort(p) && p != "0" {
			return nil, fmt.Errorf("%w: listen address %q: bad port", ErrHosts, opts.Listen)
		}
		if p != "0" { // port 0: any
			c.port = p
		}
		if ip, err := netip.ParseAddr(h); err == nil && ip.IsUnspecified() {
			c.anyIface = true
		} else if h != "" {
			c.allowed = append(c.allowed, hostPort{normHost(h), c.port})
		} else {
			c.anyIface = true // ":3250"
		}
	}
	for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
		if !slices.Contains(c.allowed, hostPort{name, c.port}) {
			c.allowed = append(c.allowed, hostPort{name, c.port})
		}
	}
	for _, a := range opts.Public {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		h, p, err := net.SplitHostPort(a)
		if err != nil {
			h, p = strings.Trim(a, "[]"), "" // a name alone: any port
		}
		if !validHost(h) || p != "" && !validPort(p) {
			return nil, fmt.Errorf("%w: public address %q: want host:port or host", ErrHosts, a)
		}
		c.allowed = append(c.allowed, hostPort{normHost(h), p})
	}
	return c, nil
}

// validHost reports whether h is a DNS name or an IP address.
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n < 1<<16
}

// normHost lower-cases a host name and drops a trailing dot; an IP
// address is written in its canonical form (IPv4-mapped IPv6 as IPv4).
func normHost(h string) string {
	if ip, err := netip.ParseAddr(h); err == nil {
		return ip.Unmap().String()
	}
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// Allowed reports whether r's Host header names this server.
func (c *HostCheck) Allowed(r *http.Request) bool {
	if r.Host == "" {
		return false
	}
	host, port, err := net.SplitHostPort(r.Host)
	explicit := err == nil
	if !explicit {
		host, port = strings.Trim(r.Host, "[]"), "80"
		if r.TLS != nil {
			port = "443"
		}
	}
	host = normHost(host)
	if host == "" {
		return false
	}
	portOK := func(want string) bool {
		// Without a port the browser used its scheme's default; behind
		// a Mux the request's TLS state is not known, so either.
		return want == "" || want == port || !explicit && (want == "80" || want == "443")
	}
	for _, a := range c.allowed {
		if a.host == host && portOK(a.port) {
			return true
		}
	}
	if c.anyIface && portOK(c.port) {
		if ip, err := netip.ParseAddr(host); err == nil {
			// 0.0.0.0 and :: reach this machine too (the address trackd
			// prints for --bind 0.0.0.0).
			return ip.IsUnspecified() || c.isIface(ip.Unmap())
		}
	}
	return false
}

// isIface reports whether ip is an address of one of this machine's
// interfaces, reading them again (at most every ifaceRefresh) when it is
// not known.
func (c *HostCheck) isIface(ip netip.Addr) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ifaces[ip] {
		return true
	}
	now := time.Now()
	if now.Before(c.refresh) {
		return false
	}
	c.refresh = now.Add(ifaceRefresh)
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	c.ifaces = make(map[netip.Addr]bool, len(addrs))
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			c.ifaces[p.Addr().Unmap()] = true
		}
	}
	return c.ifaces[ip]
}

// Names lists the accepted hosts, for messages.
func (c *HostCheck) Names() []string {
	var out []string
	for _, a := range c.allowed {
		h := a.host
		if strings.Contains(h, ":") {
			h = "[" + h + "]"
		}
		if a.port != "" {
			h += ":" + a.port
		}
		out = append(out, h)
	}
	if c.anyIface {
		out = append(out, "this machine's addresses:"+c.port)
	}
	return out
}

// Wrap returns next behind the check: a request whose Host is not this
// server's gets 421 Misdirected Request with a plain-text reason, and
// never reaches next.
func (c *HostCheck) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.Allowed(r) {
			next.ServeHTTP(w, r)
			return
		}
		securityHeaders(w.Header())
		w.Header().Set("Connection", "close")
		http.Error(w, fmt.Sprintf("dashboard: misdirected request: Host %q is not a name of this server (it answers to %s); "+
			"a server reached by another name must be told that name (trackd --public-addr HOST:PORT); see docs/security.md",
			truncate(r.Host, 100), strings.Join(c.Names(), ", ")), http.StatusMisdirectedRequest)
	})
}
